// fbreplay advise: one capture under every daemon behaviour × every policy, and which daemon-side change removes the
// refusals under mainline, at what cost.
import { ADVISE_DAEMONS, BASELINE, MAINLINE, advise, formatAdvice } from "../../advise/index.js";
import { DEFAULT_JOBS } from "../../replay/index.js";
import { openTrace } from "../../trace/index.js";
import type { Command } from "../command.js";
import { onInterrupt } from "../context.js";
import { injectionOptions, parseInjection } from "../injection.js";
import { UsageError, count } from "../options.js";
import { Progress } from "../progress.js";

/** The injection a capture is replayed with unless told otherwise: `npm start`'s, without its scale. */
const DEFAULT_RESTART_EVERY = 50_000;
const DEFAULT_REDOWNLOAD_RATE = 0.001;

export const adviseCommand: Command = {
  name: "advise",
  usage: "advise TRACE [options]",
  summary: `replay one capture under every daemon behaviour (${ADVISE_DAEMONS.join(", ")}) × every policy, and say which daemon-side change removes the refusals under mainline, at what cost`,
  positionals: true,
  options: {
    "restart-every": { type: "string", value: "N", default: DEFAULT_RESTART_EVERY, help: "a daemon restart (fd kept) before every N-th replayed event; 0: only the capture's own" },
    ...injectionOptions(DEFAULT_REDOWNLOAD_RATE),
    jobs: { type: "string", value: "N", default: `${DEFAULT_JOBS} (the cores)`, help: "each daemon's policies replayed in N groups on worker threads; the counts are the same as with 1" },
    json: { type: "boolean", help: 'print {"trace", "injected", "complete", "table": {"<daemon>": {"<policy>": {opens, eio, eio_pct, unsafe, stale, peak_ids, peak_backings}}}, "verdict"}' },
  },
  notes:
    `The verdict compares every daemon under mainline (${MAINLINE}) with ${BASELINE} (libfuse passthrough_hp): the one with the fewest refusals, and what it adds in stale or unsafe accepts, peak ids and pinned backings; then the kernel policy that would help ${BASELINE} most. ` +
    "The recorded daemon is not compared: a capture's own ids take no injection (replay --ids recorded replays them).",
  async run({ values: v, positionals }) {
    const values = v as Record<string, string | undefined> & { json: boolean; "close-ids": boolean };
    if (positionals.length !== 1) throw new UsageError("advise takes one trace file");
    const restartEvery = values["restart-every"] === "0" ? 0 : count(values["restart-every"], "restart-every") ?? DEFAULT_RESTART_EVERY;
    const plan = { engine: "wasm" as const, ...parseInjection(values, { restartEvery: restartEvery || undefined }, DEFAULT_REDOWNLOAD_RATE) };
    const trace = await openTrace(positionals[0], { reuseBuffers: true });
    const jobs = count(values.jobs, "jobs") ?? DEFAULT_JOBS;
    const interrupted = onInterrupt();
    const progress = new Progress(`advise ${trace.path}`, 0, "events", values.json);
    let advice;
    try {
      advice = await advise(trace, plan, { jobs, interrupted, onProgress: (done, total) => progress.update(done, total) });
    } finally {
      progress.done();
    }
    process.stdout.write(values.json ? `${JSON.stringify(advice, null, 2)}\n` : `${formatAdvice(advice)}\n`);
    if (!advice.complete || interrupted()) {
      process.stderr.write("fbreplay: interrupted: the counts above cover only the events replayed\n");
      return 130;
    }
    return 0;
  },
};
