// fbreplay oracle: the kernel's verdict on each open of a capture against the model's.
import { formatOracle, runOracle } from "../../oracle/index.js";
import { openTrace } from "../../trace/index.js";
import { TraceError } from "../../trace/types.js";
import type { Command } from "../command.js";
import { UsageError } from "../options.js";

export const oracle: Command = {
  name: "oracle",
  usage: "oracle TRACE [--json]",
  summary: "compare the kernel's verdict on each open of a capture (capture, record --daemon native) with the model's",
  positionals: true,
  options: { json: { type: "boolean", help: "print the comparison as JSON" } },
  notes: "Replays a trace that carries the kernel's verdicts (capture, record --daemon native) through the reference\n" +
    "model with policy ptr, with the ids the daemon recorded (and, for a native capture, once more with the daemon\n" +
    "model it ran and the same restarts), and compares each open's verdict with the kernel's. Prints agreements and every mismatch with its context; exit 1 if any open disagrees.",
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new UsageError("oracle needs one trace: fbreplay oracle TRACE");
    const trace = await openTrace(positionals[0]);
    const report = await runOracle(trace).catch((e: Error) => {
      if (e instanceof TraceError) throw e;
      throw new UsageError(e.message); // a trace without the kernel's verdicts
    });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatOracle(report)}\n`);
    return report.runs.every((r) => r.mismatches.length === 0 && r.anomalies === 0) ? 0 : 1;
  },
};
