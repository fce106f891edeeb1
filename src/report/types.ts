// The report's input: the results files and history lines (their shapes: src/results/schema.ts) and the scenario table.
import type { ScenarioTable } from "../scenarios/index.js";
import type { BenchResults, HistoryEntry } from "../results/index.js";

export * from "../results/schema.js";

export interface ReportInput {
  /** One or more parsed results files, newest last. The sections describe the newest. */
  results: BenchResults[];
  /** Parsed lines of bench/history.jsonl, oldest first; may be empty. */
  history: HistoryEntry[];
  /** The newest results file's scenario table (runScenarios("wasm", POLICIES).table); null when it has none. */
  scenarios: ScenarioTable | null;
  /** ISO date printed in the footer (default: now). */
  generatedAt?: string;
}
