// Typed arrays that grow by doubling, for the replay's tables kept in JS (the injector's, the inode index's).

/** `a` if it holds `need` bytes, else a copy at least twice as long, new bytes 0. */
export function grownU8(a: Uint8Array<ArrayBuffer>, need: number): Uint8Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const g = new Uint8Array(Math.max(need, a.length * 2, 16));
  g.set(a);
  return g;
}

/** `a` if it holds `need` elements, else a copy at least twice as long, new elements set to `fill`. */
export function grownI32(a: Int32Array<ArrayBuffer>, need: number, fill = 0): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const g = new Int32Array(Math.max(need, a.length * 2, 16)).fill(fill);
  g.set(a);
  return g;
}

/** `a` if it holds `need` elements, else a copy at least twice as long, new elements 0. */
export function grownF64(a: Float64Array<ArrayBuffer>, need: number): Float64Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const g = new Float64Array(Math.max(need, a.length * 2, 16));
  g.set(a);
  return g;
}
