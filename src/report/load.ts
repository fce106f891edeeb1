// Reading the report's input: results files and bench/history.jsonl (parsed and checked by src/compare/results.ts,
// with errors that name the file and line). The scenario table is the newest results file's, as the bench run
// that wrote it replayed it: the report describes results, it does not replay anything.
import { readFileSync } from "node:fs";
import { ResultsError, parseHistory as parseSharedHistory, parseResults as parseSharedResults } from "../results/index.js";
import type { BenchResults, HistoryEntry, ReportInput } from "./types.js";

/** A results file as the report reads it: checked by compare's parser, which every reader of results shares. */
export function parseResults(path: string, text: string): BenchResults {
  return parseSharedResults(path, text) as unknown as BenchResults;
}

/** bench/history.jsonl's text: one entry per non-blank line, oldest first. */
export function parseHistory(path: string, text: string): HistoryEntry[] {
  return parseSharedHistory(path, text) as unknown as HistoryEntry[];
}

/**
 * Everything renderReport needs: the results files (oldest first, newest last), the history file if given
 * (bench/history.jsonl; none: no trend), and the scenario table of the wasm engine.
 */
/** A file's text; one line naming it when it cannot be read (a directory, missing, no permission). */
function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new ResultsError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function readReportInput(resultFiles: readonly string[], historyFile?: string): ReportInput {
  if (resultFiles.length === 0) throw new ResultsError("no results file given");
  const results = resultFiles.map((f) => parseResults(f, readText(f)));
  return {
    results,
    history: historyFile === undefined ? [] : parseHistory(historyFile, readText(historyFile)),
    scenarios: results.at(-1)!.scenarios ?? null,
  };
}
