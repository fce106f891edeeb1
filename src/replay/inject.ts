// Scenario injection and scaling, applied to a trace while it streams to a replay session. Deterministic from
// the seed: the same trace and options always give the same events.
import { OP_LOOKUP, OP_OPEN, OP_RESTART, RESTART_CLOSE_ALL } from "../abi.js";
import { sfc32 } from "../rng.js";
import { emptyColumns, sliceColumns } from "../events.js";
import type { BackingFile, EventColumns } from "../events.js";

export interface InjectOptions {
  /** Copies of the trace over disjoint inode namespaces, interleaved event by event (default 1). */
  scale?: number;
  /** A daemon restart before every N-th event (counted after scaling, restarts not counted; 0: none). */
  restartEvery?: number;
  /**
   * Daemon restarts before these opens (ascending; 1: the first OPEN the replay sees, counted after scaling). The
   * unit of `record --restart-before-open`, where the live daemon counts the opens it receives: the same K lands
   * before the same open of the same workload in both.
   */
  restartBeforeOpen?: readonly number[];
  /** Deprecated (`replay --restart-at`, for one release): restarts before these event indices, from 0. */
  restartAt?: readonly number[];
  /** Restarts also run FUSE_DEV_IOC_BACKING_CLOSE_ALL. */
  closeAll?: boolean;
  /** Per open: the file was deleted and re-downloaded just before (new inode, same bytes). */
  redownloadRate?: number;
  /** Per open: the file was replaced by new content just before (new inode, new bytes). */
  replaceRate?: number;
  seed?: number;
}

/**
 * Largest scale: the copies' nodeids and fhs are id × scale + copy in u32 columns, and tables grow with the scale
 * (the memory budget bounds the product with the trace's ids; this bounds the factor alone).
 */
export const MAX_SCALE = 1 << 16;

/** The first problem with the options, as one line, or undefined. The CLI checks with this same function. */
export function validateInjectOptions(o: InjectOptions): string | undefined {
  const int = (v: number | undefined, min: number, max: number) => v === undefined || (Number.isSafeInteger(v) && v >= min && v <= max);
  if (!int(o.scale, 1, MAX_SCALE)) return `--scale ${o.scale}: expected an integer in [1, ${MAX_SCALE}]`;
  if (!int(o.restartEvery, 1, Number.MAX_SAFE_INTEGER)) return `--restart-every ${o.restartEvery}: expected an integer >= 1`;
  if (o.restartBeforeOpen?.some((v) => !int(v, 1, Number.MAX_SAFE_INTEGER))) return "--restart-before-open: expected open numbers >= 1 (the first open is 1)";
  if (o.restartAt?.some((v) => !int(v, 0, Number.MAX_SAFE_INTEGER))) return "--restart-at: expected event indices >= 0";
  for (const [name, v] of [["redownload-rate", o.redownloadRate], ["replace-rate", o.replaceRate]] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 1)) return `--${name} ${v}: expected a probability in [0, 1]`;
  }
  // One uniform draw per open decides both: the bands must fit in [0, 1] (synth's rule too).
  const sum = (o.redownloadRate ?? 0) + (o.replaceRate ?? 0);
  if (sum > 1) return `--redownload-rate + --replace-rate must be at most 1, got ${sum}`;
  if (!int(o.seed, 0, 0xffffffff)) return `--seed ${o.seed}: expected an integer in [0, 2^32)`;
  return undefined;
}

/** What the injector hands the session: new backing files first, then the events that may name them. Both are the
 * injector's own, reused by its next rewrite: a session copies what it keeps (dev, ino, the digest's bytes). */
export interface Injected {
  backing: BackingFile[];
  events: EventColumns;
}

/**
 * Rewrites trace chunks for a session: the `bref` of trace version `b` in copy `k` becomes a session bref on the
 * current incarnation of its inode; a re-download or replacement starts a new incarnation.
 */
export class Injector {
  readonly scale: number;
  private readonly rng: () => number;
  private readonly restartAt: number[];
  private nextRestartIndex = 0;
  private readonly restartBeforeOpen: number[];
  private nextOpenRestart = 0;
  /** Events rewritten so far (after scaling; injected restarts not counted), and the OPENs among them. */
  private emitted = 0;
  private opens = 0;
  // Trace file versions, kept compact: device, inode number, digest, and which trace inode each belongs to.
  private traceDev = new Float64Array(1024);
  private traceIno = new Float64Array(1024);
  private traceDigest = new Uint8Array(1024 * 32);
  /** Per trace version, a view of its digest: every copy's bref shares it (no view object per copy). */
  private readonly traceDigestView: Uint8Array[] = [];
  private traceInode = new Int32Array(1024);
  private traceFileCount = 0;
  /** Trace inode index by st_dev, then st_ino (numeric keys: a trace may name hundreds of thousands). */
  private readonly traceInodes = new Map<number, Map<number, number>>();
  private traceInodeCount = 0;
  // A re-download or replacement gives a trace inode (in one copy) a new incarnation: a new backing inode that
  // every later version of it lands on, so a file rewritten in place after its re-download stays on the new inode.
  /** Per (trace inode, copy): its current incarnation, 0 for the traced inode itself. */
  private incarnation = new Int32Array(1024);
  /** Per (trace inode, copy): the inode number of its current incarnation. */
  private incarnationIno = new Float64Array(1024);
  /** Per (trace version, copy): the session bref made for it, and for which incarnation (-1: none yet). */
  private current = new Int32Array(1024);
  private currentFor = new Int32Array(1024).fill(-1);
  private sessionBrefs = 0;
  /** Injected incarnations so far: their inode numbers. */
  private versions = 0;
  readonly counts = { restarts: 0, redownloads: 0, replacements: 0 };
  /** Reused output columns: a rewritten chunk is consumed (copied into the core) before the next one. */
  private out = emptyColumns(0);
  /** Reused output backing files, likewise: a scaled trace makes one per copy of every version, and objects made
   * afresh for each would be hundreds of MB of garbage over a long replay. */
  private readonly backingOut: BackingFile[] = [];
  private readonly backingPool: BackingFile[] = [];

  constructor(private readonly options: InjectOptions) {
    const bad = validateInjectOptions(options);
    if (bad !== undefined) throw new RangeError(bad);
    this.scale = options.scale ?? 1;
    this.rng = sfc32(options.seed ?? 1);
    this.restartAt = [...(options.restartAt ?? [])];
    this.restartBeforeOpen = [...(options.restartBeforeOpen ?? [])];
  }

  /** Nothing to rewrite: chunks can go to the session untouched. */
  get passthrough(): boolean {
    const o = this.options;
    return this.scale === 1 && !o.restartEvery && this.restartAt.length === 0 && this.restartBeforeOpen.length === 0 && !o.redownloadRate && !o.replaceRate;
  }

  /**
   * Trace backing files appended in trace order. Untouched chunks name them directly, so they go to the session as
   * they are; otherwise each copy's bref is made when an event first names it (`rewrite` returns it), so memory
   * follows the files a chunk uses, not the whole table times the scale.
   */
  addTraceBacking(files: readonly BackingFile[]): BackingFile[] {
    if (this.passthrough) return [...files];
    for (const f of files) this.rememberTraceFile(f);
    return [];
  }

  private rememberTraceFile(f: BackingFile): number {
    const b = this.traceFileCount++;
    this.traceDev = grownF64(this.traceDev, b + 1);
    this.traceIno = grownF64(this.traceIno, b + 1);
    this.traceInode = grownI32(this.traceInode, b + 1);
    if ((b + 1) * 32 > this.traceDigest.length) {
      const digest = new Uint8Array(this.traceDigest.length * 2);
      digest.set(this.traceDigest);
      this.traceDigest = digest;
    }
    this.traceDev[b] = f.dev;
    this.traceIno[b] = f.ino;
    this.traceDigest.set(f.digest.subarray(0, 32), b * 32);
    this.traceDigestView.push(this.traceDigest.subarray(b * 32, b * 32 + 32));
    let byIno = this.traceInodes.get(f.dev);
    if (byIno === undefined) this.traceInodes.set(f.dev, (byIno = new Map()));
    let inode = byIno.get(f.ino);
    if (inode === undefined) byIno.set(f.ino, (inode = this.traceInodeCount++));
    this.traceInode[b] = inode;
    this.incarnation = grownI32(this.incarnation, (inode + 1) * this.scale);
    this.incarnationIno = grownF64(this.incarnationIno, (inode + 1) * this.scale);
    this.current = grownI32(this.current, (b + 1) * this.scale);
    this.currentFor = grownI32(this.currentFor, (b + 1) * this.scale, -1);
    return b;
  }

  /** The session bref of trace version `b` in copy `k` on its inode's current incarnation, made on first use. */
  private sessionBref(b: number, k: number, backing: BackingFile[], digest?: Uint8Array): number {
    const slot = b * this.scale + k;
    const at = this.traceInode[b] * this.scale + k;
    const n = this.incarnation[at];
    if (this.currentFor[slot] === n && digest === undefined) return this.current[slot];
    // Each copy lives on a device of its own, and injected incarnations on yet another, so none collide.
    const dev = this.traceDev[b] + k * 0x10000 + (n === 0 ? 0 : 0x8000);
    const ino = n === 0 ? this.traceIno[b] : this.incarnationIno[at];
    const f = this.backingPool[backing.length] ?? (this.backingPool[backing.length] = { dev: 0, ino: 0, digest: this.traceDigestView[b] });
    f.dev = dev;
    f.ino = ino;
    f.digest = digest ?? this.traceDigestView[b];
    backing.push(f);
    this.current[slot] = this.sessionBrefs;
    this.currentFor[slot] = n;
    return this.sessionBrefs++;
  }

  /** A restart goes before the next event, an `op`. */
  private restartDue(op: number): boolean {
    const every = this.options.restartEvery ?? 0;
    if (every > 0 && this.emitted > 0 && this.emitted % every === 0) return true;
    if (op === OP_OPEN && this.nextOpenRestart < this.restartBeforeOpen.length) {
      const open = this.opens + 1; // this open's number
      while (this.nextOpenRestart < this.restartBeforeOpen.length && this.restartBeforeOpen[this.nextOpenRestart] < open) this.nextOpenRestart++;
      if (this.restartBeforeOpen[this.nextOpenRestart] === open) return true;
    }
    while (this.nextRestartIndex < this.restartAt.length && this.restartAt[this.nextRestartIndex] < this.emitted) this.nextRestartIndex++;
    return this.nextRestartIndex < this.restartAt.length && this.restartAt[this.nextRestartIndex] === this.emitted;
  }

  /** Trace version `b`'s inode in copy `k` is re-downloaded (same bytes) or replaced (new bytes): a new inode. */
  private newIncarnation(b: number, k: number, sameBytes: boolean, backing: BackingFile[]): number {
    const at = this.traceInode[b] * this.scale + k;
    this.incarnation[at]++;
    this.incarnationIno[at] = ++this.versions;
    if (sameBytes) return this.sessionBref(b, k, backing);
    const digest = new Uint8Array(32);
    for (let i = 0; i < 32; i++) digest[i] = Math.floor(this.rng() * 256);
    return this.sessionBref(b, k, backing, digest);
  }

  /** Rewrites one trace chunk. The result is valid until the next call (its columns are reused). */
  rewrite(ev: EventColumns): Injected {
    const backing = this.backingOut;
    backing.length = 0;
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
        const op = ev.op[i];
        if (this.restartDue(op)) {
          out.op[n] = OP_RESTART;
          out.oflags[n] = restartFlags;
          n++;
          this.counts.restarts++;
        }
        const b = ev.bref[i];
        let bref = 0;
        if (op === OP_OPEN || op === OP_LOOKUP) {
          if (b >= this.traceFileCount) {
            bref = 0x7fffffff; // a missing entry stays missing, so the core counts it as an anomaly
          } else {
            const r = op === OP_OPEN && (redownload > 0 || replace > 0) ? this.rng() : 1;
            if (r < redownload) {
              bref = this.newIncarnation(b, k, true, backing);
              this.counts.redownloads++;
            } else if (r < redownload + replace) {
              bref = this.newIncarnation(b, k, false, backing);
              this.counts.replacements++;
            } else {
              bref = this.sessionBref(b, k, backing);
            }
          }
        }
        out.op[n] = op;
        out.nodeid[n] = ev.nodeid[i] * K + k;
        out.fh[n] = ev.fh[i] * K + k;
        out.bref[n] = bref;
        out.oflags[n] = ev.oflags[i];
        out.fopen[n] = ev.fopen[i];
        n++;
        this.emitted++;
        if (op === OP_OPEN) this.opens++;
      }
    }
    this.out = out;
    return { backing, events: sliceColumns(out, 0, n) };
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

function grownI32(a: Int32Array<ArrayBuffer>, need: number, fill = 0): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const g = new Int32Array(Math.max(need, a.length * 2)).fill(fill);
  g.set(a);
  return g;
}

function grownF64(a: Float64Array<ArrayBuffer>, need: number): Float64Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const g = new Float64Array(Math.max(need, a.length * 2));
  g.set(a);
  return g;
}
