// The benchmark results file (schema "fbreplay-bench/1", written by bench/run.mjs) and the lines of
// bench/history.jsonl ("fbreplay-bench-history/1"): their shapes, defined here once for the writer (bench/run.mjs,
// through ./derive.ts), compare, history, the exports and the report. Every suite is optional: `--only` runs some.
import type { ScenarioTable } from "../scenarios/index.js";

export const RESULTS_SCHEMA = "fbreplay-bench/1";
export const HISTORY_SCHEMA = "fbreplay-bench-history/1";

/** A named timing: every unit is a cost (smaller is better). */
export interface Benchmark {
  name: string;
  unit: string;
  samples: number[];
}

export type Counters = Record<string, number>;

export interface WorkloadOutcomes {
  sha256: string;
  description: string;
  policies: Record<string, Counters>;
}

/** What parseResults checks, and all that compare and the exports read. */
export interface ResultsCore {
  schema: string;
  quick: boolean;
  manifest: { date: string; commit: string | null };
  benchmarks: Benchmark[];
  outcomes: Record<string, WorkloadOutcomes>;
  /** The raw suites (./schema.ts Suites, as bench/run.mjs writes them). */
  suites: object;
}

/** What parseHistory checks, and all that the trends read. */
export interface HistoryCore {
  schema: string;
  date: string;
  commit: string | null;
  quick: boolean;
  benchmarks: Benchmark[];
  outcomes: Record<string, WorkloadOutcomes>;
}

export interface Manifest {
  date: string;
  commit: string | null;
  dirty: boolean;
  node: string;
  v8: string;
  asc: { version: string; flags: Record<string, unknown> };
  native: { cc: string; version: string; flags: string[] } | { skipped: string };
  cpu: { model: string; cores: number };
  memory_gib: number;
  kernel: string;
  tinybench: Record<string, unknown>;
  workloads: ManifestWorkload[];
}

export interface ManifestWorkload {
  name: string;
  description: string;
  sha256: string;
  events: number;
}

export interface CheckRow {
  regime: string;
  policy: string;
  fuse_inodes: number;
  batch: number;
  conflicts_per_batch: number;
  ns_per_check: { mean: number; p50: number; p99: number };
  rme_percent: number;
  samples: number;
  samples_ns_per_check: number[];
}

export interface CheckSuite {
  tinybench: Record<string, unknown>;
  checks: CheckRow[];
  call_ns: { p50: number; min: number; calls_per_sample: number; samples: number; samples_ns: number[] };
}

export interface EngineRun {
  events_per_s: number;
  ns_per_event: number;
  spread: number;
  samples_ns: number[];
}

export interface ThroughputPolicyRow {
  outcomes: Counters;
  wasm: EngineRun;
  js: EngineRun;
  /** Absent when the native C engine was skipped (no compiler). */
  native?: EngineRun;
  wasm_vs_js: number;
  wasm_vs_native?: number;
}

export interface ThroughputWorkload {
  workload: string;
  description: string;
  hash: string;
  events: number;
  policies: Record<string, ThroughputPolicyRow>;
}

export interface ThroughputSuite {
  reps: number;
  workloads: ThroughputWorkload[];
}

export interface E2eRow {
  policies: string[];
  e2e_events_per_s: number;
  in_memory_events_per_s: number;
  e2e_vs_in_memory: number;
  samples_ns: { e2e: number[]; in_memory: number[] };
}

export interface E2eSuite {
  trace: string;
  events: number;
  rows: E2eRow[];
}

export interface ScalingPoint {
  events: number;
  inodes?: number;
  ns_per_event: Record<string, number>;
  samples_ns_per_event: Record<string, number[]>;
}

export interface ScalingSuite {
  policies: string[];
  by_events: ScalingPoint[];
  /** Per policy: slowest / fastest ns/event along by_events (1 = flat). */
  flatness: Record<string, number>;
  by_inodes: ScalingPoint[];
}

export interface ContentionRow {
  partition: string;
  policy: string;
  workers: number;
  events_per_s: number;
  speedup_vs_one: number;
  spins_per_acquisition: number;
  lock_acquisitions: number;
  outcomes_differing_from_one_thread: Record<string, { one_thread: number; threads: number }>;
  samples_ns: number[];
}

export interface ContentionSuite {
  workload: string;
  events: number;
  results: ContentionRow[];
}

export interface Suites {
  check?: CheckSuite;
  throughput?: ThroughputSuite;
  e2e?: E2eSuite;
  scaling?: ScalingSuite;
  contention?: ContentionSuite;
}

export interface EngineSummary {
  wasm_events_per_s: number;
  js_events_per_s: number;
  native_events_per_s: number | null;
}

/** One bench results file. */
export interface BenchResults extends ResultsCore {
  schema: typeof RESULTS_SCHEMA;
  quick: boolean;
  manifest: Manifest;
  suites: Suites;
  summary: Record<string, EngineSummary> | null;
  benchmarks: Benchmark[];
  outcomes: Record<string, WorkloadOutcomes>;
  summary_workload: string | null;
  /** The policy × scenario table of spec §d as this run's core gave it (absent in files written before it was kept). */
  scenarios?: ScenarioTable;
  complete: boolean;
  wall_s: number;
}

/** One line of bench/history.jsonl: a complete run, without its raw suites. */
export interface HistoryEntry extends HistoryCore {
  schema: typeof HISTORY_SCHEMA;
  date: string;
  commit: string | null;
  quick: boolean;
  manifest: Manifest;
  summary: Record<string, EngineSummary> | null;
  benchmarks: Benchmark[];
  outcomes: Record<string, WorkloadOutcomes>;
}

