// Scenario injection and scaling, applied to a trace while it streams to a replay session. Deterministic from
// the seed: the same trace and options always give the same events.
import { OP_OPEN, OP_RESTART, RESTART_CLOSE_ALL } from "../abi.js";
import { emptyColumns } from "./events.js";
import type { BackingFile, EventColumns } from "./types.js";

export interface InjectOptions {
  /** Copies of the trace over disjoint inode namespaces, interleaved event by event (default 1). */
  scale?: number;
  /** A daemon restart before every N-th event (counted after scaling, restarts not counted; 0: none). */
  restartEvery?: number;
  /** Daemon restarts before these event indices (ascending; counted as for restartEvery). */
  restartAt?: readonly number[];
  /** Restarts also run FUSE_DEV_IOC_BACKING_CLOSE_ALL. */
  closeAll?: boolean;
  /** Per open: the file was deleted and re-downloaded just before (new inode, same bytes). */
  redownloadRate?: number;
  /** Per open: the file was replaced by new content just before (new inode, new bytes). */
  replaceRate?: number;
  seed?: number;
}

/** sfc32: small, fast, and good enough to decide injections; seeded so replays are reproducible. */
export function sfc32(seed: number): () => number {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const r = (t + d) | 0;
    c = (c + r) | 0;
    return (r >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** What the injector hands the session: new backing files first, then the events that may name them. */
export interface Injected {
  backing: BackingFile[];
  events: EventColumns;
}

/**
 * Rewrites trace chunks for a session: `bref`s of trace file `b` in copy `k` become session brefs through
 * `current[b * scale + k]`, which a re-download or replacement moves to a freshly appended version.
 */
export class Injector {
  readonly scale: number;
  private readonly rng: () => number;
  private readonly restartAt: number[];
  private nextRestartIndex = 0;
  /** Events rewritten so far (after scaling; injected restarts not counted). */
  private emitted = 0;
  /** Session bref of the current version of each (trace bref, copy). */
  private current = new Int32Array(1024);
  /** Device and digest of every trace file version (the base of injected versions), kept compact. */
  private traceDev = new Float64Array(1024);
  private traceDigest = new Uint8Array(1024 * 32);
  private traceFileCount = 0;
  private sessionBrefs = 0;
  /** Injected versions per trace file, to give new inodes distinct numbers. */
  private versions = 0;
  readonly counts = { restarts: 0, redownloads: 0, replacements: 0 };
  /** Reused output columns: a rewritten chunk is consumed (copied into the core) before the next one. */
  private out = emptyColumns(0);

  constructor(private readonly options: InjectOptions) {
    this.scale = options.scale ?? 1;
    this.rng = sfc32(options.seed ?? 1);
    this.restartAt = [...(options.restartAt ?? [])];
  }

  /** Nothing to rewrite: chunks can go to the session untouched. */
  get passthrough(): boolean {
    const o = this.options;
    return this.scale === 1 && !o.restartEvery && this.restartAt.length === 0 && !o.redownloadRate && !o.replaceRate;
  }

  /** Trace backing files appended in trace order; returns the session's copies. */
  addTraceBacking(files: readonly BackingFile[]): BackingFile[] {
    const out: BackingFile[] = [];
    for (const f of files) {
      const b = this.rememberTraceFile(f);
      for (let k = 0; k < this.scale; k++) {
        // Each copy lives on its own (synthetic) device, so copies never share a backing inode.
        out.push(k === 0 ? f : { dev: f.dev + k * 0x10000, ino: f.ino, digest: f.digest });
        this.setCurrent(b * this.scale + k, this.sessionBrefs++);
      }
    }
    return out;
  }

  private rememberTraceFile(f: BackingFile): number {
    const b = this.traceFileCount++;
    if (b >= this.traceDev.length) {
      const dev = new Float64Array(this.traceDev.length * 2);
      dev.set(this.traceDev);
      this.traceDev = dev;
      const digest = new Uint8Array(this.traceDigest.length * 2);
      digest.set(this.traceDigest);
      this.traceDigest = digest;
    }
    this.traceDev[b] = f.dev;
    this.traceDigest.set(f.digest.subarray(0, 32), b * 32);
    return b;
  }

  private setCurrent(slot: number, bref: number): void {
    if (slot >= this.current.length) {
      const grown = new Int32Array(Math.max(slot + 1, this.current.length * 2));
      grown.set(this.current);
      this.current = grown;
    }
    this.current[slot] = bref;
  }

  private restartDue(): boolean {
    const every = this.options.restartEvery ?? 0;
    if (every > 0 && this.emitted > 0 && this.emitted % every === 0) return true;
    while (this.nextRestartIndex < this.restartAt.length && this.restartAt[this.nextRestartIndex] < this.emitted) this.nextRestartIndex++;
    return this.nextRestartIndex < this.restartAt.length && this.restartAt[this.nextRestartIndex] === this.emitted;
  }

  /** A new version of trace file `b` in copy `k`: a new inode; same bytes for a re-download. */
  private newVersion(b: number, k: number, sameBytes: boolean, backing: BackingFile[]): number {
    this.versions++;
    let digest = this.traceDigest.slice(b * 32, b * 32 + 32);
    if (!sameBytes) {
      digest = new Uint8Array(32);
      for (let i = 0; i < 32; i++) digest[i] = Math.floor(this.rng() * 256);
    }
    // Injected inodes live on a device of their own, so they never collide with a traced inode.
    backing.push({ dev: this.traceDev[b] + k * 0x10000 + 0x8000, ino: this.versions, digest });
    this.setCurrent(b * this.scale + k, this.sessionBrefs);
    return this.sessionBrefs++;
  }

  /** Rewrites one trace chunk. The result is valid until the next call (its columns are reused). */
  rewrite(ev: EventColumns): Injected {
    const backing: BackingFile[] = [];
    if (this.passthrough) {
      this.emitted += ev.length;
      return { backing, events: ev };
    }
    const K = this.scale;
    const redownload = this.options.redownloadRate ?? 0;
    const replace = this.options.replaceRate ?? 0;
    const restartFlags = this.options.closeAll ? RESTART_CLOSE_ALL : 0;
    if (this.out.length < ev.length * K + 16) this.out = emptyColumns(ev.length * K + 16);
    let out = this.out;
    let n = 0;
    for (let i = 0; i < ev.length; i++) {
      for (let k = 0; k < K; k++) {
        if (n + 2 > out.length) out = grow(out, n);
        if (this.restartDue()) {
          out.op[n] = OP_RESTART;
          out.oflags[n] = restartFlags;
          n++;
          this.counts.restarts++;
        }
        const op = ev.op[i];
        const b = ev.bref[i];
        let bref = b * K + k < this.current.length ? this.current[b * K + k] : 0x7fffffff;
        if (op === OP_OPEN && b < this.traceFileCount) {
          const r = redownload > 0 || replace > 0 ? this.rng() : 1;
          if (r < redownload) {
            bref = this.newVersion(b, k, true, backing);
            this.counts.redownloads++;
          } else if (r < redownload + replace) {
            bref = this.newVersion(b, k, false, backing);
            this.counts.replacements++;
          }
        } else if (b >= this.traceFileCount) {
          bref = 0x7fffffff; // a missing entry stays missing, so the core counts it as an anomaly
        }
        out.op[n] = op;
        out.nodeid[n] = ev.nodeid[i] * K + k;
        out.fh[n] = ev.fh[i] * K + k;
        out.bref[n] = bref;
        out.oflags[n] = ev.oflags[i];
        out.fopen[n] = ev.fopen[i];
        n++;
        this.emitted++;
      }
    }
    this.out = out;
    return { backing, events: slice(out, n) };
  }
}

function grow(ev: EventColumns, used: number): EventColumns {
  const out = emptyColumns(ev.length * 2);
  out.op.set(ev.op.subarray(0, used));
  out.nodeid.set(ev.nodeid.subarray(0, used));
  out.fh.set(ev.fh.subarray(0, used));
  out.bref.set(ev.bref.subarray(0, used));
  out.oflags.set(ev.oflags.subarray(0, used));
  out.fopen.set(ev.fopen.subarray(0, used));
  return out;
}

function slice(ev: EventColumns, n: number): EventColumns {
  return {
    length: n,
    op: ev.op.subarray(0, n),
    nodeid: ev.nodeid.subarray(0, n),
    fh: ev.fh.subarray(0, n),
    bref: ev.bref.subarray(0, n),
    oflags: ev.oflags.subarray(0, n),
    fopen: ev.fopen.subarray(0, n),
  };
}
