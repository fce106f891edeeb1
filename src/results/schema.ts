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
  /** What reading the file and its CRC alone (once per pass) would leave of the in-memory rate: the ratio's bound. */
  bound_read_and_crc?: number;
}

export interface E2eSuite {
  trace: string;
  events: number;
  /** The trace file's size, and what reading it from the page cache and its CRC-32 cost per event. */
  bytes?: number;
  read_ns_per_event?: number;
  crc32_ns_per_event?: number;
  rows: E2eRow[];
}

export interface ParallelRow {
  jobs: number;
  wall_s: number;
  speedup_vs_one: number;
  samples_ns: number[];
}

/** One trace under all policies with --jobs 1 and more (bench/suites/parallel.mjs). */
export interface ParallelSuite {
  trace: string;
  events: number;
  policies: string[];
  rows: ParallelRow[];
  /** The policies in the two groups --jobs 2 replays, each alone in one thread; the speedup no split can pass. */
  groups?: { policies: string[]; wall_s: number; samples_ns: number[] }[];
  bound_two_groups?: number;
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

/**
 * One row of the contention suite. Since issue 16: partition `shared` (N workers on one hot set of `hot_inodes`),
 * `disjoint` (the control: each worker its own), or `connection` (BACKING_OPEN + CLOSE cycles under fc->lock);
 * events are checks (or cycles), `operations` of them per run. Older files: the threaded replay, partitioned by
 * `pid` or `inode`, `events` per run.
 */
export interface ContentionRow {
  partition: string;
  policy: string;
  workers: number;
  hot_inodes?: number;
  /** Per worker: its share's wall time (start → end) and its time on a CPU, per check (or cycle), median. */
  ns_per_check?: number;
  cpu_ns_per_check?: number;
  /** Share of a worker's wall time spent waiting for a CPU (the machine's load), median. */
  waiting_share?: number;
  events_per_s: number;
  speedup_vs_one: number;
  /** The 1-worker CPU time of the slowest worker over this row's: the speedup with a free core per worker. */
  cpu_speedup_vs_one?: number;
  cpu_ns_slowest?: number;
  spins_per_acquisition: number;
  lock_acquisitions: number;
  outcomes_differing_from_one_thread: Record<string, { one_thread: number; threads: number }>;
  /** Operations per run, when not the suite's `events`. */
  operations?: number;
  samples_ns: number[];
}

export interface ContentionSuite {
  workload: string;
  events: number;
  results: ContentionRow[];
}

/** The CLI replaying a long synthetic trace under every policy with the default --jobs (bench/lib/scale.mjs). */
export interface MemorySuite {
  jobs: number;
  events: number;
  trace_bytes: number;
  bytes_per_event: number;
  synth: { wall_s: number; peak_rss_mb: number };
  replay: { wall_s: number; peak_rss_mb: number; policies: number; events_replayed_per_policy: number; ns_per_event: Record<string, number> };
  replay_injected: { options: string; wall_s: number; peak_rss_mb: number; restarts: number; redownloads: number; ns_per_event: Record<string, number> };
}

export interface Suites {
  check?: CheckSuite;
  throughput?: ThroughputSuite;
  e2e?: E2eSuite;
  parallel?: ParallelSuite;
  scaling?: ScalingSuite;
  contention?: ContentionSuite;
  memory?: MemorySuite;
}

export interface EngineSummary {
  wasm_events_per_s: number;
  js_events_per_s: number;
  native_events_per_s: number | null;
}

/** The run's headline figures: per policy the engines' rates, and the targets of bench/README.md. */
export type RunSummary = Record<string, EngineSummary> & {
  parallel_speedup?: number;
  /** The speedup's bound: --jobs 1 over the slowest of the two policy groups alone (bench/suites/parallel.mjs). */
  parallel_bound?: number;
  e2e_ratio?: Record<string, number>;
  /** Per policy set, the ratio's bound from reading the file and its CRC alone (bench/suites/e2e.mjs). */
  e2e_bound?: Record<string, number>;
  contention_control_speedup?: number;
  /** The same control by the workers' CPU time: its speedup had each worker a free core (what load cannot skew). */
  contention_control_cpu_speedup?: number;
  /** Peak RSS of the memory suite's replays (MB), plain and with injection, and their events and --jobs. */
  peak_rss_mb?: { events: number; jobs: number; plain: number; injected: number };
};

/** One bench results file. */
export interface BenchResults extends ResultsCore {
  schema: typeof RESULTS_SCHEMA;
  quick: boolean;
  manifest: Manifest;
  suites: Suites;
  summary: RunSummary | null;
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
  summary: RunSummary | null;
  benchmarks: Benchmark[];
  outcomes: Record<string, WorkloadOutcomes>;
}

