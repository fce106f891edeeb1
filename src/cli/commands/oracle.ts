// fbreplay oracle: the kernel's verdict on each open of a capture against the model's.
import { formatOracle, runOracle } from "../../oracle/index.js";
import { openTrace } from "../../trace/index.js";
import type { Command } from "../command.js";
import { UsageError } from "../options.js";

export const oracle: Command = {
  name: "oracle",
  usage: "oracle TRACE [--json]",
  summary: "compare the kernel's verdict on each open of a native capture with the model's",
  positionals: true,
  options: { json: { type: "boolean", help: "print the comparison as JSON" } },
  notes: "Replays a native capture through the reference model with policy ptr, once with the ids the daemon recorded\n" +
    "and once with the daemon model it ran (and the same restarts), and compares each open's verdict with the\n" +
    "kernel's. Prints agreements and every mismatch with its context; exit 1 if any open disagrees.",
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new UsageError("oracle needs one trace: fbreplay oracle TRACE");
    const trace = await openTrace(positionals[0]);
    if (trace.header.source.format !== "fbreplay-native") {
      throw new UsageError(`${trace.path}: not a native capture (source ${trace.header.source.format}): only \`record --daemon native\` traces carry the kernel's verdicts`);
    }
    const report = await runOracle(trace);
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatOracle(report)}\n`);
    return report.runs.every((r) => r.mismatches.length === 0 && r.anomalies === 0) ? 0 : 1;
  },
};
