// Statistics for comparing timing samples: a Mann–Whitney U test (no assumption of normality: timings are skewed
// and have outliers) and a bootstrap confidence interval of the ratio of medians. Deterministic: the bootstrap is
// seeded, so the same files give the same verdict.
import { sfc32 } from "../rng.js";

/** Below this many samples on either side the normal approximation of U is not trusted: no verdict is given. */
export const MIN_SAMPLES = 5;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 for erf, |error| < 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * Two-sided Mann–Whitney U test of a against b: the normal approximation with tie correction and continuity
 * correction. Returns p = 1 when every value is tied.
 */
export function mannWhitney(a: readonly number[], b: readonly number[]): { u: number; z: number; p: number } {
  const n1 = a.length;
  const n2 = b.length;
  const all = [...a.map((v) => ({ v, first: true })), ...b.map((v) => ({ v, first: false }))].sort((x, y) => x.v - y.v);
  const n = all.length;
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && all[j + 1].v === all[i].v) j++;
    const rank = (i + j) / 2 + 1; // ranks are 1-based; ties share their mean rank
    for (let k = i; k <= j; k++) if (all[k].first) rankSumA += rank;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, z: 0, p: 1 };
  const z = (Math.abs(u - mean) - 0.5) / Math.sqrt(variance);
  return { u, z: Math.sign(u - mean) * Math.max(0, z), p: Math.min(1, 2 * (1 - normalCdf(Math.max(0, z)))) };
}

/** The q-quantile (0 ≤ q ≤ 1) of sorted values, interpolating linearly between order statistics. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export const RESAMPLES = 2000;

/**
 * The alpha/2 and 1 - alpha/2 quantiles of `statistic` over seeded bootstrap resamplings (a percentile bootstrap):
 * `statistic` gets `draw`, which gives the median of a resample (n draws with replacement) of the samples it is
 * handed. The same samples and seed always give the same interval.
 */
function bootstrap(statistic: (draw: (xs: readonly number[]) => number) => number, alpha: number, seed: number): [number, number] {
  const rand = sfc32(seed);
  const scratch = new Map<number, Float64Array>(); // per sample count, reused by every draw
  const draw = (xs: readonly number[]) => {
    const n = xs.length;
    let s = scratch.get(n);
    if (s === undefined) scratch.set(n, (s = new Float64Array(n)));
    for (let i = 0; i < n; i++) s[i] = xs[Math.floor(rand() * n)];
    s.sort();
    const h = n >> 1;
    return n % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
  };
  const values = new Float64Array(RESAMPLES);
  for (let r = 0; r < RESAMPLES; r++) values[r] = statistic(draw);
  values.sort();
  return [quantileSorted(values, alpha / 2), quantileSorted(values, 1 - alpha / 2)];
}

/** A 1 - alpha bootstrap interval of median(head) / median(base). */
export function ratioInterval(base: readonly number[], head: readonly number[], alpha: number, seed = 1): [number, number] {
  return bootstrap((draw) => draw(head) / draw(base), alpha, seed);
}

/** A 1 - alpha bootstrap interval of the median. */
export function medianInterval(xs: readonly number[], alpha: number, seed = 1): [number, number] {
  return bootstrap((draw) => draw(xs), alpha, seed);
}

export type Verdict = "improved" | "regressed" | "unchanged" | "too few samples";

/** The defaults of `compare`, `history` and the report's trend: a 5% noise floor, and a 5% significance level. */
export const DEFAULT_THRESHOLD = 0.05;
export const DEFAULT_ALPHA = 0.05;

export interface TimingComparison {
  name: string;
  unit: string;
  base_median: number;
  head_median: number;
  /** head / base: above 1 is slower (every unit is a cost). */
  ratio: number;
  /** The ratio's 1 - alpha bootstrap interval; null with too few samples. */
  interval: [number, number] | null;
  p: number | null;
  n: [number, number];
  verdict: Verdict;
}

/**
 * A change is reported only when it is both significant (p < alpha) and larger than the noise floor `threshold`
 * (a fraction): a 2% shift on a shared, noisy machine is not a regression however many samples show it.
 */
export function compareSamples(name: string, unit: string, base: readonly number[], head: readonly number[], threshold: number, alpha: number): TimingComparison {
  const ratio = median(head) / median(base);
  const common = { name, unit, base_median: median(base), head_median: median(head), ratio, n: [base.length, head.length] as [number, number] };
  if (base.length < MIN_SAMPLES || head.length < MIN_SAMPLES) return { ...common, interval: null, p: null, verdict: "too few samples" };
  const { p } = mannWhitney(head, base);
  const interval = ratioInterval(base, head, alpha);
  let verdict: Verdict = "unchanged";
  if (p < alpha && ratio > 1 + threshold && interval[0] > 1) verdict = "regressed";
  else if (p < alpha && ratio < 1 - threshold && interval[1] < 1) verdict = "improved";
  return { ...common, interval, p, verdict };
}
