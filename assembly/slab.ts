// The fuse_backing slab (kmalloc-64, spec §a.2), each object paired by index with its struct file, carved from the
// heap in segments; freed objects go on a free list threaded through them (a freed fuse_backing keeps its file).
// One thread: the context's slab. The threaded build: like kmalloc's per-CPU caches, each worker (an instance of
// its own: wasm globals are per instance) takes from and frees to segments and a free list of its own, without
// fc->lock and without writing a line another worker writes; only a new segment takes the heap's lock.
import { THREADED } from "./config";
import { CTX_FB_FREE, CTX_FB_SEG, CTX_FB_USED, CTX_FILE_SEG, ctxLoad, ctxStore } from "./ctx";
import { heapAlloc } from "./heap";
import { FB_FILE, FB_NEXT_FREE, FB_SIZE, FILE_SIZE } from "./layout";

/** Objects per slab segment. */
const SEGMENT_OBJECTS: u32 = 4096;

// This worker's own cache (threaded build).
let ownFree: usize = 0;
let ownSeg: usize = 0;
let ownFileSeg: usize = 0;
let ownUsed: u32 = SEGMENT_OBJECTS;

/** A fuse_backing with its struct file (FB_FILE set), other fields as the last user left them; 0 when OOM. */
export function fbTake(): usize {
  if (THREADED) {
    const free = ownFree;
    if (free != 0) {
      ownFree = load<usize>(free, FB_NEXT_FREE);
      return free;
    }
    if (ownUsed == SEGMENT_OBJECTS) {
      const fbSeg = heapAlloc(<usize>SEGMENT_OBJECTS * FB_SIZE);
      const fileSeg = heapAlloc(<usize>SEGMENT_OBJECTS * FILE_SIZE);
      if (fbSeg == 0 || fileSeg == 0) return 0;
      ownSeg = fbSeg;
      ownFileSeg = fileSeg;
      ownUsed = 0;
    }
    const fb = ownSeg + <usize>ownUsed * FB_SIZE;
    store<usize>(fb, ownFileSeg + <usize>ownUsed * FILE_SIZE, FB_FILE);
    ownUsed++;
    return fb;
  }
  let fb = <usize>ctxLoad(CTX_FB_FREE);
  if (fb != 0) {
    ctxStore(CTX_FB_FREE, load<i32>(fb, FB_NEXT_FREE));
    return fb;
  }
  let used = <u32>ctxLoad(CTX_FB_USED);
  if (ctxLoad(CTX_FB_SEG) == 0 || used == SEGMENT_OBJECTS) {
    const fbSeg = heapAlloc(<usize>SEGMENT_OBJECTS * FB_SIZE);
    const fileSeg = heapAlloc(<usize>SEGMENT_OBJECTS * FILE_SIZE);
    if (fbSeg == 0 || fileSeg == 0) return 0;
    ctxStore(CTX_FB_SEG, <i32>fbSeg);
    ctxStore(CTX_FILE_SEG, <i32>fileSeg);
    used = 0;
  }
  ctxStore(CTX_FB_USED, used + 1);
  fb = <usize>ctxLoad(CTX_FB_SEG) + <usize>used * FB_SIZE;
  store<usize>(fb, <usize>ctxLoad(CTX_FILE_SEG) + <usize>used * FILE_SIZE, FB_FILE);
  return fb;
}

/** Returns a fuse_backing to the slab: the context's, or in the threaded build the freeing worker's own cache. */
export function fbGive(fb: usize): void {
  if (THREADED) {
    store<usize>(fb, ownFree, FB_NEXT_FREE);
    ownFree = fb;
    return;
  }
  store<i32>(fb, ctxLoad(CTX_FB_FREE), FB_NEXT_FREE);
  ctxStore(CTX_FB_FREE, <i32>fb);
}
