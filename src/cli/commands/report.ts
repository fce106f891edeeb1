// fbreplay report: one self-contained HTML file from benchmark results.
import { existsSync } from "node:fs";
import { readReportInput, renderReport } from "../../report/index.js";
import type { Command } from "../command.js";
import { UsageError, checkOutput, writeOutputFile } from "../options.js";
import { HISTORY_FILE } from "./history.js";

export const report: Command = {
  name: "report",
  usage: "report RESULTS.json... [--history FILE] [-o report.html]",
  summary: "one self-contained HTML file: scenarios, outcomes, timings with intervals, curves, trend",
  positionals: true,
  options: {
    history: { type: "string", value: "FILE", default: "bench/history.jsonl when it exists", help: "the runs that give the trend" },
    output: { type: "string", short: "o", value: "FILE", default: "report.html", help: "the page to write" },
  },
  notes: "The newest results file (last) is described. The file opens offline: inline styles and SVG charts, no script\n" +
    "needed, no external request.",
  run({ values, positionals }) {
    if (positionals.length === 0) throw new UsageError("report needs results files: fbreplay report RESULTS.json… [--history FILE] -o report.html");
    const history = (values.history as string | undefined) ?? (existsSync(HISTORY_FILE) ? HISTORY_FILE : undefined);
    const output = (values.output as string | undefined) ?? "report.html";
    checkOutput(output, [...positionals, history]);
    writeOutputFile(output, renderReport(readReportInput(positionals, history)));
    process.stderr.write(`wrote ${output}\n`);
    return 0;
  },
};
