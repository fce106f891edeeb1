// The connection's backing files (spec §a.1, §a.2, §b.1, §b.2, §b.13): the idr of ids and the fuse_backing slab.
import {
  C_BACKING_CLOSES, C_BACKING_FREES, C_BACKING_OPENS, C_ENOSPC, C_LIVE_BACKINGS, C_LIVE_IDS, C_PEAK_BACKINGS,
  C_PEAK_IDS, EINVAL, ENOENT, ENOSPC,
} from "../src/abi";
import { THREADED } from "./config";
import {
  CTX_IDR_COUNT, CTX_IDR_CURSOR, CTX_LIVE_BACKINGS, connLock,
  connUnlock, ctxLoad, ctxStore, idMax, idr, idrMask, inc, raisePeak, setCounter, setIdr,
} from "./ctx";
import { heapAlloc } from "./heap";
import { igrab, iput } from "./icache";
import { BR_DIGEST, BR_INODE_INDEX, F_INODE, FB_COUNT, FB_DIGEST, FB_FILE, FB_INODE_INDEX, IDR_SLOT } from "./layout";
import { fbGive, fbTake } from "./slab";

/** Set when memory cannot grow: the replay stops and the host reports it (never a silent wrong count). */
export let backingCapacityExceeded = false;

export function resetCapacityFlag(): void {
  backingCapacityExceeded = false;
}

// ---- fuse_backing objects (their slab: slab.ts) ----
// In the threaded build the idr and the backing inodes are changed only under the connection's lock, reference
// counts are atomic (refcount_t), and each worker has a slab cache of its own.

/**
 * A new fuse_backing for file version `bref`, with one reference, under the connection's lock: `taken` is an
 * object the caller took from the slab before the lock (as the kernel's kmalloc comes before fc->lock), or 0.
 */
function fbAlloc(bref: usize, taken: usize): usize {
  const inode = igrab(bref);
  if (inode == 0) {
    if (taken != 0) fbGive(taken);
    return 0;
  }
  const fb = taken != 0 ? taken : fbTake();
  if (fb == 0) {
    iput(inode);
    return 0;
  }
  const file = load<usize>(fb, FB_FILE);
  store<usize>(file, inode, F_INODE);
  store<i32>(fb, 1, FB_COUNT);
  store<usize>(fb, load<usize>(bref, BR_DIGEST), FB_DIGEST);
  store<u32>(fb, load<u32>(bref, BR_INODE_INDEX), FB_INODE_INDEX);
  const live = ctxLoad(CTX_LIVE_BACKINGS) + 1;
  ctxStore(CTX_LIVE_BACKINGS, live);
  setCounter(C_LIVE_BACKINGS, live);
  raisePeak(C_PEAK_BACKINGS, live);
  return fb;
}

function fbFree(fb: usize): void {
  iput(load<usize>(load<usize>(fb, FB_FILE), F_INODE));
  fbGive(fb);
  const live = ctxLoad(CTX_LIVE_BACKINGS) - 1;
  ctxStore(CTX_LIVE_BACKINGS, live);
  setCounter(C_LIVE_BACKINGS, live);
  inc(C_BACKING_FREES);
}

// @ts-ignore: decorator
@inline export function backingGet(fb: usize): usize {
  if (THREADED) atomic.add<i32>(fb + FB_COUNT, 1);
  else store<i32>(fb, load<i32>(fb, FB_COUNT) + 1, FB_COUNT);
  return fb;
}

/** refcount_dec_and_test: true when this put dropped the last reference. */
// @ts-ignore: decorator
@inline function dropReference(fb: usize): bool {
  assert(load<i32>(fb, FB_COUNT) > 0, "fuse_backing put with count 0");
  if (THREADED) return atomic.sub<i32>(fb + FB_COUNT, 1) == 1;
  const count = load<i32>(fb, FB_COUNT) - 1;
  store<i32>(fb, count, FB_COUNT);
  return count == 0;
}

export function backingPut(fb: usize): void {
  if (dropReference(fb)) {
    connLock();
    fbFree(fb);
    connUnlock();
  }
}

/** A put with the connection's lock held. */
function backingPutLocked(fb: usize): void {
  if (dropReference(fb)) fbFree(fb);
}

/** refcount_inc_not_zero: a dying object (count 0) gets no new reference. */
// @ts-ignore: decorator
@inline function getUnlessZero(fb: usize): bool {
  if (!THREADED) {
    const count = load<i32>(fb, FB_COUNT);
    if (count == 0) return false;
    store<i32>(fb, count + 1, FB_COUNT);
    return true;
  }
  let count = atomic.load<i32>(fb + FB_COUNT);
  while (count != 0) {
    const seen = atomic.cmpxchg<i32>(fb + FB_COUNT, count, count + 1);
    if (seen == count) return true;
    count = seen;
  }
  return false;
}

// ---- the idr: open addressing keyed by id ----
// Cyclic ids are sequential, and ids a restarted daemon leaked stay registered: with `id & mask` as the home slot
// they fill one contiguous run, and every insert or removal walks it (measured: 6 µs per event on a scaled bundled
// trace). Fibonacci hashing scatters consecutive ids across the table, so runs stay short.

// @ts-ignore: decorator
@inline function idrSlot(id: i32): usize {
  return idr + <usize>((<u32>id * 0x9e3779b9) >>> clz<u32>(idrMask)) * IDR_SLOT;
}

// @ts-ignore: decorator
@inline function idrNext(slot: usize): usize {
  return idr + (((slot - idr) / IDR_SLOT + 1) & idrMask) * IDR_SLOT;
}

/** The slot holding `id`, or 0. */
function idrFind(id: i32): usize {
  let slot = idrSlot(id);
  while (true) {
    const key = load<i32>(slot);
    if (key == id) return slot;
    if (key == 0) return 0;
    slot = idrNext(slot);
  }
}

/** Doubles the table when it would pass half full, so probe chains stay short. 0 when memory is exhausted. */
function idrReserve(count: i32): bool {
  const slots = <usize>idrMask + 1;
  if (<usize>(count + 1) * 2 <= slots) return true;
  const oldTable = idr;
  const table = heapAlloc(slots * 2 * IDR_SLOT);
  if (table == 0) return false;
  setIdr(table, <u32>(slots * 2 - 1));
  for (let i: usize = 0; i < slots; i++) {
    const slot = oldTable + i * IDR_SLOT;
    const id = load<i32>(slot);
    if (id != 0) idrInsert(id, load<usize>(slot, 4));
  }
  return true;
}

function idrInsert(id: i32, fb: usize): void {
  let slot = idrSlot(id);
  while (load<i32>(slot) != 0) slot = idrNext(slot);
  store<i32>(slot, id);
  store<usize>(slot, fb, 4);
}

/** Removes the entry at `slot`, shifting later entries of its probe chain back (no tombstones). */
function idrRemoveSlot(slot: usize): void {
  let hole = slot;
  let next = idrNext(hole);
  while (true) {
    const key = load<i32>(next);
    if (key == 0) break;
    const home = idrSlot(key);
    // Move `next` into the hole unless its home lies cyclically in (hole, next].
    const h = (hole - idr) / IDR_SLOT;
    const n = (next - idr) / IDR_SLOT;
    const m = (home - idr) / IDR_SLOT;
    const stays = h <= n ? (h < m && m <= n) : (h < m || m <= n);
    if (!stays) {
      store<i32>(hole, key);
      store<usize>(hole, load<usize>(next, 4), 4);
      hole = next;
    }
    next = idrNext(next);
  }
  store<i32>(hole, 0);
  store<usize>(hole, 0, 4);
}

// spec §a.1: the smallest free id above the cursor, wrapping to 1 after idMax; 0 is never handed out.
function idrAllocCyclic(fb: usize): i32 {
  const count = ctxLoad(CTX_IDR_COUNT);
  if (count >= idMax) return -ENOSPC;
  if (!idrReserve(count)) {
    backingCapacityExceeded = true;
    return -ENOSPC;
  }
  let id = ctxLoad(CTX_IDR_CURSOR);
  do {
    id = id >= idMax ? 1 : id + 1;
  } while (idrFind(id) != 0);
  idrInsert(id, fb);
  ctxStore(CTX_IDR_CURSOR, id);
  ctxStore(CTX_IDR_COUNT, count + 1);
  setCounter(C_LIVE_IDS, count + 1);
  raisePeak(C_PEAK_IDS, count + 1);
  return id;
}

/** FUSE_DEV_IOC_BACKING_OPEN (spec §b.1): a new fuse_backing per call, no dedup. Returns the id or -errno. */
export function backingOpen(bref: usize): i32 {
  inc(C_BACKING_OPENS);
  // The kernel allocates the fuse_backing (kmalloc, per-CPU) before it takes fc->lock for the idr.
  const taken = THREADED ? fbTake() : 0;
  connLock();
  const fb = THREADED && taken == 0 ? 0 : fbAlloc(bref, taken);
  if (fb == 0) {
    connUnlock();
    backingCapacityExceeded = true;
    return -ENOSPC;
  }
  const id = idrAllocCyclic(fb);
  if (id < 0) {
    inc(C_ENOSPC);
    backingPutLocked(fb);
  }
  connUnlock();
  return id;
}

/**
 * FUSE_DEV_IOC_BACKING_OPEN with FUSE_BACKING_ID_64 and a server-chosen id (spec §i.2; Miklos's fuse tree @ 1348e0a6,
 * fs/fuse/backing.c, fuse_backing_add_64: rhashtable_insert_fast, no duplicate check; the twin in src/model/kernel.ts
 * says what a duplicate would do), made only when no registration of `id` exists: the stable-id daemon's check and
 * its registration are one step under the connection's lock, so threads never make a duplicate. Returns 1 when it
 * registered, 0 when the id was there, -1 when memory is exhausted.
 */
export function backingOpenIfAbsent(bref: usize, id: i32): i32 {
  connLock();
  if (idrFind(id) != 0) {
    connUnlock();
    return 0;
  }
  inc(C_BACKING_OPENS);
  const fb = fbAlloc(bref, 0);
  const count = ctxLoad(CTX_IDR_COUNT);
  if (fb == 0 || !idrReserve(count)) {
    if (fb != 0) backingPutLocked(fb);
    connUnlock();
    backingCapacityExceeded = true;
    return -1;
  }
  idrInsert(id, fb);
  ctxStore(CTX_IDR_COUNT, count + 1);
  setCounter(C_LIVE_IDS, count + 1);
  raisePeak(C_PEAK_IDS, count + 1);
  connUnlock();
  return 1;
}

/**
 * A recorded FUSE_DEV_IOC_BACKING_OPEN that the kernel answered with `recorded`: the idr allocates as the kernel's
 * would; when its id differs (or this registration fails here), the entry moves to the recorded id so the opens
 * that name it find it. Returns false on a difference (the caller counts it).
 */
export function backingOpenRecorded(bref: usize, recorded: i32): bool {
  const id = backingOpen(bref);
  if (id == recorded) return true;
  connLock();
  if (id > 0 && recorded > 0 && idrFind(recorded) == 0) {
    const slot = idrFind(id);
    const fb = load<usize>(slot, 4);
    idrRemoveSlot(slot);
    idrInsert(recorded, fb);
    ctxStore(CTX_IDR_CURSOR, recorded);
  }
  connUnlock();
  return false;
}

/** FUSE_DEV_IOC_BACKING_CLOSE (spec §b.2): open files and inode fbs are unaffected. */
export function backingClose(id: i32): i32 {
  if (id <= 0) return -EINVAL;
  connLock();
  const slot = idrFind(id);
  if (slot == 0) {
    connUnlock();
    return -ENOENT;
  }
  const fb = load<usize>(slot, 4);
  idrRemoveSlot(slot);
  const count = ctxLoad(CTX_IDR_COUNT) - 1;
  ctxStore(CTX_IDR_COUNT, count);
  setCounter(C_LIVE_IDS, count);
  inc(C_BACKING_CLOSES);
  backingPutLocked(fb);
  connUnlock();
  return 0;
}

/** FUSE_DEV_IOC_BACKING_CLOSE_ALL (spec §b.13, v2/v3): a fresh idr, the cursor back to the start. */
export function backingCloseAll(): void {
  connLock();
  const slots = <usize>idrMask + 1;
  for (let i: usize = 0; i < slots; i++) {
    const slot = idr + i * IDR_SLOT;
    if (load<i32>(slot) != 0) {
      const fb = load<usize>(slot, 4);
      store<i32>(slot, 0);
      store<usize>(slot, 0, 4);
      backingPutLocked(fb);
    }
  }
  ctxStore(CTX_IDR_CURSOR, 0);
  ctxStore(CTX_IDR_COUNT, 0);
  setCounter(C_LIVE_IDS, 0);
  connUnlock();
}

/** fuse_backing_lookup: a reference only if the object is not already dying. Returns 0 if there is none. */
export function backingLookup(id: i32): usize {
  connLock(); // the kernel reads the idr under RCU; the model's table is not RCU-safe, so it takes the lock
  const slot = idrFind(id);
  const fb: usize = slot == 0 ? 0 : load<usize>(slot, 4);
  const got = fb != 0 && getUnlessZero(fb);
  connUnlock();
  return got ? fb : 0;
}

/** Live ids, for the invariant check. */
export function liveIds(): i32 {
  return ctxLoad(CTX_IDR_COUNT);
}

export function liveBackings(): i32 {
  return ctxLoad(CTX_LIVE_BACKINGS);
}
