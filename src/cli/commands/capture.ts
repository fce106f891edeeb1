// fbreplay capture: the FUSE traffic of any daemon's mount, from the kernel (src/capture), into a trace (through
// src/ingest/capture.ts and the native capture writer).
import { mkdirSync, rmSync } from "node:fs";
import { release } from "node:os";
import { capture } from "../../capture/index.js";
import { straceVerdicts, withStraceVerdicts, type StraceVerdictStats } from "../../capture/strace.js";
import { captureWarnings, writeCaptureTrace } from "../../capture/trace.js";
import type { Command } from "../command.js";
import { version } from "../context.js";
import { UsageError, checkOutput, parseNumber } from "../options.js";

export const captureCommand: Command = {
  name: "capture",
  usage: "capture --mount DIR -o TRACE [--duration S] [--workload-strace] [--keep DIR] [--ring-kib N] [-- CMD ARGS...]",
  summary: "record the FUSE traffic of any daemon's mount from the kernel (BPF), with the backing id of every open and the kernel's verdict on it",
  takesCommand: true,
  options: {
    mount: { type: "string", value: "DIR", required: true, help: "a directory of the FUSE mount whose connection is traced (the daemon is not touched)" },
    duration: { type: "string", value: "S", help: "without a command: stop after S seconds (default: at Ctrl-C)" },
    "workload-strace": {
      type: "boolean",
      help: "with -- CMD: run CMD under strace (open calls only, as record --daemon native does) and take each\n" +
        "open's verdict from the return strace saw, paired with the request by the opener's thread and time;\n" +
        "BPF's own verdict (the opener's syscall return) is the cross-check: the summary says how many opens\n" +
        "got strace's verdict, and every one where the two differ. Needs strace",
    },
    keep: { type: "string", value: "DIR", default: "none: removed", help: "keep the loader's raw records (records.bin, digests.json, workload.strace) in DIR" },
    "ring-kib": {
      type: "string", value: "N", default: 16384,
      help: "the BPF ring buffer's size in KiB (a power of 2): records that find it full are lost, counted, and the trace is marked incomplete",
    },
    output: { type: "string", short: "o", value: "FILE", required: true, help: "the trace to write" },
  },
  notes: "With -- CMD, CMD runs in DIR and the capture ends with it; without, it runs until Ctrl-C or --duration.\n" +
    "BPF on the tracepoints fuse_request_send/fuse_request_end reads every request and reply (open flags, fh,\n" +
    "FOPEN_* and backing id, releases, flushes, lookups); the raw syscall tracepoints give the daemon's\n" +
    "FUSE_DEV_IOC_BACKING_OPEN/CLOSE ioctls (the id and the backing file's st_dev/st_ino) and each opener's own\n" +
    "syscall return: the kernel's verdict on every open. FORGETs never pass these tracepoints: an inode instance\n" +
    "ends where a lookup names its nodeid with another generation or inode number. Needs root, BTF\n" +
    "(/sys/kernel/btf/vmlinux) and the loader scripts/build-capture.sh builds (Debian's clang, libbpf-dev, bpftool).\n" +
    "Ctrl-C stops the capture (and CMD) and still writes the trace of what was captured.",
  async run({ values: v, rest: command }) {
    const values = v as Record<string, string | undefined>;
    if (values.mount === undefined) throw new UsageError("capture needs --mount DIR");
    if (values.output === undefined) throw new UsageError("capture needs -o TRACE");
    checkOutput(values.output, []);
    const durationS = parseNumber(values.duration, "duration", (n) => n > 0, "a positive number of seconds");
    if (durationS !== undefined && command.length > 0) throw new UsageError("--duration is for a capture without a command (with one, the capture ends with it)");
    const workloadStrace = (v as { "workload-strace"?: boolean })["workload-strace"] === true;
    if (workloadStrace && command.length === 0) throw new UsageError("--workload-strace needs the command after --: capture --mount DIR -o TRACE --workload-strace -- CMD");
    const ringKib = parseNumber(values["ring-kib"], "ring-kib", (n) => Number.isInteger(n) && n >= 4 && (n & (n - 1)) === 0, "a power of 2 of at least 4 (KiB)");
    if (values.keep !== undefined) mkdirSync(values.keep, { recursive: true });
    const progress = process.stderr.isTTY ? (n: number) => process.stderr.write(`\rcapture: ${n} records`) : undefined;
    const c = await capture({
      mount: values.mount, command, durationS, workDir: values.keep, onProgress: progress, workloadStrace,
      ringBytes: ringKib === undefined ? undefined : ringKib * 1024,
      onReady: command.length === 0 ? () => process.stderr.write(`capturing ${values.mount}: Ctrl-C to stop\n`) : undefined,
    });
    try {
      const fromStrace = c.workloadStrace === null ? null : await straceVerdicts(c.records, c.workloadStrace, values.mount);
      const { summary, stats } = await writeCaptureTrace(c, values.output, {
        transform: fromStrace === null ? undefined : (records) => withStraceVerdicts(records, fromStrace.verdicts),
        source: { mount: values.mount, interrupted: c.interrupted && command.length > 0 },
        workload: command.length > 0 ? command.join(" ") : `capture of ${values.mount}`, hostKernel: release(),
        recorder: { name: "fbreplay capture (BPF)", version: version() },
        keepDigests: values.keep === undefined ? undefined : `${values.keep}/digests.json`,
      });
      if (progress) process.stderr.write("\n");
      process.stderr.write(
        `wrote ${values.output}: ${summary.footer.events} events (${summary.opens} opens, ${summary.refused} refused by the kernel, ` +
        `${summary.releases} releases, ${summary.backing_opens} backing opens, ${summary.backing_closes} backing closes, ` +
        `${stats.inferred_forgets} forgets inferred), ${summary.backing_files} backing files, ${c.recordCount} records` +
        `${fromStrace === null ? "" : straceSaid(fromStrace.stats)}\n`,
      );
      if (fromStrace !== null && fromStrace.stats.disagree > 0) {
        process.stderr.write(`fbreplay: warning: ${fromStrace.stats.disagree} opens' verdicts differ between the workload's strace and BPF (unique: strace's return vs BPF's): ${fromStrace.stats.disagreements.join(", ")}\n`);
      }
      for (const line of captureWarnings(c, summary, stats)) process.stderr.write(`${line}\n`);
      if (command.length > 0 && c.interrupted) return 130;
      if (command.length > 0 && c.exitCode !== 0) {
        process.stderr.write(`fbreplay: ${command[0]} exited with status ${c.exitCode}\n`);
        return 1;
      }
      return 0;
    } finally {
      if (values.keep === undefined) rmSync(c.workDir, { recursive: true, force: true });
    }
  },
};

/** The summary's words on the verdicts from the workload's strace. */
function straceSaid(s: StraceVerdictStats): string {
  const bpf = s.fromBpf === 0 ? "" : ` (${s.fromBpf} sent by no call strace saw: BPF's)`;
  return `; verdicts of ${s.fromStrace} opens from the workload's strace${bpf}, ${s.disagree} differing from BPF's`;
}
