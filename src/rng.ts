// Seeded randomness, all of it: the workload generator's fast PRNG for per-event draws and keyed hash for values that
// must be a pure function of their inputs (digests, sizes), so equal inputs give equal outputs whatever the order;
// the injector's and the statistics' small generator (sfc32).

/** 2^-32: turns a uint32 into [0, 1). */
export const TWO_NEG_32 = 2.3283064365386963e-10;
/** 2^32: scales a probability to a uint32 threshold (`next() < p * 2^32` happens with probability p). */
export const TWO_32 = 4294967296;

/** murmur3's finalizer: a bijection of uint32 with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Folds a safe integer (up to 53 bits, any sign) into a 32-bit key. */
export function seedKey(seed: number): number {
  const lo = seed >>> 0; // ToUint32 keeps the low 32 bits, two's complement for negatives
  const hi = Math.floor(seed / TWO_32) >>> 0;
  return fmix32(lo ^ fmix32(hi + 0x9e3779b9));
}

/** A 32-bit hash of (key, a, b): what per-entity properties such as file sizes are derived from. */
export function hash3(key: number, a: number, b: number): number {
  return fmix32(fmix32(fmix32(key ^ a) + 0x7f4a7c15) ^ b);
}

/**
 * xoshiro128** (Blackman and Vigna): 128 bits of state, uint32 outputs, a handful of integer ops per draw.
 * Its four state words live in fields rather than a typed array so V8 keeps them in registers.
 */
export class Xoshiro128 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 spreads the seed over the state; an all-zero state would be a fixed point.
    let s = seedKey(seed);
    const next = () => (s = (s + 0x9e3779b9) >>> 0, fmix32(s));
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1;
  }

  /** A uniform uint32. */
  next(): number {
    const b = this.b;
    const m = Math.imul(b, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = b << 9;
    this.c ^= this.a;
    this.d ^= b;
    this.b = b ^ this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = (this.d << 11) | (this.d >>> 21);
    return result;
  }

  /** A uniform integer in [0, n), n ≤ 2^32 (multiply-high rather than modulo; relative bias at most n / 2^32). */
  below(n: number): number {
    return Math.floor(this.next() * n * TWO_NEG_32);
  }
}

/** ln(1 + j/256), j = 0 … 256: the mantissa part of expDraw's logarithm. */
const LN_MANTISSA = Float64Array.from({ length: 257 }, (_, j) => Math.log1p(j / 256));
const LN2 = Math.LN2;

/**
 * -ln(u / 2^32) for a uniform uint32 u ≠ 0: a standard exponential draw without Math.log (a fifth of the
 * generator's time when it was called per event). u = 2^(31-z) · m with m ∈ [1, 2), so -ln = (32-(31-z))·ln 2
 * - ln m; ln m is interpolated from a 257-entry table, absolute error below 2e-6. u = 0 (odds 2^-32) is
 * taken as 1/2 of the smallest step.
 */
export function expDraw(u: number): number {
  if (u === 0) return 33 * LN2; // -ln(2^-33)
  const z = Math.clz32(u);
  const m = (u << z) >>> 0; // leading 1 at bit 31
  const j = (m >>> 23) & 255;
  const frac = (m & 0x7fffff) * 1.1920928955078125e-7; // / 2^23
  const lo = LN_MANTISSA[j];
  return (z + 1) * LN2 - (lo + (LN_MANTISSA[j + 1] - lo) * frac);
}

/** sfc32: small, fast, and good enough to decide injections; seeded so replays are reproducible. */
export function sfc32(seed: number): () => number {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const r = (t + d) | 0;
    c = (c + r) | 0;
    return (r >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}
