// Backing inodes and file versions (shared by every context). A trace may name hundreds of thousands of file
// versions; like the kernel's inode cache, a struct inode exists only while a struct file references it, so memory
// follows the live backing files, not the length of the trace.
import { heapAlloc } from "./heap";
import {
  BR_DIGEST, BR_INODE_INDEX, BR_SIZE, DIGEST_SIZE, I_COUNT, I_INO, I_MODEL_INDEX, I_NEXT_FREE, I_SB, INODE_SIZE,
  IT_CONTENT, IT_INO, IT_OBJECT, IT_SB, IT_SIZE, S_DEV, SB_SIZE,
} from "./layout";
import { setBackingTable } from "./ctx";

let inodeTable: usize = 0;
let inodeCapacity: u32 = 0;
let brefTable: usize = 0;
let brefCapacity: u32 = 0;
let brefCount: u32 = 0;

/** Grows a table of `size`-byte entries to `capacity`, keeping `used` entries; 0 when memory is exhausted. */
function regrow(table: usize, used: u32, capacity: u32, size: usize): usize {
  const grown = heapAlloc(<usize>capacity * size);
  if (grown != 0 && used > 0) memory.copy(grown, table, <usize>used * size);
  return grown;
}

/** Room for `inodes` backing inodes and `files` file versions in all. False when memory is exhausted. */
export function backingReserve(inodes: u32, files: u32): bool {
  if (inodes > inodeCapacity) {
    const t = regrow(inodeTable, inodeCapacity, inodes, IT_SIZE);
    if (t == 0) return false;
    inodeTable = t;
    inodeCapacity = inodes;
  }
  if (files > brefCapacity) {
    const t = regrow(brefTable, brefCount, files, BR_SIZE);
    if (t == 0) return false;
    brefTable = t;
    brefCapacity = files;
    setBackingTable(brefTable, brefCount);
  }
  return true;
}

export function superBlockNew(dev: u32): usize {
  const sb = heapAlloc(SB_SIZE);
  if (sb != 0) store<u32>(sb, dev, S_DEV);
  return sb;
}

export function backingInodeDefine(index: u32, sb: usize, ino: f64): void {
  const e = inodeTable + <usize>index * IT_SIZE;
  store<usize>(e, sb, IT_SB);
  store<f64>(e, ino, IT_INO);
}

// Digests live in segments so the pointers a fuse_backing keeps stay valid as the table grows.
const DIGESTS_PER_SEGMENT: u32 = 2048;
let digestSegment: usize = 0;
let digestsUsed: u32 = DIGESTS_PER_SEGMENT;

/** Appends a file version of backing inode `index` as the next bref; returns where its digest goes, 0 if none. */
export function backingFileAdd(index: u32): usize {
  if (brefCount >= brefCapacity || index >= inodeCapacity) return 0;
  if (digestsUsed == DIGESTS_PER_SEGMENT) {
    digestSegment = heapAlloc(<usize>DIGESTS_PER_SEGMENT * DIGEST_SIZE);
    if (digestSegment == 0) return 0;
    digestsUsed = 0;
  }
  const digest = digestSegment + <usize>digestsUsed * DIGEST_SIZE;
  digestsUsed++;
  const p = brefTable + <usize>brefCount * BR_SIZE;
  const e = inodeTable + <usize>index * IT_SIZE;
  if (load<usize>(e, IT_CONTENT) == 0) store<usize>(e, digest, IT_CONTENT); // until an event names a version
  store<u32>(p, index, BR_INODE_INDEX);
  store<usize>(p, digest, BR_DIGEST);
  brefCount++;
  setBackingTable(brefTable, brefCount);
  return digest;
}

// ---- struct inode objects: a slab with a free list ----

const INODES_PER_SEGMENT: u32 = 1024;
let inodeSegment: usize = 0;
let inodesUsed: u32 = INODES_PER_SEGMENT;
let inodeFree: usize = 0;

function inodeAlloc(): usize {
  if (inodeFree != 0) {
    const inode = inodeFree;
    inodeFree = load<usize>(inode, I_NEXT_FREE);
    return inode;
  }
  if (inodesUsed == INODES_PER_SEGMENT) {
    inodeSegment = heapAlloc(<usize>INODES_PER_SEGMENT * INODE_SIZE);
    if (inodeSegment == 0) return 0;
    inodesUsed = 0;
  }
  const inode = inodeSegment + <usize>inodesUsed * INODE_SIZE;
  inodesUsed++;
  return inode;
}

/** A reference on the backing inode of file version `bref` (iget): the object is made on first use. 0 if OOM. */
export function igrab(bref: usize): usize {
  const index = load<u32>(bref, BR_INODE_INDEX);
  const e = inodeTable + <usize>index * IT_SIZE;
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
  store<usize>(inodeTable + <usize>load<u32>(inode, I_MODEL_INDEX) * IT_SIZE, 0, IT_OBJECT);
  store<usize>(inode, inodeFree, I_NEXT_FREE);
  inodeFree = inode;
}

/** File version `bref` is what its inode holds now (an event named it): later reads of that inode see it. */
// @ts-ignore: decorator
@inline export function noteContent(bref: usize): void {
  store<usize>(inodeTable + <usize>load<u32>(bref, BR_INODE_INDEX) * IT_SIZE, load<usize>(bref, BR_DIGEST), IT_CONTENT);
}

/** A load of file version `bref`'s backing-inode entry, to bring it into the cache ahead of use. */
// @ts-ignore: decorator
@inline export function touchBackingInode(bref: usize): u32 {
  return load<u32>(inodeTable + <usize>load<u32>(bref, BR_INODE_INDEX) * IT_SIZE, IT_OBJECT);
}

/** The digest of what backing inode `index` of the host's table holds now. */
// @ts-ignore: decorator
@inline export function currentContent(index: u32): usize {
  return load<usize>(inodeTable + <usize>index * IT_SIZE, IT_CONTENT);
}
