// fbreplay export: the benchmarks of a results file for other trackers.
import { EXPORT_FORMATS, exportResults, type ExportFormat } from "../../compare/export.js";
import type { Command } from "../command.js";
import { UsageError, checkOutput, writeOutputFile } from "../options.js";
import { readResultsFile } from "./compare.js";

export const exportCommand: Command = {
  name: "export",
  usage: `export RESULTS.json --format ${EXPORT_FORMATS.join("|")} [-o FILE]`,
  summary: "the benchmarks of a results file for other trackers (Bencher BMF, github-action-benchmark, CSV)",
  positionals: true,
  options: {
    format: { type: "string", value: EXPORT_FORMATS.join("|"), required: true, help: "the trackers' format" },
    output: { type: "string", short: "o", value: "FILE", default: "standard output", help: "where to write" },
  },
  notes: "bmf: Bencher Metric Format (measure \"latency\", ns); github: github-action-benchmark customSmallerIsBetter;\n" +
    "csv: name,unit,median,lower,upper,samples,commit,date. Values are medians with 95% bootstrap intervals.",
  run({ values, positionals }) {
    if (positionals.length !== 1) throw new UsageError(`export needs one results file: fbreplay export RESULTS.json --format ${EXPORT_FORMATS.join("|")}`);
    const format = values.format as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) throw new UsageError(`--format ${values.format ?? "(missing)"}: one of ${EXPORT_FORMATS.join(", ")}`);
    const output = values.output as string | undefined;
    if (output !== undefined) checkOutput(output, positionals);
    const text = exportResults(readResultsFile(positionals[0]), format);
    if (output !== undefined) writeOutputFile(output, text);
    else process.stdout.write(text);
    return 0;
  },
};
