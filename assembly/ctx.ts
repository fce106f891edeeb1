// One replay context per policy: its connection, inodes, files, daemon table and counters, in linear memory.
// The context being replayed is mirrored in globals so the hot path reads base pointers without a load.
import { THREADED } from "./config";
import { heapAlloc } from "./heap";
import { brefCount, brefTable, inodeCapacity } from "./icache";
import { DI_SIZE, FF_DAEMON_GEN, FF_SIZE, FI_SIZE, IDR_SLOT, UNTRACKED } from "./layout";

// Context header fields. Two cache lines after the counters: what every event reads (set up once, or changed at a
// restart), and fc->lock with what it guards, which backing opens and closes write. Kept apart so that workers of
// the threaded build reading the first line do not miss each time another one takes the lock.
const CTX_COUNTERS: usize = 0; // COUNTER_SLOTS × i64
const CTX_POLICY: usize = 512;
const CTX_DAEMON: usize = 516;
const CTX_MAX_INODES: usize = 520;
const CTX_MAX_FILES: usize = 524;
const CTX_ID_MAX: usize = 532;
const CTX_INODES: usize = 536;
const CTX_DINODES: usize = 540;
const CTX_FILES: usize = 544;
export const CTX_DAEMON_GEN: usize = 548;
/** The daemon's locks, one per stripe of nodeids (threaded build). */
const CTX_DAEMON_LOCKS: usize = 552;
export const CTX_IDR: usize = 556;
export const CTX_IDR_MASK: usize = 560;
/**
 * What each backing inode holds now as this context's replay has seen it (a digest pointer per inode index, 0: its
 * first version), and the table's length. Per context: the policies of a session replay each chunk one after the
 * other, so a table they shared would show a policy the contents of events it has not replayed yet.
 */
const CTX_CONTENT: usize = 564;
const CTX_CONTENT_CAP: usize = 568;
/** fc->lock (threaded build), then what it guards: the idr's cursor and count, the fuse_backing slab. */
const CTX_LOCK: usize = 576;
export const CTX_IDR_CURSOR: usize = 580;
export const CTX_IDR_COUNT: usize = 584;
export const CTX_FB_FREE: usize = 588;
/** The current slab segment: fuse_backing objects and, paired by index, their struct files. */
export const CTX_FB_SEG: usize = 592;
export const CTX_FILE_SEG: usize = 596;
/** Objects handed out from the current segment. */
export const CTX_FB_USED: usize = 600;
export const CTX_LIVE_BACKINGS: usize = 604;
const CTX_SIZE: usize = 640;

// Globals of the entered context.
export let ctx: usize = 0;
export let counters: usize = 0;
export let policy: i32 = 0;
export let daemon: i32 = 0;
export let maxInodes: u32 = 0;
export let maxFiles: u32 = 0;
export let idMax: i32 = 0;
export let inodes: usize = 0;
export let dinodes: usize = 0;
export let files: usize = 0;
export let idr: usize = 0;
export let idrMask: u32 = 0;
export let contents: usize = 0;

/** The idr was replaced by a larger table. */
export function setIdr(table: usize, mask: u32): void {
  idr = table;
  idrMask = mask;
  store<usize>(ctx, table, CTX_IDR);
  store<u32>(ctx, mask, CTX_IDR_MASK);
}

// The shared backing-file table (icache.ts), mirrored at ctxEnter: the host only extends it between replays.
export let brefs: usize = 0;
export let nBrefs: u32 = 0;

/** Slots of a new context's idr; it doubles when half full. */
const IDR_INITIAL_SLOTS: u32 = 1024;

/** Allocates a context; 0 when memory is exhausted. */
export function ctxCreate(policyCode: i32, daemonCode: i32, nInodes: u32, nFiles: u32, maxId: i32): usize {
  const c = heapAlloc(CTX_SIZE);
  if (c == 0) return 0;
  const ino = heapAlloc(<usize>nInodes * FI_SIZE);
  const din = heapAlloc(<usize>nInodes * DI_SIZE);
  const fil = heapAlloc(<usize>nFiles * FF_SIZE);
  const id = heapAlloc(<usize>IDR_INITIAL_SLOTS * IDR_SLOT);
  if (ino == 0 || din == 0 || fil == 0 || id == 0) return 0;
  store<i32>(c, policyCode, CTX_POLICY);
  store<i32>(c, daemonCode, CTX_DAEMON);
  store<u32>(c, nInodes, CTX_MAX_INODES);
  store<u32>(c, nFiles, CTX_MAX_FILES);
  store<i32>(c, maxId, CTX_ID_MAX);
  store<usize>(c, ino, CTX_INODES);
  store<usize>(c, din, CTX_DINODES);
  store<usize>(c, fil, CTX_FILES);
  store<usize>(c, id, CTX_IDR);
  store<u32>(c, IDR_INITIAL_SLOTS - 1, CTX_IDR_MASK);
  for (let f: u32 = 0; f < nFiles; f++) store<i32>(fil + <usize>f * FF_SIZE, UNTRACKED, FF_DAEMON_GEN);
  if (THREADED) {
    const locks = heapAlloc(<usize>DAEMON_LOCK_STRIPES << 6);
    if (locks == 0) return 0;
    store<usize>(c, locks, CTX_DAEMON_LOCKS);
  }
  return c;
}

export function ctxEnter(c: usize): void {
  ctx = c;
  counters = c + CTX_COUNTERS;
  policy = load<i32>(c, CTX_POLICY);
  daemon = load<i32>(c, CTX_DAEMON);
  maxInodes = load<u32>(c, CTX_MAX_INODES);
  maxFiles = load<u32>(c, CTX_MAX_FILES);
  idMax = load<i32>(c, CTX_ID_MAX);
  inodes = load<usize>(c, CTX_INODES);
  dinodes = load<usize>(c, CTX_DINODES);
  files = load<usize>(c, CTX_FILES);
  idr = load<usize>(c, CTX_IDR);
  idrMask = load<u32>(c, CTX_IDR_MASK);
  brefs = brefTable();
  nBrefs = brefCount();
  // The backing table may have grown since the last replay: the content table follows it (zeroed = first versions).
  const need = inodeCapacity();
  let cap = load<u32>(c, CTX_CONTENT_CAP);
  if (cap < need) {
    const grown = heapAlloc(<usize>need << 2);
    if (grown != 0) {
      if (cap > 0) memory.copy(grown, load<usize>(c, CTX_CONTENT), <usize>cap << 2);
      store<usize>(c, grown, CTX_CONTENT);
      store<u32>(c, need, CTX_CONTENT_CAP);
    }
  }
  contents = load<usize>(c, CTX_CONTENT);
}

/** The entered context's counters go to `block` instead (a worker of the threaded build counts apart). */
export function ctxCountInto(block: usize): void {
  counters = block;
}

// ---- locks of the threaded build (no-ops otherwise) ----

/**
 * This instance's (one worker's) acquisitions of fc->lock and failed attempts, in wasm globals, which are the
 * instance's own: counting writes no shared line. The contention benchmark reports them (connection rows).
 */
export let connAcquisitions: i64 = 0;
export let connSpins: i64 = 0;

/** spin_lock(&fc->lock). The idr may have been replaced by another worker: its mirror is reloaded. */
// @ts-ignore: decorator
@inline export function connLock(): void {
  if (THREADED) {
    while (atomic.cmpxchg<i32>(ctx + CTX_LOCK, 0, 1) != 0) connSpins++;
    connAcquisitions++;
    idr = load<usize>(ctx, CTX_IDR);
    idrMask = load<u32>(ctx, CTX_IDR_MASK);
  }
}

// @ts-ignore: decorator
@inline export function connUnlock(): void {
  if (THREADED) store<i32>(ctx + CTX_LOCK, 0); // x86 release store, as spinUnlock in iomode.ts
}

/** Nodeids per daemon lock: a real daemon's per-inode mutex, striped to keep the table small; a line each. */
const DAEMON_LOCK_STRIPES: u32 = 1024;

// @ts-ignore: decorator
@inline function daemonLockWord(nodeid: u32): usize {
  return load<usize>(ctx, CTX_DAEMON_LOCKS) + (<usize>(nodeid & (DAEMON_LOCK_STRIPES - 1)) << 6);
}

// @ts-ignore: decorator
@inline export function daemonLock(nodeid: u32): void {
  if (THREADED) while (atomic.cmpxchg<i32>(daemonLockWord(nodeid), 0, 1) != 0);
}

// @ts-ignore: decorator
@inline export function daemonUnlock(nodeid: u32): void {
  if (THREADED) store<i32>(daemonLockWord(nodeid), 0);
}

/** Adds `delta` to an i32 field that workers of the threaded build update outside any lock. */
// @ts-ignore: decorator
@inline export function addShared(p: usize, delta: i32): i32 {
  if (THREADED) return atomic.add<i32>(p, delta) + delta;
  const v = load<i32>(p) + delta;
  store<i32>(p, v);
  return v;
}

export function ctxCounters(c: usize): usize {
  return c + CTX_COUNTERS;
}

// Counter updates.
// @ts-ignore: decorator
@inline export function inc(counter: i32): void {
  const p = counters + (<usize>counter << 3);
  store<i64>(p, load<i64>(p) + 1);
}

// @ts-ignore: decorator
@inline export function setCounter(counter: i32, value: i64): void {
  store<i64>(counters + (<usize>counter << 3), value);
}

// @ts-ignore: decorator
@inline export function raisePeak(counter: i32, value: i64): void {
  const p = counters + (<usize>counter << 3);
  if (value > load<i64>(p)) store<i64>(p, value);
}

// @ts-ignore: decorator
@inline export function ctxLoad(field: usize): i32 {
  return load<i32>(ctx + field);
}

// @ts-ignore: decorator
@inline export function ctxStore(field: usize, value: i32): void {
  store<i32>(ctx + field, value);
}

// @ts-ignore: decorator
@inline export function inodeAt(nodeid: u32): usize {
  return inodes + <usize>nodeid * FI_SIZE;
}

// @ts-ignore: decorator
@inline export function dinodeAt(nodeid: u32): usize {
  return dinodes + <usize>nodeid * DI_SIZE;
}

// @ts-ignore: decorator
@inline export function fileAt(fh: u32): usize {
  return files + <usize>fh * FF_SIZE;
}

