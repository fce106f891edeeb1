// startDaemon: run the FUSE daemon on a mount point and control it from the caller's process.
//
// The daemon runs in a child process (dist/fuse/server.js), not in a worker thread: a caller that touches the
// mount synchronously, or with enough async fs calls to fill the libuv pool that a worker would share, would
// otherwise wait on a daemon that waits on it. A process also outlives no one: when the caller goes away the
// daemon sees its IPC channel close and takes the mount down itself.
//
// The mount is always taken down: by stop(), when the daemon process dies, at the caller's exit, and on
// SIGINT/SIGTERM (after which the signal's default action still ends the caller, unless it has handlers of its own).
import { fork, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ScenarioAction } from "./actions.js";
import type { DaemonPolicy, DaemonIdModel } from "./backing.js";
import type { DaemonStats, DaemonStatus } from "./daemon.js";
import type { FromDaemon, ServerConfig, ToDaemon } from "./ipc.js";
import { isMounted, unmountSync } from "./mount.js";
import type { DaemonRecord } from "./records.js";

export interface DaemonOptions {
  /** The directory to serve. The daemon changes it: pass a scratch copy. */
  source: string;
  /** An empty directory; created if missing. */
  mountpoint: string;
  /** How backing ids are handed out (default per-inode, as libfuse passthrough_hp). */
  model?: DaemonIdModel;
  /** Negotiate FUSE_PASSTHROUGH (default true); status.passthrough says whether it happened. */
  passthrough?: boolean;
  /** Restart after every N opens (OPEN and CREATE). */
  restartEvery?: number;
  /** Restart before open number k (1-based), for each k. */
  restartAt?: number[];
  /** Whether those automatic restarts close the old ids first (default false: they leak, as after a crash). */
  restartCloseIds?: boolean;
  /** Re-download the file of every N-th OPEN just before answering it (a new backing inode, same bytes). */
  redownloadEvery?: number;
  /** The kernel policy to answer for (default ptr; reuse: replies carry FOPEN_PASSTHROUGH_INODE_CACHE). */
  policy?: DaemonPolicy;
  /** Every record, in order, as it arrives from the daemon process. */
  onRecord?: (r: DaemonRecord) => void;
  /** Also write the records as JSON lines here (by the daemon process, one write per record). */
  recordsFile?: string;
  /** sha256 of the backing file at each open (default true). */
  digest?: boolean;
  /** Kernel cache lifetimes in seconds (default 1, as libfuse). */
  entryTimeout?: number;
  attrTimeout?: number;
  /** init_out.max_stack_depth (default 1: backing files on a non-stacked filesystem). */
  maxStackDepth?: number;
  /** Largest READ/WRITE in 4 KiB pages (default 32). */
  maxPages?: number;
  /** The source column of /proc/mounts (default "fbreplay"). */
  fsname?: string;
  /** Milliseconds to wait for the mount and INIT (default 15000). */
  timeoutMs?: number;
}

export interface DaemonHandle {
  readonly mountpoint: string;
  readonly status: DaemonStatus;
  /** The daemon process. */
  readonly pid: number;
  /**
   * Restart the daemon's backing-id state now, keeping the kernel connection (see BackingIds.restart).
   * Resolves once done: every later open is answered by the new epoch.
   */
  restart(o?: { closeIds?: boolean }): Promise<DaemonStats>;
  /** A scenario action on a backing file (actions.ts); resolves once done, rejects with the daemon's error. */
  action(a: ScenarioAction): Promise<DaemonStats>;
  /**
   * Resolves once no request has arrived for idleMs (default 100) and every record up to then has been passed
   * to onRecord. close(2) returns before the kernel sends RELEASE: settle before counting releases.
   */
  settle(idleMs?: number): Promise<DaemonStats>;
  /** Unmounts and ends the daemon; resolves with its last counters. The mount is gone when it resolves. */
  stop(): Promise<DaemonStats>;
}

export class DaemonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DaemonError";
  }
}

/** The compiled daemon entry. From src/ (tests run the TypeScript), the build's copy of it. */
function serverEntry(): string {
  const beside = fileURLToPath(new URL("./server.js", import.meta.url));
  if (existsSync(beside)) return beside;
  const built = beside.replace(/\/src\/fuse\/server\.js$/, "/dist/fuse/server.js");
  if (existsSync(built)) return built;
  throw new DaemonError("fuse daemon not built (dist/fuse/server.js missing): run `npm run build`");
}

// ---- mounts to take down whatever happens --------------------------------------------------------------------

const live = new Map<string, ChildProcess>();

function takeDownAll(): void {
  for (const [mountpoint, child] of live) {
    unmountSync(mountpoint);
    child.kill("SIGKILL");
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  takeDownAll();
  // Alone on this signal: let its default action happen, as if nobody had listened.
  if (process.listenerCount(signal) === 1) {
    unwatch();
    process.kill(process.pid, signal);
  }
}

let watching = false;
const signalHandlers = { SIGINT: () => onSignal("SIGINT"), SIGTERM: () => onSignal("SIGTERM") };

function watch(): void {
  if (watching) return;
  watching = true;
  process.on("exit", takeDownAll);
  process.on("SIGINT", signalHandlers.SIGINT);
  process.on("SIGTERM", signalHandlers.SIGTERM);
}

function unwatch(): void {
  if (!watching || live.size > 0) return;
  watching = false;
  process.off("exit", takeDownAll);
  process.off("SIGINT", signalHandlers.SIGINT);
  process.off("SIGTERM", signalHandlers.SIGTERM);
}

// ---- the controller ------------------------------------------------------------------------------------------

export async function startDaemon(o: DaemonOptions): Promise<DaemonHandle> {
  if (!statSync(o.source).isDirectory()) throw new DaemonError(`${o.source} is not a directory`);
  mkdirSync(o.mountpoint, { recursive: true });
  const mountpoint = realpathSync(o.mountpoint);
  if (isMounted(mountpoint)) throw new DaemonError(`${mountpoint} is already a mount point`);
  const config: ServerConfig = {
    source: realpathSync(o.source), mountpoint, model: o.model ?? "per-inode", passthrough: o.passthrough ?? true,
    restartEvery: o.restartEvery, restartAt: o.restartAt, restartCloseIds: o.restartCloseIds, digest: o.digest ?? true,
    redownloadEvery: o.redownloadEvery, policy: o.policy ?? "ptr",
    entryTimeout: o.entryTimeout ?? 1, attrTimeout: o.attrTimeout ?? 1, maxPages: o.maxPages ?? 32,
    maxStackDepth: o.maxStackDepth ?? 1, recordsFile: o.recordsFile, fsname: o.fsname ?? "fbreplay",
  };
  const child = fork(serverEntry(), [JSON.stringify(config)], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: [] });
  live.set(mountpoint, child);
  watch();

  const waiting = new Map<number, { resolve: (s: DaemonStats) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let lastStats: DaemonStats | null = null;
  let failure: string | null = null;
  let ready: ((s: DaemonStatus) => void) | null = null;
  let notReady: ((e: Error) => void) | null = null;

  child.on("message", (m: FromDaemon) => {
    switch (m.t) {
      case "records": for (const r of m.records) o.onRecord?.(r); break;
      case "ready": ready?.(m.status); break;
      case "failed": failure = m.message; notReady?.(new DaemonError(m.message)); break;
      case "done":
        lastStats = m.stats;
        if (m.error) waiting.get(m.id)?.reject(new DaemonError(m.error));
        else waiting.get(m.id)?.resolve(m.stats);
        waiting.delete(m.id);
        break;
      case "exit": lastStats = m.stats; if (m.error !== null) failure = m.error; break;
    }
  });
  let stopping: Promise<DaemonStats> | null = null;
  const exited = new Promise<void>((resolve) => child.on("exit", (code, signal) => {
    // Whatever ended the daemon, the mount goes with it (a dead connection leaves an ENOTCONN mount behind).
    unmountSync(mountpoint);
    live.delete(mountpoint);
    unwatch();
    if (stopping === null) failure ??= `fuse daemon exited unasked (${signal ?? `status ${code}`})`;
    const why = new DaemonError(failure ?? `fuse daemon exited (${signal ?? `status ${code}`})`);
    notReady?.(why);
    for (const w of waiting.values()) w.reject(why);
    waiting.clear();
    resolve();
  }));

  let status: DaemonStatus;
  try {
    status = await new Promise<DaemonStatus>((resolve, reject) => {
      ready = resolve;
      notReady = reject;
      setTimeout(() => reject(new DaemonError(`fuse daemon did not mount ${mountpoint} within ${o.timeoutMs ?? 15000} ms`)), o.timeoutMs ?? 15000).unref();
    });
  } catch (e) {
    child.kill("SIGKILL");
    await exited;
    throw e;
  } finally {
    ready = null;
    notReady = null;
  }

  type Request = { t: "restart"; closeIds: boolean } | { t: "settle"; idleMs: number } | { t: "action"; action: ScenarioAction };
  const ask = (m: Request): Promise<DaemonStats> => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new DaemonError(failure ?? "fuse daemon has exited"));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      child.send({ ...m, id } as ToDaemon);
    });
  };

  const stop = async (): Promise<DaemonStats> => {
    // The daemon is another process: a synchronous umount here cannot wait on it.
    unmountSync(mountpoint);
    // Unmounted, the daemon's read ends (ENODEV). Files still open on a lazily detached mount keep it serving:
    // then it is told to stop, and at last killed (which aborts the connection).
    const running = () => child.exitCode === null && child.signalCode === null;
    const within = (ms: number) => Promise.race([exited, new Promise((r) => setTimeout(r, ms).unref())]);
    if (running()) await within(2000);
    if (running() && child.connected) child.send({ t: "stop" } satisfies ToDaemon);
    if (running()) await within(10_000);
    if (running()) child.kill("SIGKILL");
    await exited;
    if (!unmountSync(mountpoint)) throw new DaemonError(`${mountpoint} is still mounted: run umount -l ${mountpoint}`);
    if (failure !== null) throw new DaemonError(`fuse daemon failed: ${failure}`);
    return lastStats ?? { requests: 0, opens: 0, restarts: 0, inodes: 0, handles: 0, backingIds: 0, leakedBackingIds: 0, replyErrors: 0 };
  };

  return {
    mountpoint,
    status,
    pid: child.pid!,
    restart: (r) => ask({ t: "restart", closeIds: r?.closeIds ?? false }),
    settle: (idleMs = 100) => ask({ t: "settle", idleMs }),
    action: (action) => ask({ t: "action", action }),
    stop: () => (stopping ??= stop()),
  };
}
