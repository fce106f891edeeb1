// Backing inodes and file versions (shared by every context). A trace may name hundreds of thousands of file
// versions; like the kernel's inode cache, a struct inode exists only while a struct file references it, so memory
// follows the live backing files, not the length of the trace.
import { heapAlloc, SHARED_STATE } from "./heap";
import {
  BR_DIGEST, BR_INODE_INDEX, BR_SIZE, DIGEST_SIZE, I_COUNT, I_INO, I_MODEL_INDEX, I_NEXT_FREE, I_SB, INODE_SIZE,
  IT_CONTENT, IT_INO, IT_OBJECT, IT_SB, IT_SIZE, S_DEV, SB_SIZE,
} from "./layout";

// The tables and the inode slab live in memory (heap.ts's SHARED_STATE), so instances sharing a memory share them.
const INODE_TABLE: usize = 0;
const INODE_CAPACITY: usize = 4;
const BREF_TABLE: usize = 8;
const BREF_CAPACITY: usize = 12;
const BREF_COUNT: usize = 16;
const DIGEST_SEGMENT: usize = 20;
const DIGESTS_USED: usize = 24;
const INODE_SEGMENT: usize = 28;
const INODES_USED: usize = 32;
const INODE_FREE: usize = 36;

// @ts-ignore: decorator
@inline function get(field: usize): u32 {
  return load<u32>(SHARED_STATE + field);
}

// @ts-ignore: decorator
@inline function set(field: usize, value: u32): void {
  store<u32>(SHARED_STATE + field, value);
}

// @ts-ignore: decorator
@inline function getPtr(field: usize): usize {
  return load<usize>(SHARED_STATE + field);
}

// @ts-ignore: decorator
@inline function setPtr(field: usize, value: usize): void {
  store<usize>(SHARED_STATE + field, value);
}

/** The backing-file table: BR_SIZE entries, one per file version (bref). */
// @ts-ignore: decorator
@inline export function brefTable(): usize {
  return getPtr(BREF_TABLE);
}

/** Backing inodes the table has room for. */
// @ts-ignore: decorator
@inline export function inodeCapacity(): u32 {
  return get(INODE_CAPACITY);
}

/** File versions in the table. */
// @ts-ignore: decorator
@inline export function brefCount(): u32 {
  return get(BREF_COUNT);
}

// @ts-ignore: decorator
@inline function inodeEntry(index: u32): usize {
  return getPtr(INODE_TABLE) + <usize>index * IT_SIZE;
}

/** Grows a table of `size`-byte entries to `capacity`, keeping `used` entries; 0 when memory is exhausted. */
function regrow(table: usize, used: u32, capacity: u32, size: usize): usize {
  const grown = heapAlloc(<usize>capacity * size);
  if (grown != 0 && used > 0) memory.copy(grown, table, <usize>used * size);
  return grown;
}

/** Room for `inodes` backing inodes and `files` file versions in all. False when memory is exhausted. */
export function backingReserve(inodes: u32, files: u32): bool {
  if (inodes > get(INODE_CAPACITY)) {
    const t = regrow(getPtr(INODE_TABLE), get(INODE_CAPACITY), inodes, IT_SIZE);
    if (t == 0) return false;
    setPtr(INODE_TABLE, t);
    set(INODE_CAPACITY, inodes);
  }
  if (files > get(BREF_CAPACITY)) {
    const t = regrow(getPtr(BREF_TABLE), get(BREF_COUNT), files, BR_SIZE);
    if (t == 0) return false;
    setPtr(BREF_TABLE, t);
    set(BREF_CAPACITY, files);
  }
  return true;
}

export function superBlockNew(dev: u32): usize {
  const sb = heapAlloc(SB_SIZE);
  if (sb != 0) store<u32>(sb, dev, S_DEV);
  return sb;
}

export function backingInodeDefine(index: u32, sb: usize, ino: f64): void {
  const e = inodeEntry(index);
  store<usize>(e, sb, IT_SB);
  store<f64>(e, ino, IT_INO);
}

// Digests live in segments so the pointers a fuse_backing keeps stay valid as the table grows.
const DIGESTS_PER_SEGMENT: u32 = 2048;

/**
 * Appends a file version of backing inode `index` as the next bref; returns where its digest goes, 0 if none.
 * With `digest` (one an earlier bref got here), the new bref shares those bytes: the copies of a scaled trace hold
 * the same content, and 32 bytes per copy of every version would outweigh the rest of the table.
 */
export function backingFileAdd(index: u32, digest: usize = 0): usize {
  const count = get(BREF_COUNT);
  if (count >= get(BREF_CAPACITY) || index >= get(INODE_CAPACITY)) return 0;
  if (digest == 0) {
    if (getPtr(DIGEST_SEGMENT) == 0 || get(DIGESTS_USED) == DIGESTS_PER_SEGMENT) {
      const segment = heapAlloc(<usize>DIGESTS_PER_SEGMENT * DIGEST_SIZE);
      if (segment == 0) return 0;
      setPtr(DIGEST_SEGMENT, segment);
      set(DIGESTS_USED, 0);
    }
    const used = get(DIGESTS_USED);
    digest = getPtr(DIGEST_SEGMENT) + <usize>used * DIGEST_SIZE;
    set(DIGESTS_USED, used + 1);
  }
  const p = getPtr(BREF_TABLE) + <usize>count * BR_SIZE;
  const e = inodeEntry(index);
  if (load<usize>(e, IT_CONTENT) == 0) store<usize>(e, digest, IT_CONTENT); // its first version, until an event names one
  store<u32>(p, index, BR_INODE_INDEX);
  store<usize>(p, digest, BR_DIGEST);
  set(BREF_COUNT, count + 1);
  return digest;
}

// ---- struct inode objects: a slab with a free list (under the connection lock in the threaded build) ----

const INODES_PER_SEGMENT: u32 = 1024;

function inodeAlloc(): usize {
  const free = getPtr(INODE_FREE);
  if (free != 0) {
    setPtr(INODE_FREE, load<u32>(free, I_NEXT_FREE));
    return free;
  }
  if (getPtr(INODE_SEGMENT) == 0 || get(INODES_USED) == INODES_PER_SEGMENT) {
    const segment = heapAlloc(<usize>INODES_PER_SEGMENT * INODE_SIZE);
    if (segment == 0) return 0;
    setPtr(INODE_SEGMENT, segment);
    set(INODES_USED, 0);
  }
  const used = get(INODES_USED);
  set(INODES_USED, used + 1);
  return getPtr(INODE_SEGMENT) + <usize>used * INODE_SIZE;
}

/** A reference on the backing inode of file version `bref` (iget): the object is made on first use. 0 if OOM. */
export function igrab(bref: usize): usize {
  const index = load<u32>(bref, BR_INODE_INDEX);
  const e = inodeEntry(index);
  let inode = load<usize>(e, IT_OBJECT);
  if (inode == 0) {
    inode = inodeAlloc();
    if (inode == 0) return 0;
    store<usize>(inode, load<usize>(e, IT_SB), I_SB);
    store<u64>(inode, <u64>load<f64>(e, IT_INO), I_INO);
    store<i32>(inode, 0, I_COUNT);
    store<u32>(inode, index, I_MODEL_INDEX);
    store<usize>(e, inode, IT_OBJECT);
  }
  store<i32>(inode, load<i32>(inode, I_COUNT) + 1, I_COUNT);
  return inode;
}

/** Drops a reference (iput); the last one frees the object. */
export function iput(inode: usize): void {
  const count = load<i32>(inode, I_COUNT) - 1;
  store<i32>(inode, count, I_COUNT);
  if (count > 0) return;
  store<usize>(inodeEntry(load<u32>(inode, I_MODEL_INDEX)), 0, IT_OBJECT);
  store<u32>(inode, getPtr(INODE_FREE), I_NEXT_FREE);
  setPtr(INODE_FREE, inode);
}

/** File version `bref` is what its inode holds now (an event named it): later reads of that inode see it. */
// @ts-ignore: decorator
@inline export function noteContent(contents: usize, bref: usize): void {
  const slot = contents + (<usize>load<u32>(bref, BR_INODE_INDEX) << 2);
  const digest = load<usize>(bref, BR_DIGEST);
  if (load<usize>(slot) != digest) store<usize>(slot, digest);
}

/** A load of file version `bref`'s backing-inode entry and content slot, to bring them into the cache ahead of use. */
// @ts-ignore: decorator
@inline export function touchBackingInode(contents: usize, bref: usize): u32 {
  const index = load<u32>(bref, BR_INODE_INDEX);
  return load<u32>(inodeEntry(index), IT_OBJECT) + load<u32>(contents + (<usize>index << 2));
}

/** The digest of what backing inode `index` holds now in the replay using `contents`. */
// @ts-ignore: decorator
@inline export function currentContent(contents: usize, index: u32): usize {
  const noted = load<usize>(contents + (<usize>index << 2));
  return noted != 0 ? noted : load<usize>(inodeEntry(index), IT_CONTENT);
}
