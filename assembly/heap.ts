// A bump allocator over linear memory. All objects are carved out at set-up; nothing is allocated per event.

let heapTop: usize = (__heap_base + 63) & ~(<usize>63);

/** Zeroed, 64-byte aligned memory for `bytes`; 0 when memory cannot grow that far. */
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
  memory.fill(ptr, 0, bytes);
  heapTop = end;
  return ptr;
}
