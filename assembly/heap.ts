// A bump allocator over linear memory. Objects are carved out in bulk (tables at set-up, slab segments as they fill);
// nothing is allocated per event.

let heapTop: usize = (__heap_base + 63) & ~(<usize>63);

/**
 * Zeroed, 64-byte aligned memory for `bytes`; 0 when memory cannot grow that far. Nothing is ever returned to this
 * heap, and grown wasm pages are zero, so there is nothing to clear: pages stay out of RSS until first written.
 */
export function heapAlloc(bytes: usize): usize {
  const ptr = heapTop;
  const end = (ptr + bytes + 63) & ~(<usize>63);
  const needPages = <i32>((end + 0xffff) >>> 16);
  const havePages = memory.size();
  if (needPages > havePages) {
    // Grow by half again at least: every grow makes the host collect garbage, and pages never touched cost no RSS.
    const extra = max(needPages - havePages, max(havePages >> 1, 16));
    if (memory.grow(extra) < 0 && memory.grow(needPages - havePages) < 0) return 0;
  }
  heapTop = end;
  return ptr;
}
