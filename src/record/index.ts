// `fbreplay record`: run a command on a real FUSE mount (bindfs over a scratch copy of a directory) and capture
// the daemon's debug log, with the backing file's identity and sha256 taken as each open happens. The mount is
// always taken down, whether the command succeeds, fails or is interrupted.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants, createWriteStream, lstatSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { sha256File } from "../ingest/index.js";
import { isMounted } from "../fuse/mount.js";
import { RecordError, Workload, prepareScratch } from "./workload.js";

export interface RecordOptions {
  /** Copied into the scratch source before the mount; empty when absent. */
  src?: string;
  command: string[];
  /** Where the raw captures go (daemon.log, identities.jsonl, workload.strace); a fresh temp dir by default. */
  workDir?: string;
  /** Run the command under `strace -f -tt -y` and keep its log beside the daemon's. */
  strace?: boolean;
  /** Called when the mount is up (tests use it to interrupt at a known point). */
  onMounted?: (mountPoint: string) => void;
}

export interface Capture {
  workDir: string;
  mountPoint: string;
  daemonLog: string;
  identities: string;
  workloadStrace: string | null;
  exitCode: number;
  interrupted: boolean;
}

export { RecordError };

/** The programs and files recording needs; a one-line error naming what is missing. */
export function checkPrerequisites(withStrace: boolean): void {
  const missing: string[] = [];
  try {
    accessSync("/dev/fuse", constants.R_OK | constants.W_OK);
  } catch {
    missing.push("/dev/fuse (readable and writable)");
  }
  const tools = ["bindfs", "fusermount3", ...(withStrace ? ["strace"] : [])];
  for (const tool of tools) if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) missing.push(tool);
  if (process.getuid?.() !== 0) missing.push("root (FUSE mounts for other users' files)");
  if (missing.length > 0) {
    throw new RecordError(`record needs ${missing.join(", ")}: run scripts/install-fuse.sh as root`);
  }
}

async function waitFor(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new RecordError(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const REQUEST = /^(?:dev )?unique: (\d+), opcode: (OPEN|CREATE) /;
const OPENED = /^\s*(?:open|create)\[(\d+)\] flags: 0x[0-9a-f]+ (.*)$/;

/**
 * Reads the daemon's debug log as it is written: each successful open of a path (`open[fh] flags: … /path`)
 * is followed at once by an lstat and a sha256 of the source file, the closest userspace gets to "at open time".
 * bindfs runs single-threaded unless told otherwise, so a request's lines are not interleaved with another's.
 */
function captureIdentities(daemon: ChildProcess, sourceDir: string, log: WriteStream, identities: WriteStream): Promise<void> {
  let unique = -1;
  const lines = createInterface({ input: daemon.stderr! });
  lines.on("line", (line) => {
    log.write(`${line}\n`);
    const request = REQUEST.exec(line);
    if (request) {
      unique = Number(request[1]);
      return;
    }
    const opened = OPENED.exec(line);
    if (!opened || unique < 0) return;
    const path = opened[2];
    try {
      const st = lstatSync(join(sourceDir, path), { bigint: true });
      identities.write(`${JSON.stringify({
        unique, fh: Number(opened[1]), path, dev: Number(st.dev), ino: Number(st.ino), size: Number(st.size),
        sha256: st.isFile() ? Buffer.from(sha256File(join(sourceDir, path))).toString("hex") : "0".repeat(64),
      })}\n`);
    } catch {
      // Gone already (unlinked right after the open): the ingest falls back to a synthetic identity.
    }
  });
  return new Promise((resolve) => lines.on("close", resolve));
}

function unmount(mountPoint: string): void {
  for (const args of [["-u", mountPoint], ["-u", "-z", mountPoint]]) {
    if (!isMounted(mountPoint)) return;
    spawnSync("fusermount3", args, { stdio: "ignore" });
  }
}

/** Runs the command on a bindfs mount and returns the captures; the mount is gone when this returns or throws. */
export async function record(o: RecordOptions): Promise<Capture> {
  if (o.command.length === 0) throw new RecordError("record needs a command after --");
  checkPrerequisites(o.strace ?? true);
  const { workDir, sourceDir, mountPoint } = prepareScratch(o.src, o.workDir);
  const capture: Capture = {
    workDir, mountPoint,
    daemonLog: join(workDir, "daemon.log"),
    identities: join(workDir, "identities.jsonl"),
    workloadStrace: o.strace === false ? null : join(workDir, "workload.strace"),
    exitCode: -1,
    interrupted: false,
  };
  const log = createWriteStream(capture.daemonLog);
  const identities = createWriteStream(capture.identities);
  const daemon = spawn("bindfs", ["-d", "-f", sourceDir, mountPoint], { stdio: ["ignore", "ignore", "pipe"] });
  const captured = captureIdentities(daemon, sourceDir, log, identities);
  const daemonExit = new Promise<void>((resolve) => daemon.on("exit", () => resolve()));
  // An interrupt reaches strace and everything it traces; the mount still comes down.
  const workload = new Workload();
  try {
    await waitFor(() => isMounted(mountPoint) || daemon.exitCode !== null, `bindfs to mount ${mountPoint}`);
    if (!isMounted(mountPoint)) throw new RecordError(`bindfs exited before mounting ${mountPoint} (see ${capture.daemonLog})`);
    o.onMounted?.(mountPoint);
    const argv = capture.workloadStrace === null ? o.command : ["strace", "-f", "-tt", "-y", "-o", capture.workloadStrace, "--", ...o.command];
    capture.exitCode = await workload.run(argv, mountPoint, o.command[0]);
  } finally {
    workload.dispose();
    capture.interrupted = workload.interrupted;
    unmount(mountPoint);
    if (daemon.exitCode === null) daemon.kill("SIGTERM");
    await daemonExit;
    await captured;
    await Promise.all([new Promise((r) => log.end(r)), new Promise((r) => identities.end(r))]);
  }
  if (isMounted(mountPoint)) throw new RecordError(`${mountPoint} is still mounted: run fusermount3 -u ${mountPoint}`);
  return capture;
}
