// Statistics over timing samples: the median and a seeded bootstrap confidence interval of it.

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The q-quantile (0 ≤ q ≤ 1) of sorted values, interpolating linearly between order statistics. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** mulberry32: a small, fast, seeded PRNG giving floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fewer samples than this give no interval: a bootstrap of 1 or 2 values says nothing about the spread. */
export const MIN_SAMPLES_FOR_CI = 3;

export interface MedianEstimate {
  n: number;
  median: number;
  /** The 95% interval of the median, or null when n < MIN_SAMPLES_FOR_CI ("n too small"). */
  ci: { low: number; high: number } | null;
}

export interface BootstrapOptions {
  /** Resamples drawn (default 2000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** PRNG seed (default 1): the same samples always give the same interval. */
  seed?: number;
}

/**
 * The median and its percentile-bootstrap confidence interval: `resamples` times, draw n samples with replacement
 * (seeded), take their median; the interval is the (1−level)/2 and (1+level)/2 quantiles of those medians.
 */
export function bootstrapMedian(samples: readonly number[], options: BootstrapOptions = {}): MedianEstimate {
  const { resamples = 2000, level = 0.95, seed = 1 } = options;
  const n = samples.length;
  const m = median(samples);
  if (n < MIN_SAMPLES_FOR_CI) return { n, median: m, ci: null };
  const random = seededRandom(seed);
  const draw = new Float64Array(n);
  const medians = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) draw[i] = samples[Math.floor(random() * n)];
    draw.sort();
    const h = n >> 1;
    medians[r] = n % 2 ? draw[h] : (draw[h - 1] + draw[h]) / 2;
  }
  medians.sort();
  const tail = (1 - level) / 2;
  return { n, median: m, ci: { low: quantileSorted(medians, tail), high: quantileSorted(medians, 1 - tail) } };
}

/**
 * How uncertain a median is, relative to it: half the interval's width over the median (n ≥ 3), half the range
 * over the median (n = 2), 0 for a single sample.
 */
export function relativeHalfWidth(samples: readonly number[], estimate = bootstrapMedian(samples)): number {
  if (estimate.median === 0 || samples.length < 2) return 0;
  if (estimate.ci) return (estimate.ci.high - estimate.ci.low) / 2 / Math.abs(estimate.median);
  return (Math.max(...samples) - Math.min(...samples)) / 2 / Math.abs(estimate.median);
}
