// The report's view of timing samples: the median and its 95% bootstrap interval, computed as compare and the
// exports compute them (src/compare/stats.ts).
import { median, medianInterval } from "../compare/stats.js";

export { median };

/** Fewer samples than this give no interval: a bootstrap of 1 or 2 values says nothing about the spread. */
export const MIN_SAMPLES_FOR_CI = 3;

export interface MedianEstimate {
  n: number;
  median: number;
  /** The 95% interval of the median, or null when n < MIN_SAMPLES_FOR_CI ("n too small"). */
  ci: { low: number; high: number } | null;
}

/** The median and its 95% percentile-bootstrap interval (2000 seeded resamples; none below MIN_SAMPLES_FOR_CI). */
export function bootstrapMedian(samples: readonly number[]): MedianEstimate {
  const n = samples.length;
  const m = median(samples);
  if (n < MIN_SAMPLES_FOR_CI) return { n, median: m, ci: null };
  const [low, high] = medianInterval(samples, 0.05);
  return { n, median: m, ci: { low, high } };
}
