// The change-point rule of the trend: run i is flagged when its median differs from the previous run's (of the
// same benchmark) by more than the larger of 10% and the noise, the noise being the sum of both runs' relative
// half-widths (stats.relativeHalfWidth: the 95% bootstrap interval of the median, or half the range for 2
// samples). Flagged means: a large change whose intervals do not overlap.
import { bootstrapMedian, relativeHalfWidth } from "./stats.js";

export const MIN_CHANGE = 0.1;

export interface Step {
  /** Index of the run, in the series given. */
  index: number;
  previous: number;
  current: number;
  /** (current − previous) / previous: positive is slower (every unit is a cost). */
  change: number;
  /** The change needed to flag: max(MIN_CHANGE, noise). */
  threshold: number;
  flagged: boolean;
}

/** One step per run after the first: each run's samples against the previous run's. */
export function changePoints(runs: readonly (readonly number[])[], minChange = MIN_CHANGE): Step[] {
  const estimates = runs.map((samples) => {
    const e = bootstrapMedian(samples);
    return { median: e.median, noise: relativeHalfWidth(samples, e) };
  });
  const steps: Step[] = [];
  for (let i = 1; i < estimates.length; i++) {
    const a = estimates[i - 1];
    const b = estimates[i];
    const change = (b.median - a.median) / a.median;
    const threshold = Math.max(minChange, a.noise + b.noise);
    steps.push({ index: i, previous: a.median, current: b.median, change, threshold, flagged: Math.abs(change) > threshold });
  }
  return steps;
}
