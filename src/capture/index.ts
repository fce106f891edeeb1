// `fbreplay capture`: the FUSE traffic of whatever daemon serves a mount, from the kernel's side, without touching
// the daemon. The BPF loader (capture/, built by scripts/build-capture.sh) appends binary records (layout.ts) to
// records.bin itself, so that a busy Node never holds the ring buffer up, and streams to Node on a pipe the few it
// acts on at once: READY, DONE, and each backing file the daemon registers, hashed through /proc/PID/fd if the
// daemon still holds it by then. The conversion into a trace is the ingest stage's
// (src/ingest/capture.ts).
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, constants, existsSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, statSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Workload } from "../record/workload.js";
import { digestKey } from "../ingest/capture.js";
import { KIND, RECORD_SIZE, decodeRecord, kernelDev, userDev } from "./layout.js";
import { straceArgv } from "./strace.js";

export class CaptureError extends Error {}

/** statfs(2) f_type of a FUSE mount (include/uapi/linux/magic.h). */
const FUSE_SUPER_MAGIC = 0x65735546;
/** After the workload exits: its files' RELEASEs are sent asynchronously; wait until the stream is this quiet. */
const SETTLE_QUIET_MS = 200;
const SETTLE_MAX_MS = 3000;

export interface CaptureOptions {
  /** A directory on the FUSE mount to capture (any directory of it: the connection is what is traced). */
  mount: string;
  /** Run this in `mount` and stop when it ends; otherwise stop on SIGINT/SIGTERM or after `durationS`. */
  command?: string[];
  /**
   * Or run this, the caller's own workload on the mount (the caller runs it, and stops it on an interrupt), and
   * stop when it resolves to its exit status: `fbreplay record`.
   */
  during?: () => Promise<number>;
  durationS?: number;
  /** With `command`: run it under strace (open calls only) into workDir/workload.strace (capture --workload-strace). */
  workloadStrace?: boolean;
  /** Where records.bin goes (a fresh temp dir by default). */
  workDir?: string;
  /** The ring buffer's size in bytes (a power of 2, at least 4096; default 16 MiB). */
  ringBytes?: number;
  /** Called once the programs are attached (and before the command starts). */
  onReady?: () => void;
  /** Called with the number of records so far, now and then. */
  onProgress?: (records: number) => void;
}

export interface KernelCapture {
  workDir: string;
  records: string;
  /** sha256 (hex) of each registration's backing file, by its record's digestKey. */
  digests: Map<string, string>;
  /** The traced connection (fc->dev, kernel encoding). */
  dev: number;
  /** The processes that made the registrations (the daemon), by pid: their comm. */
  daemons: Map<number, string>;
  recordCount: number;
  /** Records the ring buffer had no room for. */
  lost: number;
  /** The workload's strace (--workload-strace), or null. */
  workloadStrace: string | null;
  /** -1 without a command. */
  exitCode: number;
  interrupted: boolean;
}

/** The loader's path: $FBREPLAY_CAPTURE_LOADER, else the one scripts/build-capture.sh linked into build/fbcapture/. */
export function loaderPath(): string {
  return process.env.FBREPLAY_CAPTURE_LOADER || resolve(dirname(fileURLToPath(import.meta.url)), "../../build/fbcapture/fbcapture-loader");
}

/** Everything capture needs, checked before anything starts: one line naming what is missing. */
export function checkCapture(mount: string, workloadStrace = false): { loader: string; dev: number } {
  if (!existsSync("/sys/kernel/btf/vmlinux")) throw new CaptureError("capture needs a kernel with BTF (/sys/kernel/btf/vmlinux is missing: CONFIG_DEBUG_INFO_BTF)");
  if (process.getuid?.() !== 0) throw new CaptureError("capture needs root (it loads BPF programs)");
  let type: number;
  let dev: bigint;
  try {
    type = statfsSync(mount).type;
    dev = statSync(mount, { bigint: true }).dev;
  } catch (e) {
    throw new CaptureError(`${mount}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}: not a directory to capture`);
  }
  if (type !== FUSE_SUPER_MAGIC) throw new CaptureError(`${mount}: not a FUSE mount (file system type 0x${type.toString(16)})`);
  if (workloadStrace && spawnSync("sh", ["-c", "command -v strace"]).status !== 0) {
    throw new CaptureError("capture --workload-strace needs strace (scripts/install-fuse.sh installs it)");
  }
  const loader = loaderPath();
  if (!existsSync(loader)) throw new CaptureError(`capture needs its BPF loader (${loader}): run scripts/build-capture.sh`);
  return { loader, dev: kernelDev(dev) };
}

/**
 * sha256 of the file behind `path` (/proc/PID/fd/N) if it still is the registered backing file: a regular file with
 * that st_dev/st_ino. The daemon may have closed the fd already and reused its number (for a pipe, a socket).
 */
function sha256Of(path: string, dev: number, ino: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined; // closed already, or not readable (O_PATH, permissions)
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.dev !== userDev(dev) || st.ino !== ino) return undefined;
    const hash = createHash("sha256");
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
    return hash.digest("hex");
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function commOf(pid: number): string {
  try {
    const fd = openSync(`/proc/${pid}/comm`, "r");
    const buf = Buffer.alloc(64);
    const n = readSync(fd, buf, 0, 64, 0);
    closeSync(fd);
    return buf.toString("utf8", 0, n).trim();
  } catch {
    return "?";
  }
}

/**
 * Captures until the command ends (or an interrupt, or the duration); the loader is gone when this returns. A
 * capture that fails leaves no scratch directory of its own behind.
 */
export async function capture(o: CaptureOptions): Promise<KernelCapture> {
  const { loader, dev } = checkCapture(o.mount, o.workloadStrace === true);
  // Absolute: the command (and its strace) runs in the mount.
  const workDir = resolve(o.workDir ?? mkdtempSync(join(tmpdir(), "fbreplay-capture-")));
  try {
    return await captureInto(o, loader, dev, workDir);
  } catch (e) {
    if (o.workDir === undefined) rmSync(workDir, { recursive: true, force: true });
    throw e;
  }
}

async function captureInto(o: CaptureOptions, loader: string, dev: number, workDir: string): Promise<KernelCapture> {
  const records = join(workDir, "records.bin");
  const result: KernelCapture = {
    workDir, records, digests: new Map(), dev, daemons: new Map(), recordCount: 0, lost: 0, exitCode: -1, interrupted: false,
    workloadStrace: o.workloadStrace === true && o.command !== undefined && o.command.length > 0 ? join(workDir, "workload.strace") : null,
  };
  // Before the loader starts: Ctrl-C from here on stops the capture (and the command), never this process.
  const workload = new Workload();
  const child = spawn(loader, [String(dev), records, ...(o.ringBytes === undefined ? [] : [String(o.ringBytes)])], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => { stderr += s; });
  let pending: Buffer = Buffer.alloc(0);
  let lastData = Date.now();
  let done = false;
  let signalReady: () => void = () => {};
  const ready = new Promise<void>((resolveReady) => { signalReady = resolveReady; });
  child.stdout!.on("data", (data: Buffer) => {
    lastData = Date.now();
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    let at = 0;
    for (; at + RECORD_SIZE <= pending.length; at += RECORD_SIZE) {
      const kind = pending.readUInt32LE(at + 8);
      if (kind === KIND.READY) signalReady();
      else if (kind === KIND.DONE) {
        done = true;
        result.lost = Number(pending.readBigUInt64LE(at + 88));
      } else if (kind === KIND.BACKING_OPEN) {
        const r = decodeRecord(pending, at);
        if (r.error > 0) {
          const sha = sha256Of(`/proc/${r.tgid}/fd/${r.fd}`, r.dev, r.ino);
          if (sha !== undefined) result.digests.set(digestKey(r), sha);
          if (!result.daemons.has(r.tgid)) result.daemons.set(r.tgid, commOf(r.tgid));
        }
      }
    }
    pending = pending.subarray(at);
  });
  const progress = o.onProgress === undefined ? undefined : setInterval(() => {
    try {
      o.onProgress!(Math.floor(statSync(records).size / RECORD_SIZE));
    } catch {
      // not created yet
    }
  }, 500);
  const exited = new Promise<number>((resolveExit) => child.on("close", (code, signal) => resolveExit(code ?? (signal ? 128 : 1))));
  try {
    const started = await Promise.race([ready.then(() => true), exited.then(() => false)]);
    if (!started) {
      const line = stderr.trim().split("\n").pop() || "the BPF loader exited before attaching";
      throw new CaptureError(line.replace(/^fbcapture: /, "capture: "));
    }
    o.onReady?.();
    const argv = o.command === undefined || result.workloadStrace === null ? o.command : straceArgv(result.workloadStrace, o.command);
    const run = o.during ?? (argv !== undefined && argv.length > 0 ? () => workload.run(argv, o.mount, o.command![0]) : undefined);
    if (run !== undefined) {
      result.exitCode = await run();
      const settleEnd = Date.now() + SETTLE_MAX_MS;
      while (Date.now() - lastData < SETTLE_QUIET_MS && Date.now() < settleEnd) await sleep(50);
    } else {
      await waitForStop(workload, o.durationS);
    }
  } finally {
    if (progress !== undefined) clearInterval(progress);
    workload.dispose();
    result.interrupted = workload.interrupted;
    child.stdin!.end(); // EOF: the loader detaches, drains the ring buffer and writes DONE
    const status = await exited;
    if (status !== 0 && done) throw new CaptureError(`capture: the loader failed (${stderr.trim().split("\n").pop()})`);
  }
  result.recordCount = Math.floor(statSync(records).size / RECORD_SIZE);
  if (pending.length !== 0 || !done) throw new CaptureError(`${records}: the loader stopped before its last record (${stderr.trim().split("\n").pop() ?? "no message"})`);
  return result;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Until SIGINT/SIGTERM (which the Workload catches) or the duration. */
async function waitForStop(workload: Workload, durationS: number | undefined): Promise<void> {
  const end = durationS === undefined ? Infinity : Date.now() + durationS * 1000;
  while (!workload.interrupted && Date.now() < end) await sleep(Math.min(100, Math.max(1, end - Date.now())));
}
