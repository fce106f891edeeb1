// fbreplay replay: traces through the model under every policy, with injected restarts, re-downloads, replacements.
import {
  DAEMONS, DEFAULT_JOBS, ENGINES, POLICIES, formatReplaySummary, formatReplayTable, replayTraces, type DaemonModel,
  type EngineName,
} from "../../replay/index.js";
import { openTrace } from "../../trace/index.js";
import { deprecation, type Command } from "../command.js";
import { onInterrupt } from "../context.js";
import { injectionOptions, parseInjection } from "../injection.js";
import { UsageError, count, parseChoice, parseList, parseNumber } from "../options.js";
import { Progress } from "../progress.js";

/** Options that change what the trace's events are: a capture replayed with its recorded ids takes none of them. */
const INJECTIONS = ["restart-every", "restart-before-open", "restart-at", "close-ids", "redownload-rate", "replace-rate", "scale"];

export const replay: Command = {
  name: "replay",
  usage: "replay TRACE... [options]",
  summary: "replay traces under every policy, with injected restarts, re-downloads, replacements",
  positionals: true,
  options: {
    policy: { type: "string", value: "P,...", default: "all", help: "policies" },
    engine: { type: "string", value: "wasm|js", default: "wasm", help: "the AssemblyScript core or the TypeScript reference model" },
    ids: {
      type: "string", value: DAEMONS.join("|"), default: "per-inode",
      help: "how the daemon hands out backing ids, so which id each open carries (per-inode: like passthrough_hp; per-open: fuser; per-nodeid: mergerfs; stable-id: server-chosen 64-bit ids from the backing file's identity, Miklos's fuse tree; stable-id-keep: the same, never closing an id inherited across a restart); recorded: the ids a passthrough daemon really used, from its capture (`record --daemon native` or `passthrough_hp`), with no injection",
    },
    "restart-every": { type: "string", value: "N", default: "none", help: "a daemon restart (fd kept, ids forgotten) before every N-th replayed event" },
    "restart-before-open": {
      type: "string", value: "K,...", default: "none",
      help: "a daemon restart just before the K-th open replayed, numbered from 1 (the first open is 1, counted after --scale), for each K. Opens, as record --restart-before-open counts them (the live daemon sees opens, not the trace's events), so the same K lands before the same open of the same workload",
    },
    "restart-at": {
      type: "string", value: "E,...", default: "none",
      help: "deprecated, goes in the next release: restarts before these replayed event indices, counted from 0 (every event, not opens); use --restart-before-open, which counts opens from 1 as record does",
    },
    ...injectionOptions(0),
    jobs: {
      type: "string", value: "N", default: `${DEFAULT_JOBS} (the cores)`,
      help: "replays on worker threads: traces side by side, or one trace's policies in groups; at most the cores run at once, each with an equal share of --max-memory; the counts are the same as with 1, which replays in one thread",
    },
    json: { type: "boolean", help: "print the results as JSON (one object per trace; an array for several traces)" },
  },
  deprecated: { daemon: "ids", "close-all": "close-ids" },
  async run({ values: v, positionals }) {
    const values = v as Record<string, string | undefined> & { json: boolean; "close-ids": boolean };
    if (positionals.length === 0) throw new UsageError("replay needs at least one trace file");
    if (values.ids !== undefined && values.ids.includes(",")) throw new UsageError("--ids takes one daemon model");
    const restartAt = values["restart-at"]?.split(",").map((x) => parseNumber(x, "restart-at", (n) => Number.isInteger(n) && n >= 0, "event indices >= 0")!);
    const restartBeforeOpen = values["restart-before-open"]?.split(",").map((x) => count(x, "restart-before-open")!);
    const engine = parseChoice<EngineName>(values.engine, ENGINES, "engine", "wasm");
    const policies = parseList(values.policy, POLICIES, "policy");
    const daemon = parseChoice<DaemonModel>(values.ids, DAEMONS, "daemon model", "per-inode");
    const plan = {
      engine, policies, daemon,
      ...parseInjection(values, {
        restartEvery: count(values["restart-every"], "restart-every"),
        restartBeforeOpen: restartBeforeOpen?.sort((a, b) => a - b),
        restartAt: restartAt?.sort((a, b) => a - b),
      }),
    };
    if (plan.daemon === "recorded") {
      const injected = INJECTIONS.filter((k) => values[k]);
      if (injected.length > 0) {
        throw new UsageError(`--ids recorded replays a capture as it happened: --${injected[0]} would change what the recorded ids refer to`);
      }
    }
    // Every header and trailer is checked before any replay starts, so a bad file named last fails at once.
    const traces = [];
    // The replay copies each chunk into the core at once: the reader may reuse column buffers.
    for (const path of positionals) traces.push(await openTrace(path, { reuseBuffers: true }));
    if (restartAt !== undefined) {
      deprecation("replay --restart-at (event indices from 0) is deprecated and goes in the next release: use --restart-before-open K (opens from 1, as record)");
    }
    const jobs = count(values.jobs, "jobs") ?? DEFAULT_JOBS;
    const interrupted = onInterrupt();
    const label = traces.length === 1 ? `replay ${traces[0].path}` : `replay ${traces.length} traces`;
    const progress = new Progress(label, 0, "events", values.json);
    let reports;
    try {
      reports = await replayTraces(traces, plan, { jobs, interrupted, onProgress: (done, total) => progress.update(done, total) });
    } finally {
      progress.done();
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2)}\n`);
    } else {
      const tables = reports.map(formatReplayTable);
      if (reports.length > 1) tables.push(formatReplaySummary(reports));
      process.stdout.write(`${tables.join("\n\n")}\n`);
    }
    if (reports.some((r) => !r.complete) || interrupted()) {
      process.stderr.write("fbreplay: interrupted: the counts above cover only the events replayed\n");
      return 130;
    }
    return 0;
  },
};
