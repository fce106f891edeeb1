// Reading results files and history lines, checked enough that every reader can trust the shapes of
// ./schema.ts; errors name the file (and line) and exit 2.
import { HISTORY_SCHEMA, RESULTS_SCHEMA, type BenchResults, type Benchmark, type HistoryEntry } from "./schema.js";

/** Bad input: unreadable, not a results file, an incompatible schema, different traces compared. Exit 2. */
export class ResultsError extends Error {}

export function parseResults(path: string, text: string): BenchResults {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ResultsError(`${path}: not JSON (${(e as Error).message})`);
  }
  const r = v as Partial<BenchResults>;
  if (typeof r !== "object" || r === null || typeof r.schema !== "string") throw new ResultsError(`${path}: not an fbreplay benchmark results file (no "schema")`);
  if (r.schema !== RESULTS_SCHEMA) throw new ResultsError(`${path}: schema ${r.schema}, this fbreplay reads ${RESULTS_SCHEMA}`);
  const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(r.manifest) || !isObject(r.suites) || !isObject(r.outcomes)) {
    throw new ResultsError(`${path}: ${RESULTS_SCHEMA} file without manifest, suites or outcomes`);
  }
  checkBenchmarks(path, r.benchmarks);
  return r as BenchResults;
}

function checkBenchmarks(where: string, benchmarks: unknown): void {
  if (!Array.isArray(benchmarks)) throw new ResultsError(`${where}: no "benchmarks" list`);
  benchmarks.forEach((b: Partial<Benchmark> | null, i) => {
    if (typeof b?.name !== "string" || typeof b.unit !== "string" || !Array.isArray(b.samples) || b.samples.some((x) => typeof x !== "number" || !Number.isFinite(x))) {
      throw new ResultsError(`${where}: benchmark ${i} is not {name, unit, samples: finite numbers}`);
    }
  });
}

export function parseHistory(path: string, text: string): HistoryEntry[] {
  return text.split("\n").flatMap((line, i) => {
    if (line.trim() === "") return [];
    let v: HistoryEntry;
    try {
      v = JSON.parse(line) as HistoryEntry;
    } catch {
      throw new ResultsError(`${path}:${i + 1}: not a JSON line`);
    }
    if (typeof v !== "object" || v === null || v.schema !== HISTORY_SCHEMA) throw new ResultsError(`${path}:${i + 1}: not a ${HISTORY_SCHEMA} entry`);
    checkBenchmarks(`${path}:${i + 1}`, v.benchmarks);
    return [v];
  });
}
