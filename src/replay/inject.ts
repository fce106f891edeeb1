// Scenario injection and scaling, applied to a trace while it streams to a replay session. Deterministic from
// the seed: the same trace and options always give the same events.
import { OP_LOOKUP, OP_OPEN, OP_RESTART, RESTART_CLOSE_ALL } from "../abi.js";
import { sfc32 } from "../rng.js";
import { backingTable, emptyColumns, sliceColumns } from "../events.js";
import type { BackingFile, BackingTable, EventColumns } from "../events.js";
import { grownF64, grownI32, grownU8 } from "./grow.js";
import { InodeIndex } from "./inode-index.js";

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
 * injector's own, reused by its next rewrite: a session copies what it keeps. */
export interface Injected {
  backing: BackingTable;
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
  // Trace file versions, kept compact: digest, and which trace inode each belongs to.
  private traceDigest: Uint8Array<ArrayBuffer>;
  private traceInode: Int32Array<ArrayBuffer>;
  private traceFileCount = 0;
  /** Trace inode index by (st_dev, st_ino), which also keeps each inode's st_dev and st_ino. */
  private readonly traceInodes: InodeIndex;
  // A re-download or replacement gives a trace inode (in one copy) a new incarnation: a new backing inode that
  // every later version of it lands on, so a file rewritten in place after its re-download stays on the new inode.
  /** Per (trace inode, copy): its current incarnation, 0 for the traced inode itself. */
  private incarnation = new Int32Array(1024);
  /** Per (trace inode, copy): the inode number of its current incarnation. */
  private incarnationIno = new Float64Array(1024);
  /** Per (trace version, copy): the session bref made for it, and for which incarnation (-1: none yet). */
  private current: Int32Array<ArrayBuffer>;
  private currentFor: Int32Array<ArrayBuffer>;
  private sessionBrefs = 0;
  /** Injected incarnations so far: their inode numbers. */
  private versions = 0;
  readonly counts = { restarts: 0, redownloads: 0, replacements: 0 };
  /** Reused output columns: a rewritten chunk is consumed (copied into the core) before the next one. */
  private out = emptyColumns(0);
  /** Reused output backing files, likewise, as columns: a scaled trace makes one per copy of every version, and an
   * object for each was most of a long injected replay's memory (bench/README.md, "Trace size and replay memory"). */
  private backing: OutputTable = { count: 0, dev: new Float64Array(256), ino: new Float64Array(256), digest: new Uint8Array(256 * 32), content: new Int32Array(256) };

  /**
   * `traceFiles`: the trace's backing files (its footer's count), when known; the tables are then made once at
   * their size (grown by doubling otherwise: the copies left behind took tens of MB in a long replay).
   */
  constructor(private readonly options: InjectOptions, traceFiles = 0) {
    const bad = validateInjectOptions(options);
    if (bad !== undefined) throw new RangeError(bad);
    this.scale = options.scale ?? 1;
    this.rng = sfc32(options.seed ?? 1);
    this.restartAt = [...(options.restartAt ?? [])];
    this.restartBeforeOpen = [...(options.restartBeforeOpen ?? [])];
    const files = this.passthrough ? 0 : traceFiles;
    this.traceDigest = new Uint8Array(files * 32);
    this.traceInode = new Int32Array(files);
    this.traceInodes = new InodeIndex(files);
    this.current = new Int32Array(files * this.scale);
    this.currentFor = new Int32Array(files * this.scale).fill(-1);
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
  addTraceTable(t: BackingTable): void {
    if (this.passthrough) return;
    const first = this.traceFileCount;
    const end = first + t.count;
    this.traceInode = grownI32(this.traceInode, end);
    this.traceDigest = grownU8(this.traceDigest, this.traceInode.length * 32);
    this.traceDigest.set(t.digest.subarray(0, t.count * 32), first * 32);
    for (let i = 0; i < t.count; i++) this.traceInode[first + i] = this.traceInodes.intern(t.dev[i], t.ino[i]);
    this.traceFileCount = end;
    this.incarnation = grownI32(this.incarnation, this.traceInodes.size * this.scale);
    this.incarnationIno = grownF64(this.incarnationIno, this.traceInodes.size * this.scale);
    this.current = grownI32(this.current, end * this.scale);
    this.currentFor = grownI32(this.currentFor, end * this.scale, -1);
  }

  /** addTraceTable for a list of files; returns what the session gets now (all of them when passthrough). */
  addTraceBacking(files: readonly BackingFile[]): BackingFile[] {
    if (this.passthrough) return [...files];
    this.addTraceTable(backingTable(files));
    return [];
  }

  /**
   * The session bref of trace version `b` in copy `k` on its inode's current incarnation, made on first use. With
   * `newBytes` it is made anew, and its digest is drawn from the generator (a replacement).
   */
  private sessionBref(b: number, k: number, newBytes = false): number {
    const slot = b * this.scale + k;
    const at = this.traceInode[b] * this.scale + k;
    const n = this.incarnation[at];
    if (this.currentFor[slot] === n && !newBytes) return this.current[slot];
    const out = this.outputFile();
    const t = this.backing;
    // Each copy lives on a device of its own, and injected incarnations on yet another, so none collide.
    const inode = this.traceInode[b];
    t.dev[out] = this.traceInodes.dev(inode) + k * 0x10000 + (n === 0 ? 0 : 0x8000);
    t.ino[out] = n === 0 ? this.traceInodes.ino(inode) : this.incarnationIno[at];
    if (newBytes) {
      for (let i = 0; i < 32; i++) t.digest[out * 32 + i] = Math.floor(this.rng() * 256);
      t.content[out] = -1;
    } else {
      // Every copy and same-bytes incarnation of version b has its digest: one content key, one copy in a session.
      t.digest.set(this.traceDigest.subarray(b * 32, b * 32 + 32), out * 32);
      t.content[out] = b;
    }
    this.current[slot] = this.sessionBrefs;
    this.currentFor[slot] = n;
    return this.sessionBrefs++;
  }

  /** The next row of the output backing table, which grows by doubling. */
  private outputFile(): number {
    const t = this.backing;
    if (t.count === t.dev.length) {
      const size = t.count * 2;
      this.backing = { count: t.count, dev: grownF64(t.dev, size), ino: grownF64(t.ino, size), digest: grownU8(t.digest, size * 32), content: grownI32(t.content, size) };
    }
    return this.backing.count++;
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
  private newIncarnation(b: number, k: number, sameBytes: boolean): number {
    const at = this.traceInode[b] * this.scale + k;
    this.incarnation[at]++;
    this.incarnationIno[at] = ++this.versions;
    return this.sessionBref(b, k, !sameBytes);
  }

  /** Rewrites one trace chunk. The result is valid until the next call (its columns are reused). */
  rewrite(ev: EventColumns): Injected {
    this.backing.count = 0;
    if (this.passthrough) {
      this.emitted += ev.length;
      return { backing: this.backing, events: ev };
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
              bref = this.newIncarnation(b, k, true);
              this.counts.redownloads++;
            } else if (r < redownload + replace) {
              bref = this.newIncarnation(b, k, false);
              this.counts.replacements++;
            } else {
              bref = this.sessionBref(b, k);
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
    return { backing: this.backing, events: sliceColumns(out, 0, n) };
  }
}

/** The injector's output backing table: BackingTable with every column, each its own growable array. */
interface OutputTable {
  count: number;
  dev: Float64Array<ArrayBuffer>;
  ino: Float64Array<ArrayBuffer>;
  digest: Uint8Array<ArrayBuffer>;
  content: Int32Array<ArrayBuffer>;
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
