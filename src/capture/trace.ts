// A kernel capture (./index.ts) written as a trace: its records as a daemon's (src/ingest/capture.ts) through the one
// writer of daemon records (writeNativeCapture). Shared by `fbreplay capture` and `fbreplay record`.
import { writeFileSync } from "node:fs";
import { daemonRecordsOf, type CaptureDecodeStats } from "../ingest/capture.js";
import { writeNativeCapture, type NativeCaptureSummary, type RecordSource } from "../ingest/native.js";
import type { KernelCapture } from "./index.js";

export interface CaptureTraceMeta {
  /** What the header's source says beyond the capture's own keys. */
  source: Record<string, unknown>;
  workload: string;
  hostKernel: string;
  recorder: { name: string; version: string };
  /** Where digests.json goes (beside records.bin, when the raw captures are kept). */
  keepDigests?: string;
  /** What a recorder adds to the capture's records before they are written (src/record/merge.ts). */
  transform?: (records: RecordSource) => RecordSource;
}

export async function writeCaptureTrace(c: KernelCapture, output: string, meta: CaptureTraceMeta): Promise<{ summary: NativeCaptureSummary; stats: CaptureDecodeStats }> {
  if (meta.keepDigests !== undefined) writeFileSync(meta.keepDigests, JSON.stringify(Object.fromEntries(c.digests)));
  const stats = {} as CaptureDecodeStats;
  const daemons = [...c.daemons].map(([pid, comm]) => `${comm}[${pid}]`).join(", ");
  const records = daemonRecordsOf(c.records, c.digests, stats);
  const summary = await writeNativeCapture(meta.transform === undefined ? records : meta.transform(records), output, {
    source: {
      format: "fbreplay-capture", connection: c.dev, daemon: daemons, complete: c.lost === 0, lost_records: c.lost, ...meta.source,
      // Read when the header is written, after the writer's first pass over the records has filled `stats`.
      get backing_id_offset() { return stats.backing_id_offset; },
    },
    workload: meta.workload, host_kernel: meta.hostKernel, recorder: meta.recorder,
  });
  return { summary, stats };
}

/** The warnings a capture's trace comes with, one line each. */
export function captureWarnings(c: KernelCapture, summary: NativeCaptureSummary, stats: CaptureDecodeStats): string[] {
  const lines: string[] = [];
  if (c.lost > 0) lines.push(`fbreplay: warning: the ring buffer lost ${c.lost} records: the trace is incomplete (complete: false)`);
  if (stats.unhashed_backing > 0) {
    lines.push(`fbreplay: ${stats.unhashed_backing} of ${summary.backing_opens} backing files were closed before they could be read: their bytes stand for their inode in the trace`);
  }
  if (stats.preexisting_ids > 0) lines.push(`fbreplay: ${stats.preexisting_ids} opens used backing ids registered before the capture started`);
  return lines;
}
