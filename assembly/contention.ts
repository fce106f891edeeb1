// The contention benchmark's work (bench/suites/contention.mjs), for workers of the threaded build on one shared
// memory, each with an instance of its own. Two things are measured apart:
// - fi->lock: the locked conflict check (spec §b.4 step 5) of a worker's own candidate fuse_backing against an
//   inode's cached one, on a hot set of inodes that the workers share (contended) or not (the control). A worker
//   allocates nothing while it is timed, and writes only the lock words under test and its own counter block.
// - fc->lock: FUSE_DEV_IOC_BACKING_OPEN then _CLOSE (spec §b.1, §b.2), whose idr, fuse_backing slab and backing
//   inode cache the model keeps under the connection's lock.
import { backingClose, backingOpen } from "./backing";
import { candidateFor } from "./checkbench";
import { brefs, inodeAt, nBrefs } from "./ctx";
import { heapAlloc } from "./heap";
import { BR_SIZE, FI_FB } from "./layout";

/**
 * A worker's own candidates for nodeids [first, first + n), whose cached fuse_backing checkSetup made: a table
 * indexed by nodeid (entries below `first` unused), or 0 when out of memory. Registered now, so that the timed loop
 * reads objects this worker allocated, as an open carries the fuse_backing its own task looked up.
 */
export function contentionCandidates(first: u32, n: u32): usize {
  const files = nBrefs >> 1;
  const table = heapAlloc(<usize>(first + n) << 2);
  if (table == 0 || files < 2) return 0;
  for (let k = first; k < first + n; k++) {
    const candidate = candidateFor(k, load<usize>(inodeAt(k), FI_FB), files);
    if (candidate == 0) return 0;
    store<usize>(table + (<usize>k << 2), candidate);
  }
  return table;
}

/** `count` registrations of file version `bref`, each closed at once; returns how many were made. */
export function connectionCycles(bref: u32, count: u32): u32 {
  const file = brefs + <usize>bref * BR_SIZE;
  for (let i: u32 = 0; i < count; i++) {
    const id = backingOpen(file);
    if (id <= 0) return i;
    backingClose(id);
  }
  return count;
}
