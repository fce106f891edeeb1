// `ingestLibfuseDebug`: a libfuse debug log (`-d` output, high-level libfuse 2/3 or low-level libfuse 3, with or
// without the `dev ` prefix of newer libfuse) → a .fbt trace of OPEN / RELEASE / FORGET events.
//
// What the trace says, and what it assumes (the log does not say it):
// - every successful OPEN/CREATE is an OP_OPEN whose reply would carry FOPEN_PASSTHROUGH: the trace asks "what if
//   this daemon passed every open through", not what the recorded daemon did;
// - oflags are the open flags as the log prints them (raw, O_ACCMODE and all); low-level logs do not print them:
//   O_RDONLY for OPEN, O_RDWR|O_CREAT for CREATE;
// - time: libfuse logs have no timestamps, so events are 1 µs apart;
// - low-level logs show no fh: each open gets a synthetic fh and a RELEASE (which names only the nodeid) releases
//   the oldest open file of its nodeid. Their CREATE replies do not show the new nodeid either: the file is bound
//   to the nodeid of the first RELEASE that matches no other open file. A FORGET header without a `FORGET n/count`
//   line forgets every lookup (the kernel sends FORGET with its whole nlookup at evict); BATCH_FORGET without
//   those lines cannot be resolved and is only counted as a request;
// - files still open when the log ends are released at the end (summary.openAtEnd), so the trace ends closed;
//   inodes still looked up are not forgotten (as if the log stopped before umount).
//
// Backing identity of each open, first that applies: the identities sidecar of `fbreplay record` (by the request's
// unique); the file behind the daemon's reply in its own strace (`daemonStrace`: path, st_dev/st_ino as the daemon's
// stats showed them; sha256 of that file at ingest time when it is still the same inode, else a digest of its own);
// the file in `sourceDir` where that file version ends up (lstat and sha256 at ingest time; paths are
// followed through RENAME/LINK/UNLINK, which takes a first pass over the log); else a synthetic identity, one per
// (path, version) — the version changes on CREATE, O_TRUNC, UNLINK and RENAME over it — with dev 0, a counter
// as ino and a digest of its own (unknown bytes never compare equal). Without paths (low-level logs) the synthetic identity is per inode instance.
//
// Backing ids the daemon really used, where the capture has them: passthrough_hp's `setup shared backing file` /
// `reusing` / `closed` lines in the log, else the daemon strace's FUSE_DEV_IOC_BACKING_OPEN ioctls and open
// replies (see machine.ts and daemon-strace.ts). The trace then carries them for `replay --ids recorded`.
import { lstatSync } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { TRACE_CHUNK_ROWS, TraceWriter, type TraceBackingFile } from "../trace/index.js";
import { readLines } from "./lines.js";
import type { DaemonFile } from "./daemon-files.js";
import { readDaemonStrace, type DaemonStraceCounts } from "./daemon-strace.js";
import { openReplies, pairByOrder, type IdsByOrder } from "./ioctl-order.js";
import { ownDigest, sha256File } from "../digest.js";
import { IngestError, type IngestSummary } from "./errors.js";
import type { Counts } from "./counts.js";
import { Machine, type OpenContext } from "./machine.js";

export interface IngestOptions {
  /** The log; a `.gz` file is read as a gzip stream. */
  log: string;
  /** The .fbt to write (streamed, never left half-written). */
  output: string;
  /** The daemon's source directory: backing files are sourceDir + fuse path, identified at ingest time. */
  sourceDir?: string;
  /** JSON lines {unique, fh, path, dev, ino, size, sha256} taken at open time (`fbreplay record`); wins over sourceDir. */
  identities?: string;
  /** The daemon's own `strace -f -tt -v -y [-s 256]` (`.gz` as a stream): backing identities and ids per request. */
  daemonStrace?: string;
  /** The first malformed line throws an IngestError `LOG:LINE: reason` instead of being counted. */
  strict?: boolean;
  workload?: string;
  recorder?: { name: string; version: string };
  hostKernel?: string;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** Rows per trace chunk (default TRACE_CHUNK_ROWS; tests use small chunks). */
  chunkRows?: number;
}

const DIGEST_BYTES = 32;
const ZERO_DIGEST = new Uint8Array(DIGEST_BYTES);

interface Identity {
  dev: number;
  ino: number;
  size: number;
  digest: Uint8Array;
  path: string;
}

export async function ingestLibfuseDebug(o: IngestOptions): Promise<IngestSummary> {
  const size = await fileSize(o.log, "log");
  const identities = o.identities === undefined ? null : await readIdentities(o.identities);
  const passes = o.sourceDir === undefined ? 1 : 2;
  // Progress over every byte read: the daemon strace first (when given), then the log once or twice.
  const straceSize = o.daemonStrace === undefined ? 0 : await fileSize(o.daemonStrace, "daemon strace");
  const total = straceSize + passes * size;
  const progress = (pass: number) => (bytes: number) => o.onProgress?.(straceSize + pass * size + bytes, total);
  let daemon: Awaited<ReturnType<typeof readDaemonStrace>> | undefined;
  if (o.daemonStrace !== undefined) {
    const path = o.daemonStrace;
    try {
      daemon = await readDaemonStrace(path, { strict: o.strict ?? false, fail: lineError(path) }, (bytes) => o.onProgress?.(bytes, total));
    } catch (e) {
      throw e instanceof IngestError ? e : new IngestError(`${path}: ${reasonOf(e)}`);
    }
  }
  // Its ioctls without its /dev/fuse traffic: ids paired with the log's open replies by order (ioctl-order.ts).
  let byOrder: IdsByOrder | undefined;
  if (daemon !== undefined && daemon.counts.requests === 0 && daemon.ioctls.length > 0) {
    try {
      byOrder = pairByOrder(await openReplies(o.log), daemon.ioctls);
    } catch (e) {
      throw new IngestError(`${o.log}: ${reasonOf(e)}`);
    }
    daemon = { ...daemon, requests: byOrder.requests };
  }

  // First pass (only with sourceDir): where each file version ends up, so its bytes can be found there.
  let finalPaths: (string | null)[] = [];
  if (o.sourceDir !== undefined) {
    const dry = new Machine({ log: o.log, strict: o.strict ?? false, chunkRows: 1, fail: lineError(o.log) });
    await readLog(o.log, dry, progress(0));
    dry.finish();
    finalPaths = dry.paths.finalPaths();
  }

  let writer: TraceWriter;
  try {
    writer = await TraceWriter.create(o.output, {
      source: {
        format: "libfuse-debug", log: basename(o.log),
        identities: o.identities === undefined ? "" : basename(o.identities),
        daemon_strace: o.daemonStrace === undefined ? "" : basename(o.daemonStrace),
        fopen: "FOPEN_PASSTHROUGH on every open (what the daemon would answer with passthrough)",
        clock: "the log has no timestamps: 1 us per event",
      },
      workload: o.workload ?? `libfuse debug log ${basename(o.log)}`,
      recorder: o.recorder ?? { name: "fbreplay ingest", version: "1" },
      host_kernel: o.hostKernel ?? "",
      created: new Date().toISOString(),
    });
  } catch (e) {
    throw new IngestError(`${o.output}: cannot create the trace: ${(e as Error).message}`);
  }
  try {
    const backing = new BackingTable(writer, identities, o.sourceDir, finalPaths);
    const machine = new Machine({
      log: o.log, strict: o.strict ?? false, chunkRows: o.chunkRows ?? TRACE_CHUNK_ROWS, fail: lineError(o.log),
      backing: (open) => backing.bref(open), daemon: daemon?.requests, daemonPassthrough: (daemon?.counts.backingOpens ?? 0) > 0,
    });
    const drain = async () => {
      for (const chunk of machine.emitter.ready.splice(0)) await writer.writeChunk(chunk);
    };
    await readLog(o.log, machine, progress(passes - 1), drain);
    machine.finish();
    await drain();
    const backingFiles = writer.backingFiles;
    Object.assign(machine.counts, machine.lostIds.counts());
    await writer.close({
      ambiguous_releases: (machine.counts.ambiguousReleases ?? 0) + (machine.counts.releasedAtClose ?? 0),
      ...(byOrder === undefined && machine.counts.guessedIds === undefined ? {}
        : { ambiguous_ids: (byOrder?.ambiguous ?? 0) + (machine.counts.guessedIds ?? 0) }),
    });
    const ids = byOrder === undefined ? {} : { idsByOrder: { certain: byOrder.certain, ambiguous: byOrder.ambiguous, undecided: byOrder.undecided } };
    return { ...machine.counts, backingFiles, ...(daemon ? { daemonStrace: daemon.counts } : {}), ...ids };
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

function lineError(log: string): (line: number, reason: string) => Error {
  return (line, reason) => new IngestError(`${log}:${line}: ${reason}`);
}

async function fileSize(path: string, what: string): Promise<number> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error("not a regular file");
    return st.size;
  } catch (e) {
    throw new IngestError(`${path}: cannot read the ${what}: ${reasonOf(e)}`);
  }
}

function reasonOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "Z_BUF_ERROR" || err.code === "Z_DATA_ERROR") return `corrupt or truncated gzip stream (${err.message})`;
  return err.message ?? String(e);
}

/** Feeds every line to the machine; `afterLine` runs when the machine has full chunks to write. */
async function readLog(path: string, machine: Machine, onBytes: (n: number) => void, afterLine?: () => Promise<void>): Promise<void> {
  const lines = readLines(path, onBytes);
  for (let lineNo = 1; ; lineNo++) {
    let next: IteratorResult<string>;
    try {
      next = await lines.next();
    } catch (e) {
      throw new IngestError(`${path}: ${reasonOf(e)}`);
    }
    if (next.done) return;
    machine.line(next.value, lineNo);
    if (afterLine !== undefined && machine.emitter.ready.length > 0) await afterLine();
  }
}

/** The identities sidecar, by unique. Our own format: any bad line is an error, strict or not. */
async function readIdentities(path: string): Promise<Map<string, Identity>> {
  await fileSize(path, "identities");
  const out = new Map<string, Identity>();
  let lineNo = 0;
  const fail = (reason: string) => new IngestError(`${path}:${lineNo}: ${reason}`);
  const lines = readLines(path);
  for (;;) {
    let next: IteratorResult<string>;
    try {
      next = await lines.next();
    } catch (e) {
      throw new IngestError(`${path}: ${reasonOf(e)}`);
    }
    if (next.done) return out;
    lineNo++;
    if (next.value.trim() === "") continue;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(next.value) as Record<string, unknown>;
    } catch {
      throw fail("not a JSON object");
    }
    if (typeof v !== "object" || v === null) throw fail("not a JSON object");
    for (const key of ["unique", "dev", "ino", "size"]) {
      if (!Number.isSafeInteger(v[key]) || (v[key] as number) < 0) throw fail(`${key} must be a non-negative integer`);
    }
    if (typeof v.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(v.sha256)) throw fail("sha256 must be 64 lowercase hex digits");
    out.set(String(v.unique), {
      dev: v.dev as number, ino: v.ino as number, size: v.size as number,
      digest: Buffer.from(v.sha256, "hex"), path: typeof v.path === "string" ? v.path : "",
    });
  }
}


/** Picks each open's backing identity and dedups the trace's backing table: same (dev, ino, sha256), same bref. */
class BackingTable {
  private readonly brefs = new Map<string, number>();
  /** sourceDir identities by file object (null: not there at ingest time). */
  private readonly fromSource = new Map<number, Identity | null>();
  /** Synthetic identities by file object (`o…`) or inode instance (`i…`). */
  private readonly synthetic = new Map<string, Identity>();
  /** Identities of the daemon's files by dev:ino:generation. */
  private readonly fromDaemon = new Map<string, Identity>();

  constructor(
    private readonly writer: TraceWriter,
    private readonly identities: Map<string, Identity> | null,
    private readonly sourceDir: string | undefined,
    private readonly finalPaths: (string | null)[],
  ) {}

  bref(open: OpenContext): number {
    const id = this.identities?.get(open.unique) ?? this.daemonFile(open.daemonFile) ?? this.source(open) ?? this.syntheticOf(open);
    const key = `${id.dev}:${id.ino}:${Buffer.from(id.digest).toString("hex")}`;
    let bref = this.brefs.get(key);
    if (bref === undefined) {
      const file: TraceBackingFile = { dev: id.dev, ino: id.ino, digest: id.digest, size: id.size, path: id.path };
      bref = this.writer.addBacking([file]);
      this.brefs.set(key, bref);
    }
    return bref;
  }

  /**
   * The daemon's file, identified as its stats showed it. Its bytes are those of the file at its path now if that
   * is still the same inode; else unknown, which get a digest of their own. A reused inode number (another
   * generation) is another file: same dev and ino, but other bytes.
   */
  private daemonFile(file: DaemonFile | undefined): Identity | null {
    if (file?.dev === undefined || file.ino === undefined) return null;
    const key = `${file.dev}:${file.ino}:${file.gen ?? 0}`;
    let id = this.fromDaemon.get(key);
    if (id !== undefined) return id;
    let digest: Uint8Array | null = null;
    let size = 0;
    try {
      const st = lstatSync(file.path);
      if (st.isFile() && st.dev === file.dev && st.ino === file.ino) {
        digest = sha256File(file.path);
        size = st.size;
      }
    } catch {
      // gone since: unknown bytes
    }
    digest ??= ownDigest(`fbreplay unknown bytes of ${key}`);
    id = { dev: file.dev, ino: file.ino, size, digest, path: file.path };
    this.fromDaemon.set(key, id);
    return id;
  }

  private source(open: OpenContext): Identity | null {
    if (this.sourceDir === undefined || open.object < 0) return null;
    let id = this.fromSource.get(open.object);
    if (id !== undefined) return id;
    id = null;
    const final = this.finalPaths[open.object];
    if (final !== null && final !== undefined) {
      const path = join(this.sourceDir, final);
      try {
        const st = lstatSync(path);
        id = { dev: st.dev, ino: st.ino, size: st.size, digest: st.isFile() ? sha256File(path) : ZERO_DIGEST, path: open.path ?? final };
      } catch {
        id = null; // gone since (or unreadable): a synthetic identity stands in
      }
    }
    this.fromSource.set(open.object, id);
    return id;
  }

  private syntheticOf(open: OpenContext): Identity {
    const key = open.object >= 0 ? `o${open.object}` : `i${open.instance}`;
    let id = this.synthetic.get(key);
    if (id === undefined) {
      // Unknown bytes must not look equal to other unknown bytes (the digest policy would accept them): each
      // synthetic version gets a digest of its own.
      const ino = this.synthetic.size + 1;
      const digest = ownDigest(`fbreplay synthetic identity ${ino}`);
      id = { dev: 0, ino, size: 0, digest, path: open.path ?? "" };
      this.synthetic.set(key, id);
    }
    return id;
  }
}
