// The conflict check alone, for the cost-per-check benchmark (bench/suites/check.mjs). A single check takes about
// a nanosecond, below timer resolution, so the host times a batch loop inside wasm and divides.
//
// Set-up gives every fuse inode of the entered context a cached fuse_backing, as while one passthrough file is
// open (iocachectr -1, fi->fb set), and a candidate fuse_backing for the next open, cycling through the four cases
// the policies tell apart (spec §d): the same object; a new registration of the same file (a restarted daemon's new
// id); a re-download (another inode, the same bytes); another file. The host adds file versions in pairs: bref 2k is
// file k, bref 2k+1 its re-downloaded copy.
import { backingGet, backingLookup, backingOpen } from "./backing";
import { brefs, inodeAt, nBrefs } from "./ctx";
import { heapAlloc } from "./heap";
import { lockedConflictCheck } from "./iomode";
import { BR_SIZE, FI_FB, FI_IOCACHECTR } from "./layout";

/** A registered fuse_backing for file version `bref`, with the reference an open would hold; 0 when out of memory. */
export function registered(bref: u32): usize {
  const id = backingOpen(brefs + <usize>bref * BR_SIZE);
  return id > 0 ? backingLookup(id) : 0;
}

/** Prepares nodeids [0, n) of the entered context; returns the candidate table (one fb pointer per nodeid) or 0. */
export function checkSetup(n: u32): usize {
  const files = nBrefs >> 1;
  if (files < 2) return 0;
  const candidates = heapAlloc(<usize>n << 2);
  if (candidates == 0) return 0;
  for (let k: u32 = 0; k < n; k++) {
    const file = k % files;
    const cached = registered(file << 1);
    if (cached == 0) return 0;
    const fi = inodeAt(k);
    store<usize>(fi, cached, FI_FB);
    store<i32>(fi, -1, FI_IOCACHECTR);
    const candidate = candidateFor(k, cached, files);
    if (candidate == 0) return 0;
    store<usize>(candidates + (<usize>k << 2), candidate);
  }
  return candidates;
}

/** Nodeid `k`'s candidate for the next open, by the case `k & 3`, against its cached `cached`; 0 if out of memory. */
export function candidateFor(k: u32, cached: usize, files: u32): usize {
  const file = k % files;
  switch (k & 3) {
    case 0: return backingGet(cached);
    case 1: return registered(file << 1);
    case 2: return registered((file << 1) | 1);
    default: return registered(((file + 1) % files) << 1);
  }
}

/**
 * Runs `count` locked conflict checks, visiting nodeids in the order of the u32 array `order` (length a power of
 * two, `mask` = length - 1), and returns how many would be EBUSY: the host checks it, and it keeps the loop alive.
 */
export function checkBatch(candidates: usize, order: usize, mask: u32, count: u32): u32 {
  let busy: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const nodeid = load<u32>(order + (<usize>(i & mask) << 2));
    if (lockedConflictCheck(inodeAt(nodeid), load<usize>(candidates + (<usize>nodeid << 2)))) busy++;
  }
  return busy;
}
