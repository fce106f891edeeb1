// `fbreplay record`: run a command on a real FUSE mount over a scratch copy of a directory and capture the daemon's
// debug log. Two daemons:
// - bindfs (no passthrough): the backing file's identity and sha256 are taken as each open happens;
// - libfuse's passthrough_hp (real kernel passthrough, one shared backing id per inode), run under strace: its
//   `--debug` lines name each backing id, its strace each backing file (see ingest/daemon-strace.ts).
// The mount is always taken down, whether the command succeeds, fails or is interrupted.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants, createWriteStream, existsSync, lstatSync, type WriteStream } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { sha256File } from "../digest.js";
import { isMounted } from "../fuse/mount.js";
import { RecordError, Workload, prepareScratch } from "./workload.js";

export const RECORD_DAEMONS = ["bindfs", "passthrough_hp"] as const;
export type RecordDaemon = (typeof RECORD_DAEMONS)[number];

export interface RecordOptions {
  /** The FUSE daemon (default bindfs). */
  daemon?: RecordDaemon;
  /** Copied into the scratch source before the mount; empty when absent. */
  src?: string;
  command: string[];
  /** Where the raw captures go (daemon.log, identities.jsonl, workload.strace); a fresh temp dir by default. */
  workDir?: string;
  /** Run the command under `strace -f -tt -y` and keep its log beside the daemon's. */
  strace?: boolean;
  /** Called when the mount is up (tests use it to interrupt at a known point). */
  onMounted?: (mountPoint: string) => void;
  /** Runs the workload (`run`) inside something that watches the mount (the kernel capture); resolves to its status. */
  around?: (mountPoint: string, run: () => Promise<number>) => Promise<number>;
}

export interface Capture {
  workDir: string;
  mountPoint: string;
  daemonLog: string;
  /** bindfs: identities taken at open time; passthrough_hp: null (its strace identifies the files). */
  identities: string | null;
  /** passthrough_hp: the daemon's own strace. */
  daemonStrace: string | null;
  workloadStrace: string | null;
  exitCode: number;
  interrupted: boolean;
}

export { RecordError };

/** What scripts/build-passthrough-hp.sh builds, beside dist/. */
const BUILT_PASSTHROUGH_HP = resolve(dirname(fileURLToPath(import.meta.url)), "../../build/passthrough_hp/passthrough_hp");

/** passthrough_hp: $FBREPLAY_PASSTHROUGH_HP, else the one scripts/build-passthrough-hp.sh built, else on PATH; null if none. */
export function passthroughHp(): string | null {
  const env = process.env.FBREPLAY_PASSTHROUGH_HP;
  if (env !== undefined && env !== "") return existsSync(env) ? env : null;
  if (existsSync(BUILT_PASSTHROUGH_HP)) return BUILT_PASSTHROUGH_HP;
  const found = spawnSync("sh", ["-c", "command -v passthrough_hp"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : null;
}

/**
 * The programs and files recording needs; a one-line error naming what is missing. Returns passthrough_hp's path
 * when that is the daemon.
 */
export function checkPrerequisites(withStrace: boolean, daemon: RecordDaemon = "bindfs"): string | undefined {
  const missing: string[] = [];
  try {
    accessSync("/dev/fuse", constants.R_OK | constants.W_OK);
  } catch {
    missing.push("/dev/fuse (readable and writable)");
  }
  const tools = [...(daemon === "bindfs" ? ["bindfs"] : []), "fusermount3", ...(withStrace || daemon === "passthrough_hp" ? ["strace"] : [])];
  for (const tool of tools) if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) missing.push(tool);
  if (process.getuid?.() !== 0) missing.push("root (FUSE mounts for other users' files)");
  if (missing.length > 0) {
    throw new RecordError(`record needs ${missing.join(", ")}: run scripts/install-fuse.sh as root`);
  }
  if (daemon !== "passthrough_hp") return undefined;
  const binary = passthroughHp();
  if (binary === null) {
    throw new RecordError("record --daemon passthrough_hp needs libfuse's passthrough_hp (3.16+): run scripts/build-passthrough-hp.sh, or set FBREPLAY_PASSTHROUGH_HP");
  }
  return binary;
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

/**
 * passthrough_hp under strace. `--single`: one thread, so its debug lines are not interleaved with another
 * request's; `-s 256`: a CREATE reply's fuse_open_out shows in the strace.
 */
function startPassthroughHp(binary: string, sourceDir: string, mountPoint: string, strace: string, log: WriteStream): Promise<void> & { daemon: ChildProcess } {
  const daemon = spawn("strace", [
    "-f", "-tt", "-v", "-y", "-s", "256", "-o", strace, "--",
    binary, "--debug", "--debug-fuse", "--foreground", "--single", sourceDir, mountPoint,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  daemon.stderr!.pipe(log, { end: false });
  const done = new Promise<void>((resolve) => daemon.stderr!.on("end", resolve));
  return Object.assign(done, { daemon });
}

/** Runs the command on a FUSE mount and returns the captures; the mount is gone when this returns or throws. */
export async function record(o: RecordOptions): Promise<Capture> {
  if (o.command.length === 0) throw new RecordError("record needs a command after --");
  const which = o.daemon ?? "bindfs";
  const hpBinary = checkPrerequisites(o.strace ?? true, which);
  const { workDir, sourceDir, mountPoint } = prepareScratch(o.src, o.workDir);
  const capture: Capture = {
    workDir, mountPoint,
    daemonLog: join(workDir, "daemon.log"),
    identities: which === "bindfs" ? join(workDir, "identities.jsonl") : null,
    daemonStrace: which === "passthrough_hp" ? join(workDir, "daemon.strace") : null,
    workloadStrace: o.strace === false ? null : join(workDir, "workload.strace"),
    exitCode: -1,
    interrupted: false,
  };
  // Before the daemon starts: an interrupt from here on must still take the mount down. The daemon can mount
  // before this process runs again after spawning it, on a busy machine.
  const workload = new Workload();
  const log = createWriteStream(capture.daemonLog);
  const identities = capture.identities === null ? null : createWriteStream(capture.identities);
  let daemon: ChildProcess;
  let captured: Promise<void>;
  if (identities !== null) {
    daemon = spawn("bindfs", ["-d", "-f", sourceDir, mountPoint], { stdio: ["ignore", "ignore", "pipe"] });
    captured = captureIdentities(daemon, sourceDir, log, identities);
  } else {
    const started = startPassthroughHp(hpBinary!, sourceDir, mountPoint, capture.daemonStrace!, log);
    daemon = started.daemon;
    captured = started;
  }
  const daemonExit = new Promise<void>((resolve) => daemon.on("exit", () => resolve()));
  try {
    await waitFor(() => isMounted(mountPoint) || daemon.exitCode !== null, `${which} to mount ${mountPoint}`);
    if (!isMounted(mountPoint)) throw new RecordError(`${which} exited before mounting ${mountPoint} (see ${capture.daemonLog})`);
    o.onMounted?.(mountPoint);
    const argv = capture.workloadStrace === null ? o.command : ["strace", "-f", "-tt", "-y", "-o", capture.workloadStrace, "--", ...o.command];
    const run = () => workload.run(argv, mountPoint, o.command[0]);
    capture.exitCode = o.around === undefined ? await run() : await o.around(mountPoint, run);
  } finally {
    workload.dispose();
    capture.interrupted = workload.interrupted;
    unmount(mountPoint);
    if (daemon.exitCode === null) daemon.kill("SIGTERM");
    await daemonExit;
    await captured;
    await Promise.all([new Promise((r) => log.end(r)), identities === null ? null : new Promise((r) => identities.end(r))]);
  }
  if (isMounted(mountPoint)) throw new RecordError(`${mountPoint} is still mounted: run fusermount3 -u ${mountPoint}`);
  return capture;
}
