// The event loop: one row of the event columns at a time, dispatched to the transitions of iomode.ts.
import {
  C_A_BREF_RANGE, C_A_FH_IN_USE, C_A_FH_RANGE, C_A_FORGET_BUSY, C_A_FORGET_UNKNOWN, C_A_NODEID_RANGE,
  C_A_RELEASE_UNOPENED, C_A_UNKNOWN_OP, C_ANOMALIES, C_EIO, C_EVENTS, C_FORGETS, C_OPENS, C_PT_OPENS,
  C_RELEASES, C_RESTARTS, FOPEN_PASSTHROUGH, FOPEN_PASSTHROUGH_INODE_CACHE, IOM_NONE, O_ACCMODE, O_RDONLY,
  OP_BACKING_CLOSE, OP_BACKING_OPEN, OP_FORGET, OP_LOOKUP, OP_OPEN, OP_RELEASE, OP_RESTART, POLICY_LOOKUP, POLICY_REUSE,
  RESTART_CLOSE_ALL, C_A_RECORDED_ID, DAEMON_RECORDED,
} from "../src/abi";
import {
  backingClose, backingCloseAll, backingCapacityExceeded, backingLookup, backingOpen, backingOpenRecorded,
} from "./backing";
import {
  CTX_DAEMON_GEN, addShared, brefs, contents, ctxLoad, ctxStore, daemon, dinodeAt, fileAt, inc, inodeAt, maxFiles,
  maxInodes, nBrefs, policy,
} from "./ctx";
import { daemonForgetInode, daemonOpenBacking, daemonRelease } from "./daemon";
import { noteContent, touchBackingInode } from "./icache";
import { fileIoOpen, fileIoRelease, hasState, lookupBackingAttach, lookupBackingDetach } from "./iomode";
import {
  BR_SIZE, FB_COUNT, FF_DAEMON_GEN, FF_DAEMON_ID, FF_IOMODE, FF_MAY_WRITE, FF_NODEID, FF_PASSTHROUGH, FF_STATE, FI_ALIVE, FI_FB,
  FI_NFILES, FI_WRITERS, FILE_FAILED, FILE_FREE, FILE_OPEN, FUSE_I_BACKING, UNTRACKED,
} from "./layout";

// @ts-ignore: decorator
@inline function anomaly(kind: i32): void {
  inc(C_ANOMALIES);
  inc(kind);
}

// @ts-ignore: decorator
@inline function brefAt(bref: u32): usize {
  return brefs + <usize>bref * BR_SIZE;
}

/** A new fuse inode instance. Under P4b the daemon attaches the backing now and closes its id at once. */
function lookup(nodeid: u32, bref: u32, fopen: u32): void {
  const fi = inodeAt(nodeid);
  store<i32>(fi, 1, FI_ALIVE);
  daemonForgetInode(nodeid);
  if (policy != POLICY_LOOKUP || (fopen & FOPEN_PASSTHROUGH) == 0) return;
  const id = backingOpen(brefAt(bref));
  if (id < 0) return;
  lookupBackingAttach(fi, backingLookup(id));
  backingClose(id);
}

/** FORGET or umount: the inode instance ends and its state resets (spec §b.9: requires iocachectr 0). */
export function evict(nodeid: u32): void {
  const fi = inodeAt(nodeid);
  if (hasState(fi, FUSE_I_BACKING)) lookupBackingDetach(fi);
  store<i32>(fi, 0, FI_ALIVE);
}

function onOpen(nodeid: u32, fh: u32, bref: u32, oflags: u32, fopen: u32, recordedId: i32): void {
  if (nodeid >= maxInodes) { anomaly(C_A_NODEID_RANGE); return; }
  if (fh >= maxFiles) { anomaly(C_A_FH_RANGE); return; }
  if (bref >= nBrefs) { anomaly(C_A_BREF_RANGE); return; }
  const ff = fileAt(fh);
  if (load<i32>(ff, FF_STATE) != FILE_FREE) { anomaly(C_A_FH_IN_USE); return; }
  const fi = inodeAt(nodeid);
  if (load<i32>(fi, FI_ALIVE) == 0) lookup(nodeid, bref, fopen);
  inc(C_OPENS);
  const mayWrite = (oflags & O_ACCMODE) != O_RDONLY;
  store<u32>(ff, nodeid, FF_NODEID);
  store<i32>(ff, IOM_NONE, FF_IOMODE);
  store<i32>(ff, mayWrite ? 1 : 0, FF_MAY_WRITE);
  store<usize>(ff, 0, FF_PASSTHROUGH);
  store<i32>(ff, 0, FF_DAEMON_ID);
  store<i32>(ff, UNTRACKED, FF_DAEMON_GEN);
  const intended = brefAt(bref);
  noteContent(contents, intended);
  let backingId = 0;
  let openFlags = fopen;
  if ((fopen & FOPEN_PASSTHROUGH) != 0) {
    inc(C_PT_OPENS);
    if (policy == POLICY_REUSE) openFlags |= FOPEN_PASSTHROUGH_INODE_CACHE;
    backingId = daemonOpenBacking(nodeid, ff, bref, intended, recordedId);
  }
  const err = fileIoOpen(fi, ff, backingId, openFlags, intended);
  if (err != 0) {
    inc(C_EIO);
    store<i32>(ff, FILE_FAILED, FF_STATE);
    daemonRelease(ff); // the synchronous release of a failed open (spec §b.3)
    return;
  }
  store<i32>(ff, FILE_OPEN, FF_STATE);
  addShared(fi + FI_NFILES, 1);
  if (mayWrite) addShared(fi + FI_WRITERS, 1);
}

function onRelease(fh: u32): void {
  if (fh >= maxFiles) { anomaly(C_A_FH_RANGE); return; }
  const ff = fileAt(fh);
  const state = load<i32>(ff, FF_STATE);
  if (state == FILE_FREE) { anomaly(C_A_RELEASE_UNOPENED); return; }
  inc(C_RELEASES);
  if (state == FILE_OPEN) {
    const fi = inodeAt(load<u32>(ff, FF_NODEID));
    fileIoRelease(fi, ff); // the kernel changes the inode's state before FUSE_RELEASE is queued
    addShared(fi + FI_NFILES, -1);
    if (load<i32>(ff, FF_MAY_WRITE) != 0) addShared(fi + FI_WRITERS, -1);
    daemonRelease(ff);
  }
  store<i32>(ff, FILE_FREE, FF_STATE);
}

function onForget(nodeid: u32): void {
  if (nodeid >= maxInodes) { anomaly(C_A_NODEID_RANGE); return; }
  const fi = inodeAt(nodeid);
  if (load<i32>(fi, FI_ALIVE) == 0) { anomaly(C_A_FORGET_UNKNOWN); return; }
  if (load<i32>(fi, FI_NFILES) > 0) { anomaly(C_A_FORGET_BUSY); return; } // open files pin the inode: no evict
  inc(C_FORGETS);
  evict(nodeid);
}

function onLookup(nodeid: u32, bref: u32, fopen: u32): void {
  if (nodeid >= maxInodes) { anomaly(C_A_NODEID_RANGE); return; }
  if (bref >= nBrefs) { anomaly(C_A_BREF_RANGE); return; }
  noteContent(contents, brefAt(bref));
  if (load<i32>(inodeAt(nodeid), FI_ALIVE) == 0) lookup(nodeid, bref, fopen);
}

/** A registration the captured daemon made (recorded daemon only: a modelled daemon makes its own). */
function onBackingOpen(bref: u32, recordedId: i32): void {
  if (daemon != DAEMON_RECORDED) return;
  if (bref >= nBrefs) { anomaly(C_A_BREF_RANGE); return; }
  // Under lookup the kernel side registers at LOOKUP, which the captured daemon never did: the idr's ids drift
  // from the capture's by design, so only the other policies count a difference.
  if (!backingOpenRecorded(brefAt(bref), recordedId) && policy != POLICY_LOOKUP) anomaly(C_A_RECORDED_ID);
}

function onBackingClose(recordedId: i32): void {
  if (daemon != DAEMON_RECORDED) return;
  if (backingClose(recordedId) != 0) anomaly(C_A_RECORDED_ID);
}

function onRestart(oflags: u32): void {
  inc(C_RESTARTS);
  if ((oflags & RESTART_CLOSE_ALL) != 0) backingCloseAll();
  ctxStore(CTX_DAEMON_GEN, ctxLoad(CTX_DAEMON_GEN) + 1);
}

/**
 * Rows are replayed in groups. Before a group, the objects its opens will reach first (fuse inode, daemon record,
 * backing-file entry, then the backing inode's table entry) are loaded back to back: their cache misses overlap
 * instead of each open waiting for its own in turn. WebAssembly has no prefetch instruction; independent loads
 * issued together are the nearest thing (measured: see bench/README.md).
 */
const GROUP_ROWS: u32 = 16;

/** Where the touched values go, so the loads are not optimized away. */
export let touchSink: u32 = 0;

// @ts-ignore: decorator
@inline function touchGroup(nodeid: usize, bref: usize, begin: u32, end: u32): void {
  let sink: u32 = 0;
  for (let i = begin; i < end; i++) {
    const at = <usize>i << 2;
    const nid = load<u32>(nodeid + at);
    const br = load<u32>(bref + at);
    if (nid < maxInodes) sink += load<u32>(inodeAt(nid), FI_ALIVE) + load<u32>(dinodeAt(nid));
    if (br < nBrefs) sink += load<u32>(brefAt(br));
  }
  for (let i = begin; i < end; i++) {
    const at = <usize>i << 2;
    const br = load<u32>(bref + at);
    if (br < nBrefs) sink += touchBackingInode(contents, brefAt(br));
    const nid = load<u32>(nodeid + at);
    // Without a branch: an inode with no fuse_backing loads from address 0, which is valid and always cached.
    if (nid < maxInodes) sink += load<u32>(load<usize>(inodeAt(nid), FI_FB), FB_COUNT);
  }
  touchSink += sink;
}

/**
 * Replays rows [0, n) of the event columns. Returns n, or the number of rows replayed before the fuse_backing
 * slab overflowed (the host treats that as an error).
 */
export function replayRows(
  op: usize, nodeid: usize, fh: usize, bref: usize, oflags: usize, fopen: usize, bid: usize, n: u32,
): u32 {
  for (let begin: u32 = 0; begin < n; begin += GROUP_ROWS) {
    const end = min(begin + GROUP_ROWS, n);
    touchGroup(nodeid, bref, begin, end);
    for (let i = begin; i < end; i++) {
      const at = <usize>i << 2;
      inc(C_EVENTS);
      switch (<i32>load<u8>(op + <usize>i)) {
        case OP_OPEN:
          onOpen(
            load<u32>(nodeid + at), load<u32>(fh + at), load<u32>(bref + at), load<u32>(oflags + at), load<u32>(fopen + at),
            load<i32>(bid + at),
          );
          if (backingCapacityExceeded) return i;
          break;
        case OP_RELEASE: onRelease(load<u32>(fh + at)); break;
        case OP_FORGET: onForget(load<u32>(nodeid + at)); break;
        case OP_LOOKUP:
          onLookup(load<u32>(nodeid + at), load<u32>(bref + at), load<u32>(fopen + at));
          if (backingCapacityExceeded) return i;
          break;
        case OP_RESTART: onRestart(load<u32>(oflags + at)); break;
        case OP_BACKING_OPEN:
          onBackingOpen(load<u32>(bref + at), load<i32>(bid + at));
          if (backingCapacityExceeded) return i;
          break;
        case OP_BACKING_CLOSE: onBackingClose(load<i32>(bid + at)); break;
        default: anomaly(C_A_UNKNOWN_OP);
      }
    }
  }
  return n;
}
