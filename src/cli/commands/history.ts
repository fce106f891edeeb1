// fbreplay history: the trend of every benchmark over bench/history.jsonl, with change points.
import { readFileSync } from "node:fs";
import { ResultsError, parseHistory } from "../../results/index.js";
import { formatTrends, trends } from "../../compare/history.js";
import { DEFAULT_ALPHA, DEFAULT_THRESHOLD } from "../../compare/stats.js";
import type { Command } from "../command.js";
import { percentOrFraction } from "../options.js";
import { SIGNIFICANCE } from "./compare.js";

export const HISTORY_FILE = new URL("../../../bench/history.jsonl", import.meta.url).pathname;

export const history: Command = {
  name: "history",
  usage: "history [FILE] [--quick] [--threshold 5%] [--alpha 0.05] [--json]",
  summary: "the trend of every benchmark over bench/history.jsonl, with change points",
  positionals: true,
  options: {
    quick: { type: "boolean", help: "the quick runs (npm run bench:quick) instead of the full ones" },
    ...SIGNIFICANCE,
    json: { type: "boolean", help: "print the trends as JSON" },
  },
  notes: "FILE defaults to bench/history.jsonl (every complete `npm run bench` appends to it).",
  run({ values, positionals }) {
    const path = positionals[0] ?? HISTORY_FILE;
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new ResultsError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); \`npm run bench\` writes it`);
    }
    const quick = values.quick as boolean;
    const ts = trends(parseHistory(path, text), percentOrFraction(values.threshold as string | undefined, "threshold", DEFAULT_THRESHOLD),
      percentOrFraction(values.alpha as string | undefined, "alpha", DEFAULT_ALPHA), quick);
    process.stdout.write(values.json ? `${JSON.stringify(ts, null, 2)}\n` : `${formatTrends(ts, quick)}\n`);
    return 0;
  },
};
