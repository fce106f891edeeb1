// `fbreplay record --daemon native`: run a command on fbreplay's own FUSE daemon (src/fuse) with real kernel
// passthrough, and keep every record the daemon makes. Restarts can be injected for real: the daemon forgets its
// backing ids while the kernel connection stays, so the kernel's own conflict check judges the opens that follow.
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { startDaemon, type DaemonModel, type DaemonPolicy, type DaemonRecord, type DaemonStatus } from "../fuse/index.js";
import { RecordError, Workload, prepareScratch } from "./workload.js";

export interface NativeRecordOptions {
  src?: string;
  command: string[];
  /** Where the scratch source, the mount point and records.jsonl go; a fresh temp dir by default. */
  workDir?: string;
  model?: DaemonModel;
  restartEvery?: number;
  restartAt?: number[];
  /** Whether injected restarts close the old ids first (default: they leak, as after a crash). */
  restartCloseIds?: boolean;
  /** Re-download the file of every N-th open just before answering it (a new backing inode, same bytes). */
  redownloadEvery?: number;
  /** The kernel policy the daemon answers for (default ptr; reuse needs the `reuse` kernel: fbreplay vm). */
  policy?: DaemonPolicy;
  onMounted?: (mountPoint: string) => void;
}

export interface NativeCapture {
  workDir: string;
  mountPoint: string;
  records: string;
  /**
   * The workload's opens, as `strace -f -tt -y` saw them (only open-family calls, filtered in the kernel with
   * seccomp so the workload keeps its speed): the failing calls are the other witness of the kernel's verdicts.
   * null when strace is not installed.
   */
  workloadStrace: string | null;
  status: DaemonStatus;
  exitCode: number;
  interrupted: boolean;
}

/** Runs the command (cwd: the mount) on the native daemon; the mount is gone when this returns or throws. */
export async function recordNative(o: NativeRecordOptions): Promise<NativeCapture> {
  if (o.command.length === 0) throw new RecordError("record needs a command after --");
  const { workDir, sourceDir, mountPoint } = prepareScratch(o.src, o.workDir);
  const records = join(workDir, "records.jsonl");
  // Before the daemon starts: an interrupt while it mounts must still take the mount down.
  const workload = new Workload();
  let daemon;
  try {
    daemon = await startDaemon({
      source: sourceDir, mountpoint: mountPoint, model: o.model, recordsFile: records,
      restartEvery: o.restartEvery, restartAt: o.restartAt, restartCloseIds: o.restartCloseIds,
      redownloadEvery: o.redownloadEvery, policy: o.policy,
    });
  } catch (e) {
    workload.dispose();
    throw new RecordError(`the native daemon did not start: ${(e as Error).message}`);
  }
  const workloadStrace = spawnSync("sh", ["-c", "command -v strace"]).status === 0 ? join(workDir, "workload.strace") : null;
  const capture: NativeCapture = { workDir, mountPoint, records, workloadStrace, status: daemon.status, exitCode: -1, interrupted: false };
  try {
    o.onMounted?.(mountPoint);
    const argv = workloadStrace === null ? o.command
      : ["strace", "-f", "-tt", "-y", "--seccomp-bpf", "-e", "trace=open,openat,openat2,creat", "-o", workloadStrace, "--", ...o.command];
    capture.exitCode = await workload.run(argv, mountPoint, o.command[0]);
    await daemon.settle(); // RELEASE comes after close(2) returns
  } finally {
    workload.dispose();
    capture.interrupted = workload.interrupted;
    await daemon.stop();
  }
  return capture;
}

/** The records of a records.jsonl file, read in blocks each time it is iterated (a capture can be large). */
export function recordsOf(path: string): () => Iterable<DaemonRecord> {
  return function* () {
    const fd = openSync(path, "r");
    const buf = Buffer.allocUnsafe(1 << 20);
    const utf8 = new StringDecoder("utf8"); // a character may straddle two blocks
    let rest = "";
    let line = 0;
    try {
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) {
        const lines = (rest + utf8.write(buf.subarray(0, n))).split("\n");
        rest = lines.pop()!;
        for (const text of lines) {
          line++;
          if (text !== "") yield parseRecord(path, line, text);
        }
      }
      if (rest !== "") yield parseRecord(path, line + 1, rest);
    } finally {
      closeSync(fd);
    }
  };
}

function parseRecord(path: string, line: number, text: string): DaemonRecord {
  try {
    return JSON.parse(text) as DaemonRecord;
  } catch {
    throw new RecordError(`${path}:${line}: not a JSON record (truncated capture?)`);
  }
}
