// Zipf-distributed ranks in O(1) per draw: Walker's alias method, built once in O(n) with Vose's algorithm.
import type { Xoshiro128 } from "../rng.js";

/** Draws rank k ∈ [0, n) with probability ∝ (k + 1)^-s: rank 0 is the most popular. */
export class ZipfSampler {
  /**
   * Per column k, interleaved so one draw touches one cache line: [2k] a 31-bit threshold, the column keeps its
   * own rank when a 31-bit draw is at most it (0x7fffffff: always), [2k+1] the rank drawn otherwise.
   */
  private readonly table: Int32Array;
  readonly n: number;

  constructor(n: number, s: number) {
    this.n = n;
    const table = (this.table = new Int32Array(2 * n));
    const scaled = zipfWeights(n, s); // probabilities × n: a column holds exactly 1 unit of mass
    const keep = (k: number, p: number) => { table[2 * k] = p >= 1 ? 0x7fffffff : Math.floor(p * 0x80000000); };
    // Vose: pair each column short of 1 with a column over 1 that tops it up.
    const small = new Uint32Array(n);
    const large = new Uint32Array(n);
    let ns = 0;
    let nl = 0;
    for (let k = n - 1; k >= 0; k--) {
      if (scaled[k] < 1) small[ns++] = k;
      else large[nl++] = k;
    }
    while (ns > 0 && nl > 0) {
      const lo = small[--ns];
      const hi = large[nl - 1];
      keep(lo, scaled[lo]);
      table[2 * lo + 1] = hi;
      scaled[hi] -= 1 - scaled[lo];
      if (scaled[hi] < 1) {
        nl--;
        small[ns++] = hi;
      }
    }
    // What remains is 1 up to rounding error: those columns always keep their own rank.
    while (nl > 0) keep(large[--nl], 1);
    while (ns > 0) keep(small[--ns], 1);
  }

  sample(rng: Xoshiro128): number {
    const k = rng.below(this.n);
    // Branch-free select: keep vs alias is a coin flip the CPU cannot predict. All-ones when the draw is over.
    const over = (this.table[2 * k] - (rng.next() >>> 1)) >> 31;
    return k ^ ((k ^ this.table[2 * k + 1]) & over);
  }
}

/** (k + 1)^-s normalised so that the weights sum to n (the alias method's unit columns). */
function zipfWeights(n: number, s: number): Float64Array {
  const w = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) sum += w[k] = Math.pow(k + 1, -s);
  const scale = n / sum;
  for (let k = 0; k < n; k++) w[k] *= scale;
  return w;
}
