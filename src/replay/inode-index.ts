// Dense indices for backing inodes, keyed by (st_dev, st_ino). A long trace names hundreds of thousands of them, and
// both the injector and the wasm session keep such an index for the whole replay. Measured with 200k pairs: a Map
// per device took 55 bytes a pair of V8 heap (objects the collector traces); this, sized up front, 27 bytes of typed
// arrays.

import { grownF64 } from "./grow.js";

/** (st_dev, st_ino) → index in order of first sight (0, 1, 2, …); open addressing with linear probing. */
export class InodeIndex {
  private devs: Float64Array<ArrayBuffer>;
  private inos: Float64Array<ArrayBuffer>;
  /** index + 1 of the pair in each bucket, 0 for an empty one; at most half the buckets are used. */
  private buckets: Int32Array<ArrayBuffer>;
  private count = 0;

  /** `expected`: pairs to make room for at once (it grows by doubling past them). */
  constructor(expected = 1024) {
    this.devs = new Float64Array(expected);
    this.inos = new Float64Array(expected);
    this.buckets = new Int32Array(2 ** Math.ceil(Math.log2(Math.max(2, expected * 2))));
  }

  get size(): number {
    return this.count;
  }

  /** The st_dev and st_ino of the pair of index `i`. */
  dev(i: number): number {
    return this.devs[i];
  }

  ino(i: number): number {
    return this.inos[i];
  }

  /** The pair's index; a new pair gets the next one (`size` before the call). */
  intern(dev: number, ino: number): number {
    const mask = this.buckets.length - 1;
    let at = hash(dev, ino) & mask;
    for (; ; at = (at + 1) & mask) {
      const entry = this.buckets[at];
      if (entry === 0) break;
      if (this.devs[entry - 1] === dev && this.inos[entry - 1] === ino) return entry - 1;
    }
    const index = this.count++;
    this.devs = grownF64(this.devs, index + 1);
    this.inos = grownF64(this.inos, index + 1);
    this.devs[index] = dev;
    this.inos[index] = ino;
    if (this.count * 2 > this.buckets.length) this.rehash(this.buckets.length * 2);
    else this.buckets[at] = index + 1;
    return index;
  }

  private rehash(size: number): void {
    this.buckets = new Int32Array(size);
    const mask = size - 1;
    for (let i = 0; i < this.count; i++) {
      let at = hash(this.devs[i], this.inos[i]) & mask;
      while (this.buckets[at] !== 0) at = (at + 1) & mask;
      this.buckets[at] = i + 1;
    }
  }
}

/** Mixes both words of st_ino (an integer below 2^53) with st_dev (murmur3's finalizer). */
function hash(dev: number, ino: number): number {
  let h = Math.imul((ino >>> 0) ^ Math.imul(Math.floor(ino / 0x100000000), 0x9e3779b1), 0x85ebca6b) ^ Math.imul(dev >>> 0, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
