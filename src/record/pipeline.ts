// Recording a workload into a trace, end to end: the daemon (bindfs or passthrough_hp under strace, or fbreplay's own
// passthrough daemon), watched by the kernel capture where the kernel allows it (src/capture: exact pairing, the
// kernel's ids and verdicts, with what only the daemon's side knows merged in: src/record/merge.ts), else its own
// log or records ingested; then what the workload's own strace says about the kernel's refusals.
import { release } from "node:os";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { KernelCapture } from "../capture/index.js";
import { captureWarnings, writeCaptureTrace } from "../capture/trace.js";
import { failedOpens, ingestLibfuseDebug, ingestSummaryLine } from "../ingest/index.js";
import { writeNativeCapture } from "../ingest/native.js";
import type { LiveDaemonModel } from "../fuse/index.js";
import { record } from "./index.js";
import { kernelWatch, type KernelWatch } from "./kernel.js";
import { bindfsSide, mergeDaemonSide, nativeSide, type DaemonSide, type MergeStats } from "./merge.js";
import { recordNative, recordsOf } from "./native.js";

export const RECORDERS = ["bindfs", "passthrough_hp", "native"] as const;
export type Recorder = (typeof RECORDERS)[number];

export interface RecordTraceOptions {
  daemon: Recorder;
  /** Copied into the scratch source first. */
  src?: string;
  /** Keep the raw captures here (otherwise a temporary directory, removed). */
  keep?: string;
  output: string;
  command: string[];
  /** fbreplay's version, for the trace header. */
  version: string;
  /** native only: how the daemon hands out ids, and its restarts. */
  model?: LiveDaemonModel;
  restartEvery?: number;
  /** Restarts before these opens, numbered from 1 (the unit of replay's restartBeforeOpen). */
  restartBeforeOpen?: number[];
  closeIds?: boolean;
  /** Re-download the file of every N-th OPEN before answering it (src/fuse/actions.ts). */
  redownloadEvery?: number;
  /**
   * Record from the kernel (src/capture) where it allows it (default true); false: from the daemon's debug log and
   * strace (bindfs, passthrough_hp) or its own records (native), as before the capture existed.
   */
  kernelCapture?: boolean;
}

/** What became of a recording: the lines to tell (in order), and whether a trace was written. */
export type RecordResult =
  | { kind: "interrupted" }
  | { kind: "failed"; exitCode: number }
  | { kind: "written"; lines: string[] };

export async function recordTrace(o: RecordTraceOptions): Promise<RecordResult> {
  return o.daemon === "native" ? recordWithNativeDaemon(o) : recordWithDebugLog(o);
}

async function recordWithDebugLog(o: RecordTraceOptions): Promise<RecordResult> {
  const daemon = o.daemon as Exclude<Recorder, "native">;
  const watch = o.kernelCapture !== false ? kernelWatch() : null;
  const capture = await record({ daemon, src: o.src, command: o.command, workDir: o.keep, around: watch?.around });
  try {
    const ended = endOf(capture);
    if (ended !== null) return ended;
    if (watch?.result) {
      // bindfs registers no backing files, so the kernel sees no backing identity: bindfs's own, taken as each open
      // happened, merged in by the request's unique.
      return await writeKernelRecording(o, watch.result, capture.workloadStrace, capture.identities === null ? null : bindfsSide(capture.identities));
    }
    const from = `; from ${daemon === "bindfs" ? "bindfs -d" : "passthrough_hp's debug log and strace"} (${whyNoCapture(o, watch)})`;
    const summary = await ingestLibfuseDebug({
      log: capture.daemonLog, identities: capture.identities ?? undefined, daemonStrace: capture.daemonStrace ?? undefined,
      output: o.output, strict: true, workload: o.command.join(" "), hostKernel: release(),
      recorder: { name: daemon === "bindfs" ? "fbreplay record (bindfs -d)" : "fbreplay record (passthrough_hp --debug, under strace)", version: o.version },
    });
    // passthrough_hp shares one id per inode, so the kernel should refuse none of its opens.
    const witness = daemon === "passthrough_hp" ? await workloadEio(capture.workloadStrace) : null;
    const lines = [`${ingestSummaryLine(o.output, summary)}${from}${witness?.said ?? ""}`];
    if (daemon === "passthrough_hp" && summary.recordedOpens > 0 && summary.backingOpens === 0) {
      lines.push("fbreplay: passthrough_hp registered no backing file (the kernel refused FUSE_DEV_IOC_BACKING_OPEN: no FUSE passthrough here?): its opens are not passed through in the trace");
    }
    return { kind: "written", lines };
  } finally {
    if (o.keep === undefined) rmSync(capture.workDir, { recursive: true, force: true });
  }
}

/** The summary's words for a recording made without the kernel capture. */
function whyNoCapture(o: RecordTraceOptions, watch: KernelWatch | null): string {
  return o.kernelCapture === false ? "--no-capture" : `no kernel capture: ${watch?.why ?? "unknown"}`;
}

/**
 * A recording from the kernel capture: exact pairing, the kernel's ids and verdicts; `side`: what the recorder's
 * own records add (src/record/merge.ts), and `source`: what the trace's header says of the daemon.
 */
async function writeKernelRecording(
  o: RecordTraceOptions, c: KernelCapture, workloadStrace: string | null, side: DaemonSide | null, source: Record<string, unknown> = {},
): Promise<RecordResult> {
  const merge = {} as MergeStats;
  const { summary, stats } = await writeCaptureTrace(c, o.output, {
    source: { recorded_by: `fbreplay record --daemon ${o.daemon}`, ...source }, workload: o.command.join(" "), hostKernel: release(),
    recorder: { name: `fbreplay record (${o.daemon}, kernel capture)`, version: o.version },
    keepDigests: o.keep === undefined ? undefined : join(o.keep, "digests.json"),
    transform: side === null ? undefined : (records) => mergeDaemonSide(records, c.records, c.digests, side, merge),
  });
  // The daemon's side may have the bytes the capture could not read.
  if (side !== null) stats.unhashed_backing = merge.unhashedBacking;
  const { eio, said } = await workloadEio(workloadStrace);
  const restarts = o.daemon === "native" ? `, ${summary.restarts} restarts` : "";
  const identities = o.daemon === "bindfs" ? `, bindfs's identities merged by unique` : "";
  const lines = [
    `wrote ${o.output}: ${summary.footer.events} events (${summary.opens} opens, ${summary.refused} refused by the kernel, ` +
    `${summary.releases} releases, ${summary.backing_opens} backing opens, ${summary.backing_closes} backing closes${restarts}), ` +
    `${summary.backing_files} backing files; from the kernel capture (BPF: the kernel's pairing, ids and verdicts${identities})${said}`,
    ...captureWarnings(c, summary, stats),
  ];
  if (side !== null && merge.missingIdentities > 0) {
    lines.push(`fbreplay: ${merge.missingIdentities} of ${summary.opens} opens have no identity from the daemon's side (the file was gone before it was read): their inode number stands for the file`);
  }
  if (merge.racedIdentities > 0) {
    lines.push(`fbreplay: ${merge.racedIdentities} of ${summary.opens} opens' identities were read after the name had moved to another file: the kernel's inode number stands, with the bytes last seen for it`);
  }
  if (merge.unplacedRestarts > 0) {
    lines.push(`fbreplay: warning: ${merge.unplacedRestarts} restarts were not followed by anything the capture saw: they end the trace`);
  }
  if (eio !== null && eio !== summary.refused) {
    lines.push(`fbreplay: warning: the kernel refused ${summary.refused} opens by the capture, but the workload's strace shows ${eio} opens failing with EIO`);
  }
  return { kind: "written", lines };
}

async function recordWithNativeDaemon(o: RecordTraceOptions): Promise<RecordResult> {
  const model = o.model ?? "per-inode";
  const watch = o.kernelCapture !== false ? kernelWatch() : null;
  const capture = await recordNative({
    src: o.src, command: o.command, workDir: o.keep, model, restartEvery: o.restartEvery, restartAt: o.restartBeforeOpen,
    restartCloseIds: o.closeIds, redownloadEvery: o.redownloadEvery, around: watch?.around,
  });
  try {
    const ended = endOf(capture);
    if (ended !== null) return ended;
    const lines: string[] = [];
    if (!capture.status.passthrough) lines.push(`fbreplay: no passthrough on this mount (${capture.status.reason}): the trace has no backing ids`);
    const restarts = [
      o.restartEvery ? `--restart-every ${o.restartEvery}` : "", o.restartBeforeOpen ? `--restart-before-open ${o.restartBeforeOpen.join(",")}` : "", o.closeIds ? "--close-ids" : "",
    ].filter(Boolean).join(" ");
    const source = {
      daemon_model: model, passthrough: capture.status.passthrough, restarts, kernel_proto: capture.status.proto,
      ...(o.redownloadEvery ? { redownload_every: o.redownloadEvery } : {}),
    };
    if (watch?.result) {
      // The daemon's restarts are its own state, which the kernel cannot see: merged in from its records.
      const written = await writeKernelRecording(o, watch.result, capture.workloadStrace, nativeSide(recordsOf(capture.records)()), source);
      if (written.kind === "written") written.lines.unshift(...lines);
      return written;
    }
    const summary = await writeNativeCapture(recordsOf(capture.records), o.output, {
      source: { format: "fbreplay-native", ...source },
      workload: o.command.join(" "), host_kernel: release(),
      recorder: { name: "fbreplay record (native daemon)", version: o.version },
    });
    // The trace's verdicts come from the daemon's side (a RELEASE without a FLUSH); the workload's failing opens are the
    // other witness. They differ only if something else failed opens with EIO, or the inference is wrong: said, not hidden.
    const { eio, said } = await workloadEio(capture.workloadStrace);
    lines.push(
      `wrote ${o.output}: ${summary.footer.events} events (${summary.opens} opens, ${summary.refused} refused by the kernel, ` +
      `${summary.releases} releases, ${summary.backing_opens} backing opens, ${summary.restarts} restarts), ${summary.backing_files} backing files` +
      `; from the daemon's records (${whyNoCapture(o, watch)})${said}`,
    );
    if (eio !== null && eio !== summary.refused) {
      lines.push(`fbreplay: warning: the kernel refused ${summary.refused} opens by the daemon's account, but the workload's strace shows ${eio} opens failing with EIO`);
    }
    return { kind: "written", lines };
  } finally {
    if (o.keep === undefined) rmSync(capture.workDir, { recursive: true, force: true });
  }
}

/** A recording whose command failed or was interrupted: the mount is down and no trace is written. */
function endOf(capture: { interrupted: boolean; exitCode: number }): RecordResult | null {
  if (capture.interrupted) return { kind: "interrupted" };
  if (capture.exitCode !== 0) return { kind: "failed", exitCode: capture.exitCode };
  return null;
}

/**
 * The workload's opens that failed with EIO, by its own strace (with real passthrough: the kernel's refusals), and
 * the words the summary line gives it.
 */
async function workloadEio(strace: string | null): Promise<{ eio: number | null; said: string }> {
  if (strace === null) return { eio: null, said: "; strace is not installed: the workload's failing opens were not counted" };
  const eio = (await failedOpens(strace)).EIO ?? 0;
  return { eio, said: `; the workload saw ${eio} opens fail with EIO` };
}
