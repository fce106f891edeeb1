// fbreplay inspect: what a trace holds.
import { formatTraceStats, inspectTrace } from "../../inspect/index.js";
import { openTrace } from "../../trace/index.js";
import type { Command } from "../command.js";
import { UsageError } from "../options.js";

export const inspect: Command = {
  name: "inspect",
  usage: "inspect TRACE [--json]",
  summary: "what a trace holds: events by kind, overlapping opens, nodeid reuse, backing files, recorded ids and verdicts",
  positionals: true,
  options: {
    json: { type: "boolean", help: '{"events", "opens", "releases", "overlapping_opens", "nodeid_reuse",\n"backing_inodes", "digests", "shared_digests", "duration_ns", ...}' },
  },
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new UsageError("inspect takes one trace file");
    const stats = await inspectTrace(await openTrace(positionals[0]));
    process.stdout.write(values.json ? `${JSON.stringify(stats, null, 2)}\n` : `${formatTraceStats(stats)}\n`);
    return 0;
  },
};
