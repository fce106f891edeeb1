// fbreplay ingest: a daemon's debug log (with its strace) or a workload's strace into a trace.
import { ingestLibfuseDebug, ingestStrace, ingestSummaryLine } from "../../ingest/index.js";
import type { Command } from "../command.js";
import { version } from "../context.js";
import { UsageError, checkOutput, isDirectory } from "../options.js";
import { Progress } from "../progress.js";

export const ingest: Command = {
  name: "ingest",
  usage: "ingest --from libfuse-debug|strace LOG -o TRACE [options]",
  summary: "turn a libfuse debug log (-d, with the daemon's strace) or a workload's strace into a trace",
  positionals: true,
  options: {
    from: {
      type: "string", value: "FORMAT", required: true,
      help: "libfuse-debug: a daemon's -d log (libfuse 2 high-level, libfuse 3 low-level, \"dev \"-prefixed; .gz as a\nstream); strace: a workload's `strace -f -tt -y` log of a FUSE mount (needs --mount DIR)",
    },
    mount: { type: "string", value: "DIR", default: "none; required with --from strace", help: "with --from strace: the mount point; only files below it count" },
    "source-dir": { type: "string", value: "DIR", default: "none: synthetic identities", help: "the daemon's source directory: backing identity and sha256 from DIR + the FUSE path" },
    identities: { type: "string", value: "FILE", default: "none", help: "identities taken at open time by `fbreplay record` (JSON lines)" },
    "daemon-strace": {
      type: "string", value: "FILE", default: "none",
      help: "the daemon's own `strace -f -tt -v -y -s 256` (.gz as a stream): each open's backing file\n(path, st_dev/st_ino) and the backing ids of its FUSE_DEV_IOC_BACKING_OPEN calls and open replies.\npassthrough_hp's `--debug` lines (setup/reusing/closed backing file N) in LOG give ids too; with ids\nthe trace replays as it happened under --ids recorded",
    },
    strict: { type: "boolean", help: "fail on the first malformed line (otherwise they are counted and reported)" },
    output: { type: "string", short: "o", value: "FILE", required: true, help: "the trace to write" },
  },
  async run({ values: v, positionals }) {
    const values = v as Record<string, string | undefined> & { strict: boolean };
    if (values.from !== "libfuse-debug" && values.from !== "strace") {
      throw new UsageError(values.from === undefined ? "ingest needs --from libfuse-debug or --from strace" : `unknown log format '${values.from}' (supported: libfuse-debug, strace)`);
    }
    if (positionals.length !== 1 || values.output === undefined) throw new UsageError("ingest needs one LOG and -o TRACE");
    if (values.from === "strace" && values["daemon-strace"] !== undefined) {
      throw new UsageError("--daemon-strace goes with --from libfuse-debug (the daemon's log); --from strace reads the workload's");
    }
    if (values.from === "strace" && values.mount === undefined) {
      throw new UsageError("ingest --from strace needs --mount DIR (the FUSE mount the workload used)");
    }
    const [log, output] = [positionals[0], values.output];
    checkOutput(output, [log, values.identities, values["daemon-strace"]]);
    for (const [option, dir] of [["--source-dir", values["source-dir"]], ["--mount", values.mount]] as const) {
      if (dir !== undefined && !isDirectory(dir)) throw new UsageError(`${option} ${dir}: not a directory`);
    }
    const recorder = { name: "fbreplay ingest", version: version() };
    const progress = new Progress(`ingest ${log}`, 0, "bytes");
    const summary = values.from === "strace"
      ? await ingestStrace({ log, output, mount: values.mount!, strict: values.strict, workload: `strace log ${log}`, recorder })
      : await ingestLibfuseDebug({
        log, output, sourceDir: values["source-dir"], identities: values.identities, daemonStrace: values["daemon-strace"],
        strict: values.strict, workload: `libfuse debug log ${log}`, hostKernel: "", recorder,
        onProgress: (done: number, total: number) => progress.update(done, total),
      });
    progress.done();
    process.stderr.write(`${ingestSummaryLine(output, summary)}\n`);
    return 0;
  },
};
