// What every section reads: the newest results, its benchmarks by name, and the whole input.
import { BenchmarkIndex } from "./benchmarks.js";
import type { BenchResults, ReportInput } from "./types.js";

export interface ReportContext {
  input: ReportInput;
  /** The newest results file: the sections describe it. */
  latest: BenchResults;
  benchmarks: BenchmarkIndex;
}

export function reportContext(input: ReportInput): ReportContext {
  const latest = input.results[input.results.length - 1];
  if (!latest) throw new Error("fbreplay report: no results to report");
  return { input, latest, benchmarks: new BenchmarkIndex(latest.benchmarks ?? []) };
}
