// The exported surface of the core. The host (src/replay/wasm.ts) builds the backing-file table once, one
// context per policy, and then hands over chunks of event columns; it never calls per event.
import { C_LIVE_BACKINGS, C_LIVE_IDS, C_OPEN_AT_END, COUNTER_SLOTS } from "../src/abi";
import { liveBackings, liveIds, resetCapacityFlag } from "./backing";
import {
  connAcquisitions, connSpins, ctxCountInto, ctxCounters, ctxCreate, ctxEnter, fileAt, inodeAt, maxFiles, maxInodes, setCounter,
} from "./ctx";
import { checkBatch, checkSetup } from "./checkbench";
import { connectionCycles, contentionCandidates } from "./contention";
import { heapAlloc } from "./heap";
import { hasState } from "./iomode";
import {
  FB_COUNT, FF_STATE, FI_ALIVE, FI_FB, FI_IOCACHECTR, FI_NFILES, FI_WRITERS, FILE_OPEN, FUSE_I_BACKING,
  FUSE_I_CACHE_IO_MODE,
} from "./layout";
import { backingFileAdd, backingInodeDefine, backingReserve, superBlockNew } from "./icache";
import { evict, replayRows } from "./replay";
import { scanRows } from "./scan";

export { scanElapsed, scanMaxFh, scanMaxNodeid } from "./scan";

// ---- the backing-file table (shared by every context; it grows as a trace extends it) ----

/** Room for `inodes` backing inodes and `files` file versions in all; entries already added are kept. */
export function backing_reserve(inodes: u32, files: u32): bool {
  return backingReserve(inodes, files);
}

/** A backing file system's super_block; 0 when memory is exhausted. */
export function backing_sb_new(dev: u32): usize {
  return superBlockNew(dev);
}

/** Names backing inode `index` (one per st_dev/st_ino: comparing them is comparing file_inode()). */
export function backing_inode_define(index: u32, sb: usize, ino: f64): void {
  backingInodeDefine(index, sb, ino);
}

/** Appends a file version of backing inode `index` as the next bref; returns where its 32-byte digest goes. */
export function backing_file_add(index: u32): usize {
  return backingFileAdd(index);
}

/** Appends a file version of backing inode `index` whose content is the digest at `digest`, added before. */
export function backing_file_share(index: u32, digest: usize): usize {
  return backingFileAdd(index, digest);
}

// ---- event columns ----

let columns: usize = 0;
let columnCapacity: u32 = 0;

/** Seven columns of `capacity` rows: op (u8), then nodeid, fh, bref, oflags, fopen, bid (u32). 0 on failure. */
export function events_create(capacity: u32): usize {
  columnCapacity = capacity;
  columns = heapAlloc(<usize>capacity * 25 + 64 * 7);
  return columns;
}

export function events_column(k: u32): usize {
  const u8Bytes = (<usize>columnCapacity + 63) & ~(<usize>63);
  const u32Bytes = (<usize>columnCapacity * 4 + 63) & ~(<usize>63);
  return k == 0 ? columns : columns + u8Bytes + <usize>(k - 1) * u32Bytes;
}

// ---- contexts ----

export function ctx_create(policy: i32, daemon: i32, maxInodes: u32, maxFiles: u32, idMax: i32): usize {
  return ctxCreate(policy, daemon, maxInodes, maxFiles, idMax);
}

export function ctx_counters(ctx: usize): usize {
  return ctxCounters(ctx);
}

/** Replays the first n rows of the event columns; returns n, or fewer when memory could not grow. */
export function replay(ctx: usize, n: u32): u32 {
  ctxEnter(ctx);
  resetCapacityFlag();
  return replayRows(
    events_column(0), events_column(1), events_column(2), events_column(3), events_column(4), events_column(5),
    events_column(6), n,
  );
}

/**
 * Replays n rows of event columns anywhere in memory: a chunk the trace reader read into a slot of host_alloc'd
 * memory (src/replay/sink.ts) is replayed where it landed. `bid` must hold n rows (zeros when none were recorded).
 */
export function replay_columns(
  ctx: usize, op: usize, nodeid: usize, fh: usize, bref: usize, oflags: usize, fopen: usize, bid: usize, n: u32,
): u32 {
  ctxEnter(ctx);
  resetCapacityFlag();
  return replayRows(op, nodeid, fh, bref, oflags, fopen, bid, n);
}

/** The trace reader's row checks over a chunk in memory (assembly/scan.ts); the first bad row or -1. */
export function scan_rows(
  op: usize, nodeid: usize, fh: usize, bref: usize, bid: usize, verdict: usize, dt: usize, n: u32,
  backingFiles: u32, maxNodeid: u32, maxFh: u32, maxVerdict: u32,
): i32 {
  return scanRows(op, nodeid, fh, bref, bid, verdict, dt, n, backingFiles, maxNodeid, maxFh, maxVerdict);
}

// ---- workers of the threaded build: each instance has its own event columns and counters ----

/** A zeroed block of COUNTER_SLOTS counters; 0 when memory is exhausted. */
export function counters_create(): usize {
  return heapAlloc(<usize>COUNTER_SLOTS << 3);
}

/**
 * Replays rows [first, first + n) of this instance's event columns, counting into `counters` (from
 * counters_create) instead of the context's own block. A worker loads all its rows once and replays them in calls
 * of about a million rows (V8 moves a running call to optimized code only when it is entered again).
 */
export function replay_worker(ctx: usize, counters: usize, first: u32, n: u32): u32 {
  ctxEnter(ctx);
  ctxCountInto(counters);
  resetCapacityFlag();
  const at = <usize>first << 2;
  return replayRows(
    events_column(0) + <usize>first, events_column(1) + at, events_column(2) + at, events_column(3) + at,
    events_column(4) + at, events_column(5) + at, events_column(6) + at, n,
  );
}

/** Counts files still open into C_OPEN_AT_END, and sets the live counts from the connection's own. */
export function ctx_finish(ctx: usize): void {
  ctxEnter(ctx);
  let open: i64 = 0;
  for (let fh: u32 = 0; fh < maxFiles; fh++) if (load<i32>(fileAt(fh), FF_STATE) == FILE_OPEN) open++;
  setCounter(C_OPEN_AT_END, open);
  setCounter(C_LIVE_BACKINGS, liveBackings());
  setCounter(C_LIVE_IDS, liveIds());
}

/** Ends every inode instance with no open files, as umount does. */
export function ctx_unmount(ctx: usize): void {
  ctxEnter(ctx);
  for (let nodeid: u32 = 0; nodeid < maxInodes; nodeid++) {
    const fi = inodeAt(nodeid);
    if (load<i32>(fi, FI_ALIVE) != 0 && load<i32>(fi, FI_NFILES) == 0) evict(nodeid);
  }
}

/** The first inode that broke an invariant in the last ctx_violations call, or -1. */
export let firstViolation: i32 = -1;

/** Invariants of spec §a.3 / §b.9, as in the reference model: the number of broken ones. */
export function ctx_violations(ctx: usize): u32 {
  ctxEnter(ctx);
  firstViolation = -1;
  let broken: u32 = 0;
  let held: i32 = 0;
  for (let nodeid: u32 = 0; nodeid < maxInodes; nodeid++) {
    const fi = inodeAt(nodeid);
    const fb = load<usize>(fi, FI_FB);
    if (fb != 0) held++;
    if (load<i32>(fi, FI_NFILES) != 0) continue;
    const lookupHold = hasState(fi, FUSE_I_BACKING);
    let bad = load<i32>(fi, FI_IOCACHECTR) != (lookupHold ? -1 : 0);
    bad = bad || ((fb != 0) != lookupHold);
    bad = bad || (fb != 0 && load<i32>(fb, FB_COUNT) < 1);
    bad = bad || hasState(fi, FUSE_I_CACHE_IO_MODE);
    bad = bad || load<i32>(fi, FI_WRITERS) != 0;
    if (bad) {
      if (firstViolation < 0) firstViolation = <i32>nodeid;
      broken++;
    }
  }
  let open = false;
  for (let fh: u32 = 0; fh < maxFiles; fh++) if (load<i32>(fileAt(fh), FF_STATE) == FILE_OPEN) open = true;
  if (!open && liveBackings() != liveIds() + held) broken++;
  return broken;
}

// ---- the cost-per-check benchmark ----

/** Gives nodeids [0, n) of `ctx` a cached and a candidate fuse_backing; returns the candidate table or 0. */
export function check_setup(ctx: usize, n: u32): usize {
  ctxEnter(ctx);
  return checkSetup(n);
}

/** `count` locked conflict checks under `ctx`'s policy; returns how many conflict. */
export function check_batch(ctx: usize, candidates: usize, order: usize, mask: u32, count: u32): u32 {
  ctxEnter(ctx);
  return checkBatch(candidates, order, mask, count);
}

// ---- the contention benchmark (threaded build; assembly/contention.ts) ----

/** A worker's own candidates for nodeids [first, first + n) of `ctx`, counting into `counters`; 0 if out of memory. */
export function contention_candidates(ctx: usize, counters: usize, first: u32, n: u32): usize {
  ctxEnter(ctx);
  ctxCountInto(counters);
  return contentionCandidates(first, n);
}

/** check_batch by a worker, counting its lock acquisitions and spins into its own `counters`. */
export function contention_checks(ctx: usize, counters: usize, candidates: usize, order: usize, mask: u32, count: u32): u32 {
  ctxEnter(ctx);
  ctxCountInto(counters);
  return checkBatch(candidates, order, mask, count);
}

/** `count` BACKING_OPEN + BACKING_CLOSE cycles of file version `bref` by a worker; returns the cycles made. */
export function contention_cycles(ctx: usize, counters: usize, bref: u32, count: u32): u32 {
  ctxEnter(ctx);
  ctxCountInto(counters);
  return connectionCycles(bref, count);
}

/** This instance's fc->lock acquisitions and failed attempts so far (threaded build; 0 otherwise). */
export function conn_lock_acquisitions(): f64 {
  return <f64>connAcquisitions;
}

export function conn_lock_spins(): f64 {
  return <f64>connSpins;
}

/** Scratch memory for the host (the benchmark's visiting order); 0 when memory is exhausted. */
export function host_alloc(bytes: u32): usize {
  return heapAlloc(bytes);
}

/** Does nothing: the host times it to report the cost of one JS→wasm call on its own. */
export function call_nop(): void {}
