// Benchmark results in the formats existing trackers read. Each benchmark's value is its median; where there are
// enough samples, its spread is the bootstrap interval of the median (the same statistics as `compare`).
import { median, medianInterval, MIN_SAMPLES } from "./stats.js";
import type { ResultsCore } from "../results/index.js";

export const EXPORT_FORMATS = ["bmf", "github", "csv"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The 95% interval of the median; none with too few samples to resample. */
function interval(samples: readonly number[]): [number, number] | null {
  return samples.length < MIN_SAMPLES ? null : medianInterval(samples, 0.05);
}

/**
 * Bencher Metric Format (https://bencher.dev/docs/reference/bencher-metric-format): {benchmark: {measure:
 * {value, lower_value?, upper_value?}}}. Every unit here is nanoseconds per something, Bencher's "latency".
 */
export function toBencher(r: ResultsCore): Record<string, Record<string, { value: number; lower_value?: number; upper_value?: number }>> {
  const out: Record<string, Record<string, { value: number; lower_value?: number; upper_value?: number }>> = {};
  for (const b of r.benchmarks) {
    const ci = interval(b.samples);
    out[b.name] = { latency: { value: median(b.samples), ...(ci ? { lower_value: ci[0], upper_value: ci[1] } : {}) } };
  }
  return out;
}

/** github-action-benchmark's customSmallerIsBetter: [{name, unit, value, range?, extra?}]. */
export function toGithubBenchmark(r: ResultsCore): { name: string; unit: string; value: number; range?: string; extra?: string }[] {
  return r.benchmarks.map((b) => {
    const m = median(b.samples);
    const ci = interval(b.samples);
    return {
      name: b.name, unit: b.unit, value: m,
      ...(ci ? { range: `± ${Math.max(m - ci[0], ci[1] - m).toPrecision(3)}` } : {}),
      extra: `median of ${b.samples.length} samples; commit ${r.manifest.commit ?? "?"}`,
    };
  });
}

const csvField = (v: string | number) => (typeof v === "number" ? String(v) : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** CSV: name,unit,median,lower,upper,samples,commit,date (lower/upper empty with too few samples). */
export function toCsv(r: ResultsCore): string {
  const lines = ["name,unit,median,lower,upper,samples,commit,date"];
  for (const b of r.benchmarks) {
    const ci = interval(b.samples);
    lines.push([b.name, b.unit, median(b.samples), ci?.[0] ?? "", ci?.[1] ?? "", b.samples.length, r.manifest.commit ?? "", r.manifest.date].map(csvField).join(","));
  }
  return `${lines.join("\n")}\n`;
}

export function exportResults(r: ResultsCore, format: ExportFormat): string {
  if (format === "csv") return toCsv(r);
  return `${JSON.stringify(format === "bmf" ? toBencher(r) : toGithubBenchmark(r), null, 2)}\n`;
}
