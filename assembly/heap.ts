// A bump allocator over linear memory. Objects are carved out in bulk (tables at set-up, slab segments as they fill);
// nothing is allocated per event. Its state lives in memory, not in wasm globals, so that instances sharing one
// memory (the threaded build's workers) share one heap.
import { THREADED } from "./config";

const HEAP_STATE: usize = (__heap_base + 63) & ~(<usize>63);
const HEAP_TOP: usize = 0;
const HEAP_LOCK: usize = 4;
/** A line of state shared by every instance on this memory, for icache.ts (its tables and slab). */
export const SHARED_STATE: usize = HEAP_STATE + 64;
const FIRST_OBJECT: usize = HEAP_STATE + 128;

/**
 * Zeroed, 64-byte aligned memory for `bytes`; 0 when memory cannot grow that far. Nothing is ever returned to this
 * heap, and grown wasm pages are zero, so there is nothing to clear: pages stay out of RSS until first written.
 */
export function heapAlloc(bytes: usize): usize {
  if (THREADED) while (atomic.cmpxchg<i32>(HEAP_STATE + HEAP_LOCK, 0, 1) != 0);
  let ptr = load<usize>(HEAP_STATE, HEAP_TOP);
  if (ptr == 0) ptr = FIRST_OBJECT; // the first allocation from this memory
  let end = (ptr + bytes + 63) & ~(<usize>63);
  const needPages = <i32>((end + 0xffff) >>> 16);
  const havePages = memory.size();
  if (needPages > havePages) {
    // Grow by half again at least: every grow makes the host collect garbage, and pages never touched cost no RSS.
    const extra = max(needPages - havePages, max(havePages >> 1, 16));
    if (memory.grow(extra) < 0 && memory.grow(needPages - havePages) < 0) {
      ptr = 0;
      end = load<usize>(HEAP_STATE, HEAP_TOP);
    }
  }
  store<usize>(HEAP_STATE, end, HEAP_TOP);
  if (THREADED) atomic.store<i32>(HEAP_STATE + HEAP_LOCK, 0);
  return ptr;
}
