// fbreplay compare: two benchmark results files, timing regressions (statistical) and behaviour changes (exact).
import { readFileSync } from "node:fs";
import { compareResults, formatComparison } from "../../compare/index.js";
import { ResultsError, parseResults, type BenchResults } from "../../results/index.js";
import { DEFAULT_ALPHA, DEFAULT_THRESHOLD } from "../../compare/stats.js";
import type { Command } from "../command.js";
import { UsageError, percentOrFraction } from "../options.js";

export function readResultsFile(path: string): BenchResults {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ResultsError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseResults(path, text);
}

/** The options compare and history share: the noise floor and the test's level. */
export const SIGNIFICANCE = {
  threshold: { type: "string", value: "F", default: `${DEFAULT_THRESHOLD * 100}%`, help: "noise floor: smaller changes are never flagged (a fraction or a percentage)" },
  alpha: { type: "string", value: "A", default: DEFAULT_ALPHA, help: "level of the Mann–Whitney U test" },
} as const;

export const compare: Command = {
  name: "compare",
  usage: "compare BASE.json HEAD.json [--threshold 5%] [--alpha 0.05] [--json]",
  summary: "benchmark results: timing regressions (statistical) and behaviour changes (exact)",
  positionals: true,
  options: { ...SIGNIFICANCE, json: { type: "boolean", help: "print the comparison as JSON" } },
  notes: "Timings: per benchmark, a two-sided Mann–Whitney U test of the samples and a bootstrap interval of the ratio of\n" +
    "medians; \"regressed\"/\"improved\" only when p < alpha, the change exceeds the noise floor --threshold and the\n" +
    "interval excludes 1; fewer than 5 samples on a side gives \"too few samples\". Outcomes: every counter of every\n" +
    "policy on every workload must be identical (same trace and options replay deterministically).\n" +
    "Exit 1 on a regression or a behaviour change, 2 on bad input (unreadable, another schema, different traces).",
  run({ values, positionals }) {
    if (positionals.length !== 2) throw new UsageError("compare needs two results files: fbreplay compare BASE.json HEAD.json");
    const options = {
      threshold: percentOrFraction(values.threshold as string | undefined, "threshold", DEFAULT_THRESHOLD),
      alpha: percentOrFraction(values.alpha as string | undefined, "alpha", DEFAULT_ALPHA),
    };
    const [basePath, headPath] = positionals;
    const c = compareResults(basePath, readResultsFile(basePath), headPath, readResultsFile(headPath), options);
    process.stdout.write(values.json ? `${JSON.stringify(c, null, 2)}\n` : `${formatComparison(c)}\n`);
    return c.regressions > 0 || c.behaviour_changes.length > 0 ? 1 : 0;
  },
};
