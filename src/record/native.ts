// `fbreplay record --daemon native`: run a command on fbreplay's own FUSE daemon (src/fuse) with real kernel
// passthrough, and keep every record the daemon makes. Restarts can be injected for real: the daemon forgets its
// backing ids while the kernel connection stays, so the kernel's own conflict check judges the opens that follow.
import { ID_MAX_DEFAULT } from "../abi.js";
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { startDaemon, type DaemonPolicy, type DaemonRecord, type DaemonStatus, type LiveDaemonModel } from "../fuse/index.js";
import { RecordError, Workload, prepareScratch } from "./workload.js";

export interface NativeRecordOptions {
  src?: string;
  command: string[];
  /** Where the scratch source, the mount point and records.jsonl go; a fresh temp dir by default. */
  workDir?: string;
  model?: LiveDaemonModel;
  restartEvery?: number;
  restartAt?: number[];
  /** Whether injected restarts close the old ids first (default: they leak, as after a crash). */
  restartCloseIds?: boolean;
  /** Re-download the file of every N-th open just before answering it (a new backing inode, same bytes). */
  redownloadEvery?: number;
  /** The kernel policy the daemon answers for (default ptr; reuse needs the `reuse` kernel: fbreplay vm). */
  policy?: DaemonPolicy;
  onMounted?: (mountPoint: string) => void;
  /** Milliseconds to wait for the mount and INIT (startDaemon's default: 15000; a guest under TCG needs more). */
  timeoutMs?: number;
  /** Runs the workload (`run`) inside something that watches the mount (the kernel capture); resolves to its status. */
  around?: (mountPoint: string, run: () => Promise<number>) => Promise<number>;
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
      redownloadEvery: o.redownloadEvery, policy: o.policy, timeoutMs: o.timeoutMs,
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
    const run = async () => {
      const status = await workload.run(argv, mountPoint, o.command[0]);
      await daemon.settle(); // RELEASE comes after close(2) returns
      return status;
    };
    capture.exitCode = o.around === undefined ? await run() : await o.around(mountPoint, run);
  } finally {
    workload.dispose();
    capture.interrupted = workload.interrupted;
    await daemon.stop();
  }
  return capture;
}

/** Longest record line read: a record is a few hundred bytes; a longer line is not one (and would cost memory). */
const MAX_RECORD_CHARS = 1 << 20;

/**
 * The records of a records.jsonl file, read in blocks each time it is iterated (a capture can be large). Each
 * line is looked at once (a line's pieces are joined when its end comes), and checked before it is used.
 */
export function recordsOf(path: string): () => Iterable<DaemonRecord> {
  return function* () {
    const fd = openSync(path, "r");
    const buf = Buffer.allocUnsafe(1 << 20);
    const utf8 = new StringDecoder("utf8"); // a character may straddle two blocks
    let pieces: string[] = [];
    let chars = 0;
    let line = 0;
    const whole = (): string => {
      const text = pieces.join("");
      pieces = [];
      chars = 0;
      line++;
      return text;
    };
    const take = (piece: string) => {
      chars += piece.length;
      if (chars > MAX_RECORD_CHARS) throw new RecordError(`${path}:${line + 1}: a line longer than ${MAX_RECORD_CHARS} characters is not a record`);
      pieces.push(piece);
    };
    try {
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) {
        const text = utf8.write(buf.subarray(0, n));
        let start = 0;
        for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
          take(text.slice(start, nl));
          const record = whole();
          if (record !== "") yield parseRecord(path, line, record);
          start = nl + 1;
        }
        take(text.slice(start));
      }
      take(utf8.end());
      if (chars > 0) yield parseRecord(path, line + 1, whole());
    } finally {
      closeSync(fd);
    }
  };
}

const RECORD_OPS: ReadonlySet<string> = new Set([
  "lookup", "forget", "open", "create", "release", "unlink", "rename", "restart", "backing_open", "backing_close", "action",
]);
const RECORD_NUMBERS = ["seq", "unique", "nodeid", "fh", "pid", "flags", "fopen", "backing_id", "dev", "ino", "t_ns", "epoch"] as const;
const RECORD_STRINGS = ["sha256", "name", "path"] as const;
const RECORD_OPTIONAL_NUMBERS = ["parent", "new_parent", "rename_flags", "nlookup"] as const;
const RECORD_OPTIONAL_STRINGS = ["new_name", "new_path", "via"] as const;

/** What is wrong with a parsed record, or undefined: the types and ranges the conversion relies on. */
function checkRecord(r: unknown): string | undefined {
  if (typeof r !== "object" || r === null || Array.isArray(r)) return "not a JSON object";
  const o = r as Record<string, unknown>;
  if (typeof o.op !== "string" || !RECORD_OPS.has(o.op)) return `unknown op ${JSON.stringify(o.op)}`;
  const uint = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  for (const k of RECORD_NUMBERS) if (!uint(o[k])) return `${k} must be a non-negative integer, got ${JSON.stringify(o[k])}`;
  for (const k of ["nodeid", "fh", "pid", "flags", "fopen", "backing_id"] as const) {
    if ((o[k] as number) > 0xffffffff) return `${k} must fit 32 bits, got ${o[k] as number}`;
  }
  // The kernel's ids are 1 … INT_MAX (spec §a.1)
  if ((o.backing_id as number) > ID_MAX_DEFAULT) return `backing_id ${o.backing_id as number} is beyond the idr's ${ID_MAX_DEFAULT}`;
  if (typeof o.error !== "number" || !Number.isSafeInteger(o.error) || o.error > 0) return `error must be 0 or a negative errno, got ${JSON.stringify(o.error)}`;
  for (const k of RECORD_STRINGS) if (typeof o[k] !== "string") return `${k} must be a string`;
  if (o.sha256 !== "" && !/^[0-9a-f]{64}$/.test(o.sha256 as string)) return "sha256 must be empty or 64 hex digits";
  if ((o.op === "open" || o.op === "create") && o.error === 0 && o.sha256 === "") return `a successful ${o.op} needs the sha256 of its backing file`;
  for (const k of RECORD_OPTIONAL_NUMBERS) if (o[k] !== undefined && !uint(o[k])) return `${k} must be a non-negative integer`;
  for (const k of RECORD_OPTIONAL_STRINGS) if (o[k] !== undefined && typeof o[k] !== "string") return `${k} must be a string`;
  for (const k of ["flushed", "close_ids"] as const) if (o[k] !== undefined && typeof o[k] !== "boolean") return `${k} must be a boolean`;
  return undefined;
}

function parseRecord(path: string, line: number, text: string): DaemonRecord {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    throw new RecordError(`${path}:${line}: not a JSON record (truncated capture?)`);
  }
  const bad = checkRecord(r);
  if (bad !== undefined) throw new RecordError(`${path}:${line}: ${bad}`);
  return r as DaemonRecord;
}
