// The io-mode state machine of fs/fuse/iomode.c (spec §b.3–§b.9, §b.13), over the layouts of layout.ts.
// Every critical section takes the inode's spinlock with a compare-and-swap and drops it with a store, also when
// single-threaded, so the lock's cost is in every measurement.
import {
  C_ACCEPTED, C_CACHED_OPENS, C_DIRECT_OPENS, C_DIVERGED, C_EBUSY, C_EINVAL, C_EIO_MODE, C_ENOENT, C_ETXTBSY,
  C_LOCK_ACQUISITIONS, C_LOCK_SPINS, C_STALE, C_UNSAFE, EBUSY, EINVAL, EIO, ENOENT, ETXTBSY, FOPEN_DIRECT_IO,
  FOPEN_PASSTHROUGH, FOPEN_PASSTHROUGH_INODE_CACHE, FOPEN_PASSTHROUGH_MASK, IOM_CACHED, IOM_NONE,
  IOM_UNCACHED, POLICY_DIGEST, POLICY_INODE, POLICY_LOOKUP, POLICY_REUSE,
} from "../src/abi";
import { backingGet, backingLookup, backingPut } from "./backing";
import { contents, inc, policy } from "./ctx";
import { currentContent } from "./icache";
import {
  BR_DIGEST, BR_INODE_INDEX, F_INODE, FB_DIGEST, FB_FILE, FB_INODE_INDEX, FF_IOMODE, FF_MAY_WRITE, FF_PASSTHROUGH, FI_FB,
  FI_IOCACHECTR, FI_LOCK, FI_STATE, FI_WRITERS, FUSE_I_BACKING, FUSE_I_CACHE_IO_MODE,
} from "./layout";

// ---- fi->lock ----

// @ts-ignore: decorator
@inline function spinLock(fi: usize): void {
  if (atomic.cmpxchg<i32>(fi + FI_LOCK, 0, 1) != 0) spinLockSlow(fi);
  inc(C_LOCK_ACQUISITIONS);
}

function spinLockSlow(fi: usize): void {
  do inc(C_LOCK_SPINS);
  while (atomic.cmpxchg<i32>(fi + FI_LOCK, 0, 1) != 0);
}

// x86's spin_unlock is a plain store (release order comes from TSO). WebAssembly's atomic.store is sequentially
// consistent and V8 emits it as xchg, a full barrier the kernel does not pay: it doubled the measured cost of a
// check (bench/README.md). A plain store after the cmpxchg keeps the kernel's cost; V8 keeps wasm stores in program
// order and x86 does not reorder stores, so the lock still orders the critical section when memory is shared.
// @ts-ignore: decorator
@inline function spinUnlock(fi: usize): void {
  store<i32>(fi + FI_LOCK, 0);
}

// ---- helpers on objects ----

// @ts-ignore: decorator
@inline function fileInode(file: usize): usize {
  return load<usize>(file, F_INODE);
}

// @ts-ignore: decorator
@inline export function digestEqual(a: usize, b: usize): bool {
  const diff = v128.or(v128.xor(v128.load(a), v128.load(b)), v128.xor(v128.load(a, 16), v128.load(b, 16)));
  return !v128.any_true(diff);
}

// @ts-ignore: decorator
@inline function setState(fi: usize, bit: i32, on: bool): void {
  const s = load<i32>(fi, FI_STATE);
  store<i32>(fi, on ? s | bit : s & ~bit, FI_STATE);
}

// @ts-ignore: decorator
@inline export function hasState(fi: usize, bit: i32): bool {
  return (load<i32>(fi, FI_STATE) & bit) != 0;
}

/** The policy's conflict test between the inode's cached backing and the new one (spec §d). */
// @ts-ignore: decorator
@inline function conflicts(oldfb: usize, fb: usize): bool {
  if (policy == POLICY_INODE) {
    return fileInode(load<usize>(oldfb, FB_FILE)) != fileInode(load<usize>(fb, FB_FILE));
  }
  if (policy == POLICY_DIGEST) {
    return fileInode(load<usize>(oldfb, FB_FILE)) != fileInode(load<usize>(fb, FB_FILE))
      && !digestEqual(load<usize>(oldfb, FB_DIGEST), load<usize>(fb, FB_DIGEST));
  }
  return oldfb != fb; // ptr, and reuse/lookup, which keep mainline's pointer test
}

/** The locked test alone, as uncachedIoStart makes it: for the cost-per-check benchmark. */
export function lockedConflictCheck(fi: usize, fb: usize): bool {
  spinLock(fi);
  const oldfb = load<usize>(fi, FI_FB);
  const busy = oldfb != 0 && conflicts(oldfb, fb);
  spinUnlock(fi);
  return busy;
}

// spec §b.4 step 5 (fuse_inode_uncached_io_start). Invariant: fb != 0 implies iocachectr < 0; the first
// passthrough open of an epoch chooses fi->fb, later ones must pass the policy's conflict test.
function uncachedIoStart(fi: usize, fb: usize): i32 {
  spinLock(fi);
  const oldfb = load<usize>(fi, FI_FB);
  let err = 0;
  if (oldfb != 0 && conflicts(oldfb, fb)) {
    err = -EBUSY;
  } else if (load<i32>(fi, FI_IOCACHECTR) > 0) {
    err = -ETXTBSY;
  } else {
    store<i32>(fi, load<i32>(fi, FI_IOCACHECTR) - 1, FI_IOCACHECTR);
    if (oldfb == 0) store<usize>(fi, fb, FI_FB); // consumes the lookup reference
    else backingPut(fb); // a put inside the spinlock, as in the kernel
  }
  assert(load<usize>(fi, FI_FB) == 0 || load<i32>(fi, FI_IOCACHECTR) < 0, "fb set with iocachectr >= 0");
  spinUnlock(fi);
  return err;
}

// spec §b.9: the epoch ends when iocachectr climbs back to 0; the fb reference is dropped after unlocking.
function uncachedIoEnd(fi: usize): void {
  spinLock(fi);
  assert(load<i32>(fi, FI_IOCACHECTR) < 0, "uncached io end with iocachectr >= 0");
  const ctr = load<i32>(fi, FI_IOCACHECTR) + 1;
  store<i32>(fi, ctr, FI_IOCACHECTR);
  let oldfb: usize = 0;
  if (ctr == 0) {
    oldfb = load<usize>(fi, FI_FB);
    store<usize>(fi, 0, FI_FB);
  }
  spinUnlock(fi);
  if (oldfb != 0) backingPut(oldfb);
}

// spec §b.5 (fuse_file_cached_io_open). Without parallel direct-io writes in the trace there is nothing to
// wait for, so only the passthrough test remains.
function cachedIoOpen(fi: usize, ff: usize): i32 {
  spinLock(fi);
  if (load<usize>(fi, FI_FB) != 0) {
    setState(fi, FUSE_I_CACHE_IO_MODE, false);
    spinUnlock(fi);
    return -ETXTBSY;
  }
  if (load<i32>(ff, FF_IOMODE) == IOM_NONE) {
    store<i32>(ff, IOM_CACHED, FF_IOMODE);
    const ctr = load<i32>(fi, FI_IOCACHECTR);
    if (ctr == 0) setState(fi, FUSE_I_CACHE_IO_MODE, true);
    store<i32>(fi, ctr + 1, FI_IOCACHECTR);
  }
  spinUnlock(fi);
  return 0;
}

// spec §b.8 step 2, CACHED case.
function cachedIoRelease(fi: usize, ff: usize): void {
  spinLock(fi);
  assert(load<i32>(fi, FI_IOCACHECTR) > 0, "cached release with iocachectr <= 0");
  const ctr = load<i32>(fi, FI_IOCACHECTR) - 1;
  store<i32>(fi, ctr, FI_IOCACHECTR);
  if (ctr == 0) setState(fi, FUSE_I_CACHE_IO_MODE, false);
  store<i32>(ff, IOM_NONE, FF_IOMODE);
  spinUnlock(fi);
}

// spec §b.13 (Paul Lawrence's series): the inode takes a permanent reference and one uncached count.
export function lookupBackingAttach(fi: usize, fb: usize): void {
  spinLock(fi);
  store<i32>(fi, load<i32>(fi, FI_IOCACHECTR) - 1, FI_IOCACHECTR);
  store<usize>(fi, fb, FI_FB);
  setState(fi, FUSE_I_BACKING, true);
  spinUnlock(fi);
}

// spec §b.13: the lookup reference is dropped at evict.
export function lookupBackingDetach(fi: usize): void {
  setState(fi, FUSE_I_BACKING, false);
  uncachedIoEnd(fi);
}

// Backing inodes are compared by their index in the host's table (one struct inode per index), which the
// fuse_backing carries: the same answer as comparing file_inode(), read from lines the open already touched.
function accountAccept(fi: usize, ff: usize, fb: usize, intended: usize): void {
  inc(C_ACCEPTED);
  const served = load<u32>(fb, FB_INODE_INDEX);
  if (served != load<u32>(load<usize>(fi, FI_FB), FB_INODE_INDEX)) {
    inc(C_DIVERGED);
    if (load<i32>(fi, FI_WRITERS) > 0 || load<i32>(ff, FF_MAY_WRITE) != 0) inc(C_UNSAFE);
  }
  // Stale: another inode than the daemon's, holding other bytes now (a lookup-held inode rewritten in place since
  // it was registered holds the current bytes, so its registration digest is not what counts).
  if (served != load<u32>(intended, BR_INODE_INDEX) && !digestEqual(currentContent(contents, served), load<usize>(intended, BR_DIGEST))) {
    inc(C_STALE);
  }
}

// spec §b.4: open with FOPEN_PASSTHROUGH. `intended` is the bref the daemon meant.
function passthroughOpen(fi: usize, ff: usize, backingId: i32, openFlags: u32, intended: usize): i32 {
  const mask = FOPEN_PASSTHROUGH_MASK | (policy == POLICY_REUSE ? FOPEN_PASSTHROUGH_INODE_CACHE : 0);
  if ((openFlags & ~mask) != 0) return -EINVAL; // step 1
  let fb: usize;
  const cachedFb = load<usize>(fi, FI_FB);
  if ((openFlags & FOPEN_PASSTHROUGH_INODE_CACHE) != 0 && cachedFb != 0) {
    fb = backingGet(cachedFb); // P4a: the id is ignored entirely, unlocked read of fi->fb
  } else if (policy == POLICY_LOOKUP && backingId == 0) {
    if (!hasState(fi, FUSE_I_BACKING) || cachedFb == 0) return -ENOENT; // P4b, Amir's variant
    fb = backingGet(cachedFb);
  } else {
    if (backingId <= 0) return -EINVAL; // step 2
    fb = backingLookup(backingId); // step 3
    if (fb == 0) return -ENOENT;
  }
  // step 4: the per-file backing file is opened from fb's path; the model assumes the open succeeds.
  const err = uncachedIoStart(fi, fb); // step 5
  if (err != 0) {
    backingPut(fb); // step 6
    return err;
  }
  store<i32>(ff, IOM_UNCACHED, FF_IOMODE); // step 7
  store<usize>(ff, load<usize>(fb, FB_FILE), FF_PASSTHROUGH);
  accountAccept(fi, ff, fb, intended);
  return 0;
}

function countOpenError(err: i32): i32 {
  if (err == -EBUSY) inc(C_EBUSY);
  else if (err == -ETXTBSY) inc(C_ETXTBSY);
  else if (err == -EINVAL) inc(C_EINVAL);
  else if (err == -ENOENT) inc(C_ENOENT);
  return err;
}

/**
 * spec §b.3: open dispatch after the daemon's reply. Returns 0 or the internal -errno; the caller turns any
 * error into the EIO the user sees.
 */
export function fileIoOpen(fi: usize, ff: usize, backingId: i32, openFlags: u32, intended: usize): i32 {
  if (load<usize>(fi, FI_FB) != 0 && (openFlags & FOPEN_PASSTHROUGH) == 0) { // step 2
    inc(C_EIO_MODE);
    return -EIO;
  }
  if ((openFlags & FOPEN_PASSTHROUGH) != 0) return countOpenError(passthroughOpen(fi, ff, backingId, openFlags, intended));
  if ((openFlags & FOPEN_DIRECT_IO) != 0) { // step 4: iomode stays NONE
    inc(C_DIRECT_OPENS);
    return 0;
  }
  const err = countOpenError(cachedIoOpen(fi, ff)); // step 6
  if (err == 0) inc(C_CACHED_OPENS);
  return err;
}

/** spec §b.8 step 2 (fuse_file_io_release). */
export function fileIoRelease(fi: usize, ff: usize): void {
  const iomode = load<i32>(ff, FF_IOMODE);
  if (iomode == IOM_UNCACHED) {
    store<i32>(ff, IOM_NONE, FF_IOMODE);
    uncachedIoEnd(fi);
  } else if (iomode == IOM_CACHED) {
    cachedIoRelease(fi, ff);
  }
}
