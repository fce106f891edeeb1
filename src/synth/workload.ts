// The workload's state machine: which files are looked up under which nodeid, which fh slots are open, and the
// current backing version of every file. All state is in typed arrays sized by inodes and maxOpenFiles, so a
// trace of any length streams through in constant memory and no object is made per event.
import { FOPEN_DIRECT_IO, FOPEN_PASSTHROUGH, OP_FORGET, OP_LOOKUP, OP_OPEN, OP_RELEASE } from "../abi.js";
import type { TraceBackingFile, TraceChunk } from "../trace/types.js";
import { backingFile, initialBackingFiles } from "./content.js";
import type { ResolvedSynthOptions } from "./options.js";
import { expDraw, seedKey, TWO_32, Xoshiro128 } from "../rng.js";
import { ZipfSampler } from "./zipf.js";

/** First pid of the openers; FORGET and LOOKUP rows (the kernel's doing) carry pid 0. */
export const PID_BASE = 1000;
/** st_ino of file f's first version is INO_BASE + f; later versions count on from INO_BASE + inodes. */
export const INO_BASE = 1 << 20;
/**
 * nodeids beyond one per file. With a spare, a file that needs a nodeid always has at least two free ones to
 * choose from, so allocNodeid can pass over the one the file itself just lost to FORGET: a forgotten nodeid
 * goes to another file rather than straight back to its old one.
 */
export const SPARE_NODEIDS = 1;
/** How deep allocNodeid looks for a nodeid last held by another file before settling for the top one. */
const REUSE_SCAN = 8;

const O_WRONLY = 1;
const O_RDWR = 2;
const NONE = -1;

export class Workload {
  private readonly rng: Xoshiro128;
  private readonly zipf: ZipfSampler;
  /** Key of the content hashes: digests and sizes depend on the seed, not on the PRNG's position. */
  private readonly key: number;

  // Per-draw thresholds, as uint32 (a draw u happens when u < threshold).
  private readonly forgetBelow: number;
  private readonly writeBelow: number;
  private readonly replaceBelow: number;
  /** replaceBelow + the re-download band. */
  private readonly versionBelow: number;
  private readonly directBelow: number;
  /** directBelow + the cached band. */
  private readonly replyBelow: number;
  /** 2^32 / meanOpenEvents: releasing with probability K / meanOpenEvents gives each open file hazard 1/mean. */
  private readonly releaseScale: number;
  private readonly maxOpen: number;
  private readonly openers: number;
  private readonly meanGap: number;

  // Per file.
  /** The file's nodeid while looked up, else NONE. */
  private readonly nodeOf: Int32Array;
  /** bref of the file's current backing version. */
  private readonly brefOf: Uint32Array;
  /** Content version: bumped by a replacement, kept by a re-download. */
  private readonly versionOf: Uint32Array;

  // Per nodeid.
  private readonly owner: Int32Array;
  /** The file that held the nodeid before its last FORGET. */
  private readonly lastOwner: Int32Array;
  private readonly nopen: Uint32Array;
  /** Looked-up nodeids with no open file, the FORGET candidates: a dense set with positions for O(1) removal. */
  private readonly idle: Uint32Array;
  private readonly idlePos: Int32Array;
  private idleCount = 0;
  /** Unassigned nodeids, a stack: the last forgotten is the first reused (as a freed inode's memory would be). */
  private readonly freeNodeids: Uint32Array;
  private freeNodeidCount: number;

  // Per fh slot.
  private readonly nodeOfFh: Uint32Array;
  private readonly pidOfFh: Uint32Array;
  /** Open fhs, a dense set with positions for O(1) removal of a random one. */
  private readonly openFhs: Uint32Array;
  private readonly openPos: Uint32Array;
  private openCount = 0;
  /** Free fhs, a stack: low slots are reused first, as the lowest free fd would be. */
  private readonly freeFhs: Uint32Array;
  private freeFhCount: number;

  // The backing table.
  private tableLength: number;
  private nextIno: number;
  /** Versions made since the last takeNewBacking(), in bref order. */
  private fresh: TraceBackingFile[] = [];

  /** µs since the first event. */
  private now = 0;
  private emitted = 0;

  constructor(private readonly o: ResolvedSynthOptions) {
    this.rng = new Xoshiro128(o.seed);
    this.key = seedKey(o.seed) ^ 0x5bd1e995;
    this.zipf = new ZipfSampler(o.inodes, o.skew);

    this.forgetBelow = o.forgetRate * TWO_32;
    this.writeBelow = o.writeFraction * TWO_32;
    this.replaceBelow = o.replaceRate * TWO_32;
    this.versionBelow = (o.replaceRate + o.redownloadRate) * TWO_32;
    this.directBelow = o.directIoFraction * TWO_32;
    this.replyBelow = (o.directIoFraction + o.cachedFraction) * TWO_32;
    this.releaseScale = TWO_32 / o.meanOpenEvents;
    this.maxOpen = o.maxOpenFiles;
    this.openers = o.concurrentOpeners;
    this.meanGap = o.meanGapUs;

    const files = o.inodes;
    this.nodeOf = new Int32Array(files).fill(NONE);
    this.brefOf = new Uint32Array(files);
    for (let f = 0; f < files; f++) this.brefOf[f] = f;
    this.versionOf = new Uint32Array(files);

    const nodeids = files + SPARE_NODEIDS;
    this.owner = new Int32Array(nodeids).fill(NONE);
    this.lastOwner = new Int32Array(nodeids).fill(NONE);
    this.nopen = new Uint32Array(nodeids);
    this.idle = new Uint32Array(nodeids);
    this.idlePos = new Int32Array(nodeids).fill(NONE);
    this.freeNodeids = new Uint32Array(nodeids);
    for (let i = 0; i < nodeids; i++) this.freeNodeids[i] = nodeids - 1 - i; // nodeid 0 on top
    this.freeNodeidCount = nodeids;

    const fhs = o.maxOpenFiles;
    this.nodeOfFh = new Uint32Array(fhs);
    this.pidOfFh = new Uint32Array(fhs);
    this.openFhs = new Uint32Array(fhs);
    this.openPos = new Uint32Array(fhs);
    this.freeFhs = new Uint32Array(fhs);
    for (let i = 0; i < fhs; i++) this.freeFhs[i] = fhs - 1 - i; // fh 0 on top
    this.freeFhCount = fhs;

    this.tableLength = files;
    this.nextIno = INO_BASE + files;
  }

  /** The first version of every file: bref f is file f. */
  initialBacking(): TraceBackingFile[] {
    return initialBackingFiles(this.key, this.o.inodes, INO_BASE);
  }

  /** Backing versions created since the last call; they must reach the consumer before the rows that name them. */
  takeNewBacking(): TraceBackingFile[] {
    const fresh = this.fresh;
    this.fresh = [];
    return fresh;
  }

  /** Fills every row of `c` (fresh, zeroed columns); `remaining` counts the events left including these rows. */
  fill(c: TraceChunk, remaining: number): void {
    for (let i = 0; i < c.length; i++) {
      if (this.emitted++ > 0) { // the trace's first event has dt 0
        const dt = this.gap();
        c.dt[i] = dt;
        this.now += dt;
      }
      if (i === 0) c.t0 = this.now;
      this.step(c, i, remaining - i);
    }
  }

  /**
   * One event. The tail is planned so the trace ends with every file closed: an event may never leave more
   * files open than events remain after it, so once remaining equals the open count only releases follow.
   */
  private step(c: TraceChunk, i: number, remaining: number): void {
    const open = this.openCount;
    if (open >= remaining) return this.release(c, i);
    const canOpen = open < this.maxOpen && remaining >= open + 2;
    if (this.idleCount > 0 && this.forgetBelow > 0 && this.rng.next() < this.forgetBelow) return this.forget(c, i);
    if (open > 0 && (!canOpen || this.rng.next() < open * this.releaseScale)) return this.release(c, i);
    if (canOpen) return this.open(c, i);
    // One event left and nothing open: only a FORGET or a LOOKUP leaves the trace valid and closed.
    if (this.idleCount > 0) return this.forget(c, i);
    this.lookup(c, i);
  }

  private open(c: TraceChunk, i: number): void {
    const file = this.zipf.sample(this.rng);
    const nodeid = this.lookedUp(file);
    this.maybeNewVersion(file);
    if (this.nopen[nodeid]++ === 0) this.idleRemove(nodeid);
    const fh = this.freeFhs[--this.freeFhCount];
    this.openPos[fh] = this.openCount;
    this.openFhs[this.openCount++] = fh;
    const pid = PID_BASE + this.rng.below(this.openers);
    this.nodeOfFh[fh] = nodeid;
    this.pidOfFh[fh] = pid;
    c.op[i] = OP_OPEN;
    c.nodeid[i] = nodeid;
    c.fh[i] = fh;
    c.bref[i] = this.brefOf[file];
    c.oflags[i] = this.accessMode();
    c.fopen[i] = this.reply();
    c.pid[i] = pid;
  }

  /** A uniformly chosen open file: every open file has the same chance, so lifetimes are geometric. */
  private release(c: TraceChunk, i: number): void {
    const fh = this.openFhs[this.rng.below(this.openCount)];
    const last = this.openFhs[--this.openCount];
    this.openFhs[this.openPos[fh]] = last;
    this.openPos[last] = this.openPos[fh];
    this.freeFhs[this.freeFhCount++] = fh;
    const nodeid = this.nodeOfFh[fh];
    if (--this.nopen[nodeid] === 0) this.idleAdd(nodeid);
    c.op[i] = OP_RELEASE;
    c.nodeid[i] = nodeid; // not needed to replay, kept for whoever reads the trace
    c.fh[i] = fh;
    c.pid[i] = this.pidOfFh[fh];
  }

  /** FORGET of a random idle nodeid: its file is no longer looked up and the nodeid is free for another. */
  private forget(c: TraceChunk, i: number): void {
    const nodeid = this.idle[this.rng.below(this.idleCount)];
    this.idleRemove(nodeid);
    const file = this.owner[nodeid];
    this.nodeOf[file] = NONE;
    this.owner[nodeid] = NONE;
    this.lastOwner[nodeid] = file;
    this.freeNodeids[this.freeNodeidCount++] = nodeid;
    c.op[i] = OP_FORGET;
    c.nodeid[i] = nodeid;
  }

  /** A bare LOOKUP, only ever the last event of a trace that has nothing else valid to end with. */
  private lookup(c: TraceChunk, i: number): void {
    const file = this.zipf.sample(this.rng);
    const nodeid = this.lookedUp(file);
    if (this.nopen[nodeid] === 0 && this.idlePos[nodeid] === NONE) this.idleAdd(nodeid);
    c.op[i] = OP_LOOKUP;
    c.nodeid[i] = nodeid;
    c.bref[i] = this.brefOf[file];
    c.fopen[i] = FOPEN_PASSTHROUGH;
  }

  /** The file's nodeid, giving it one if it has none (the open's implicit LOOKUP). */
  private lookedUp(file: number): number {
    const nodeid = this.nodeOf[file];
    return nodeid !== NONE ? nodeid : this.allocNodeid(file);
  }

  /** Pops a free nodeid, preferring one this file did not hold last, so FORGET really leads to reuse by another file. */
  private allocNodeid(file: number): number {
    const stack = this.freeNodeids;
    const top = this.freeNodeidCount - 1;
    const bottom = Math.max(0, top - REUSE_SCAN + 1);
    for (let j = top; j >= bottom; j--) {
      if (this.lastOwner[stack[j]] !== file) {
        const t = stack[j];
        stack[j] = stack[top];
        stack[top] = t;
        break;
      }
    }
    const nodeid = stack[--this.freeNodeidCount];
    this.owner[nodeid] = file;
    this.nodeOf[file] = nodeid;
    return nodeid;
  }

  /** Per open: the file may have been replaced (new inode, new content) or re-downloaded (new inode, same content). */
  private maybeNewVersion(file: number): void {
    if (this.versionBelow === 0) return;
    const u = this.rng.next();
    if (u >= this.versionBelow) return;
    if (u < this.replaceBelow) this.versionOf[file]++;
    this.brefOf[file] = this.tableLength++;
    this.fresh.push(backingFile(this.key, file, this.versionOf[file], this.nextIno++));
  }

  private accessMode(): number {
    if (this.writeBelow === 0) return 0;
    const u = this.rng.next();
    if (u >= this.writeBelow) return 0;
    return (u & 1) === 0 ? O_WRONLY : O_RDWR;
  }

  private reply(): number {
    if (this.replyBelow === 0) return FOPEN_PASSTHROUGH;
    const u = this.rng.next();
    if (u < this.directBelow) return FOPEN_DIRECT_IO;
    return u < this.replyBelow ? 0 : FOPEN_PASSTHROUGH;
  }

  /** An exponential gap in whole µs (at most 2^32-1, the dt column's range). */
  private gap(): number {
    if (this.meanGap === 0) return 0;
    return Math.min(Math.floor(expDraw(this.rng.next()) * this.meanGap + 0.5), 0xffffffff);
  }

  private idleAdd(nodeid: number): void {
    this.idlePos[nodeid] = this.idleCount;
    this.idle[this.idleCount++] = nodeid;
  }

  private idleRemove(nodeid: number): void {
    const pos = this.idlePos[nodeid];
    if (pos === NONE) return; // a nodeid given out at this open was never idle
    const last = this.idle[--this.idleCount];
    this.idle[pos] = last;
    this.idlePos[last] = pos;
    this.idlePos[nodeid] = NONE;
  }
}
