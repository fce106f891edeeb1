// One line of a libfuse debug log (`-d`), classified. libfuse prints three kinds of lines:
// - request headers (fuse_lowlevel.c, every version): `unique: U, opcode: NAME (N), nodeid: X, insize: S, pid: P`;
// - replies (fuse_lowlevel.c): `   unique: U, success, outsize: S` or `   unique: U, error: -E (text), outsize: S`;
// - in the high-level library (fuse.c) only, lines about the operation in between: `open[fh] flags: 0x… /path`,
//   `release[fh] flags: …`, `NODEID: n`, `FORGET n/count`, `DELETE: n`, `unlink /path`, `rename /a /b`, ….
// libfuse's passthrough_hp (3.16+, `--debug`) also says what it does with backing ids while it handles a request:
// `DEBUG: setup shared backing file N for inode X` (FUSE_DEV_IOC_BACKING_OPEN returned N), `DEBUG: reusing shared
// backing file N for inode X`, `DEBUG: closed backing file N for inode X`, and `DEBUG: fuse_passthrough_open failed
// for inode X, disabling rw passthrough.`
// Newer libfuse prefixes headers and replies with `dev ` (the /dev/fuse channel, as opposed to io_uring); both
// forms are accepted. Numbers that may be 64-bit (unique, nodeid, fh) stay decimal strings: low-level daemons use
// pointers as nodeids, beyond 2^53.

import { ID_MAX_DEFAULT } from "../abi.js";

export type LogLine =
  | { kind: "request"; unique: string; opcode: string; nodeid: string; pid: number }
  | { kind: "reply"; unique: string; error: number }
  /** `open flags: F /p` before the call (fh undefined) or `open[fh] flags: F /p` after a successful one. */
  | { kind: "open" | "create"; fh?: string; flags: number; path: string }
  | { kind: "release"; fh: string }
  | { kind: "nodeid"; nodeid: string }
  | { kind: "forget"; nodeid: string; count: number }
  /** libfuse 2 (fuse.c) drops a node: its lookup count reached zero. */
  | { kind: "delete"; nodeid: string }
  | { kind: "unlink"; path: string }
  /** Two paths separated by a space (split by the caller, which knows the existing paths); flags of RENAME2. */
  | { kind: "rename" | "link"; paths: string; flags: number }
  /** passthrough_hp: an id registered (setup), named again (reusing), closed, or none (failed: id 0). */
  | { kind: "backing"; action: "setup" | "reusing" | "closed" | "failed"; id: number; inode: string }
  /**
   * A passthrough_hp `DEBUG: … backing file …` line written into by another daemon thread: it prints with `cerr <<`,
   * one write per piece, so with several threads the pieces of two lines interleave and which number is whose is lost.
   */
  | { kind: "garbled" }
  /** `runTogether`: what another thread's pieces written into the line would also make (machine.ts decides). */
  | { kind: "malformed"; reason: string; runTogether?: boolean }
  | { kind: "other" };

const REQUEST = /^\s*(?:dev )?unique: (\d+), opcode: ([A-Z0-9_?]+) \((\d+)\), nodeid: (\d+), insize: (\d+), pid: (\d+)(?:,.*)?$/;
const REPLY = /^\s*(?:dev )?unique: (\d+), (?:success|error: (-?\d+) \(.*\)), outsize: (\d+)$/;
// libfuse 2 prints flags as 0x%x, libfuse 3 as %#x (which prints a bare 0 for zero); fh is %lli in libfuse 2.
const FLAGS = "(0x[0-9a-fA-F]+|\\d+)";
const OPEN = new RegExp(`^\\s*(open|create)(?:\\[(-?\\d+)\\])? flags: ${FLAGS} (.+)$`);
const RELEASE = /^\s*release(?:\+flush)?\[(-?\d+)\] flags: /;
const NODEID = /^\s*NODEID: (\d+)$/;
const FORGET = /^\s*FORGET (\d+)\/(\d+)$/;
const DELETE = /^\s*DELETE: (\d+)$/;
const UNLINK = /^unlink (\/.*)$/;
// libfuse 3 appends RENAME2's flags (`rename %s %s 0x%x`).
const RENAME = /^(rename|link) (\/.*?)(?: (0x[0-9a-fA-F]+|\d+))?$/;
// The create line before the call ends with the mode and umask: `create flags: 0x8241 /b.txt 0100644 umask=0022`.
const CREATE_MODE = / 0[0-7]* umask=0[0-7]*$/;
// fbreplay's test build of passthrough_hp (--backing-per-open) says `setup backing file N for open F of inode X`
// and `closed backing file N for open F of inode X`: a registration per open, as `setup shared` is.
const HP_BACKING = /^DEBUG: (setup shared|reusing shared|setup|closed) backing file (\d+) for (?:open \d+ of )?inode (\d+)$/;
const HP_FAILED = /^DEBUG: fuse_passthrough_open failed for inode (\d+)/;
// Pieces of those lines anywhere in a line that is not one: `DEBUG: setup backing file 3`, ` for open 11DEBUG: …`.
const HP_GARBLED = /backing file| for open | of inode /;
const HP_ACTIONS = { "setup shared": "setup", setup: "setup", "reusing shared": "reusing", closed: "closed" } as const;
// Lines starting like these are libfuse's own; if they do not parse, the log is damaged.
const PROTOCOL = /^\s*(?:dev )?unique:|^\s*(?:open|create|release(?:\+flush)?)\[|^\s*NODEID:|^\s*FORGET |^\s*DELETE:|^DEBUG: (?:setup shared|reusing shared|setup|closed) backing/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

function parseFlags(s: string): number {
  return Number(s) >>> 0;
}

export function parseLine(line: string): LogLine {
  let m = REQUEST.exec(line);
  if (m) return { kind: "request", unique: m[1], opcode: m[2], nodeid: m[4], pid: Number(m[6]) >>> 0 };
  if ((m = REPLY.exec(line))) return { kind: "reply", unique: m[1], error: m[2] === undefined ? 0 : Number(m[2]) };
  if ((m = OPEN.exec(line))) {
    const kind = m[1] as "open" | "create";
    const path = kind === "create" && m[2] === undefined ? m[4].replace(CREATE_MODE, "") : m[4];
    return { kind, fh: m[2], flags: parseFlags(m[3]), path };
  }
  if ((m = RELEASE.exec(line))) return { kind: "release", fh: m[1] };
  if ((m = NODEID.exec(line))) return { kind: "nodeid", nodeid: m[1] };
  if ((m = FORGET.exec(line))) return { kind: "forget", nodeid: m[1], count: Number(m[2]) };
  if ((m = DELETE.exec(line))) return { kind: "delete", nodeid: m[1] };
  if ((m = UNLINK.exec(line))) return { kind: "unlink", path: m[1] };
  if ((m = RENAME.exec(line))) return { kind: m[1] as "rename" | "link", paths: m[2], flags: m[3] === undefined ? 0 : parseFlags(m[3]) };
  if ((m = HP_BACKING.exec(line))) {
    const id = Number(m[2]);
    // The kernel's ids are 1 … INT_MAX (spec §a.1); in a multithreaded log, digits of another thread's piece (an
    // inode number) can follow an id's: `backing file 48139788300587592 for open 20 of inode …`.
    if (id > ID_MAX_DEFAULT) return { kind: "malformed", reason: `backing file ${m[2]} is beyond the idr's ${ID_MAX_DEFAULT}`, runTogether: true };
    return { kind: "backing", action: HP_ACTIONS[m[1] as keyof typeof HP_ACTIONS], id, inode: m[3] };
  }
  if ((m = HP_FAILED.exec(line))) return { kind: "backing", action: "failed", id: 0, inode: m[1] };
  if (HP_GARBLED.test(line)) return { kind: "garbled" };
  if (CONTROL.test(line)) return { kind: "malformed", reason: "control characters (not a text log line)" };
  if (PROTOCOL.test(line)) {
    const what = /unique:/.test(line) ? "request or reply line" : "libfuse line";
    return { kind: "malformed", reason: `${what} does not parse` };
  }
  return { kind: "other" };
}

// libfuse writes each of its lines with one call, so another thread's unfinished `cerr` pieces can only come before
// one, on the same physical line: `DEBUG: closed backing file unique: 156, opcode: OPEN (14), …`.
const EMBEDDED = /^unique: \d+, (?:opcode: |success|error: )/;

/** A libfuse request or reply line that another thread's unfinished output precedes: [that output, the line]. */
export function splitInterleaved(line: string): [string, string] | undefined {
  // Searched for as a literal, then checked where found: linear in the line, whatever it holds.
  for (let at = line.indexOf("unique: ", 1); at > 0; at = line.indexOf("unique: ", at + 1)) {
    if (!EMBEDDED.test(line.slice(at, at + 40))) continue;
    let cut = line.startsWith("dev ", at - 4) ? at - 4 : at;
    while (cut > 0 && line[cut - 1] === " ") cut--;
    if (cut > 0) return [line.slice(0, cut), line.slice(cut)];
    break;
  }
  // A whole DEBUG line written between two pieces of another: `DEBUG:do_lookup:425 inode 7 count DEBUG: setup …`.
  const at = line.lastIndexOf("DEBUG: ");
  if (at > 0 && HP_BACKING.test(line.slice(at))) return [line.slice(0, at), line.slice(at)];
  return undefined;
}

/**
 * Splits `/a /b` into its two paths. Paths may contain spaces, so every ` /` is a candidate; the first whose left
 * side is a path we know of wins, else the first.
 */
export function splitPaths(paths: string, known: (path: string) => boolean): [string, string] | undefined {
  const cuts: number[] = [];
  for (let i = paths.indexOf(" /"); i >= 0; i = paths.indexOf(" /", i + 1)) cuts.push(i);
  if (cuts.length === 0) return undefined;
  const cut = cuts.find((i) => known(paths.slice(0, i))) ?? cuts[0];
  return [paths.slice(0, cut), paths.slice(cut + 1)];
}
