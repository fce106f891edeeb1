// `fbreplay --help`: the commands, every option of each (from the commands' own specs), the policies, exit status.
import { WIDTH, commandHelp, wrap, type Command } from "./command.js";

const POLICY_HELP = `policies:
  ptr     mainline: the new open's fuse_backing must be the inode's cached object
  inode   the v2/v3 relaxed check: same backing inode
  digest  same backing inode, or same 32-byte content digest (hypothetical)
  reuse   FOPEN_PASSTHROUGH_INODE_CACHE: reuse the inode's cached backing, ignore the id (RFC 2/2)
  lookup  backing attached at LOOKUP, opens reply with backing id 0 (P4b, Amir's variant)`;

const EXIT_HELP = `exit status: 0 on success, 2 on bad usage or bad input (one line naming the file and where),
130 when interrupted (a partial replay is printed, marked as such), 1 on a regression, a mismatch or an internal error.`;

export function mainHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    "fbreplay: what each FUSE passthrough conflict policy does to a workload, and what it costs",
    "",
    "usage: fbreplay <command> [options]      fbreplay <command> --help: that command alone",
    "",
    "commands:",
    ...commands.flatMap((c) => wrap(c.summary, WIDTH - width - 2).map((line, i) => `  ${(i === 0 ? c.name : "").padEnd(width)}${line}`)),
    "",
    ...commands.flatMap((c) => [commandHelp(c), ""]),
    POLICY_HELP,
    "",
    EXIT_HELP,
  ].join("\n");
}
