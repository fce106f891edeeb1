// `fbreplay inspect`: what a trace contains, read in one streaming pass with per-nodeid typed arrays.
import { OP_BACKING_CLOSE, OP_BACKING_OPEN, OP_FORGET, OP_LOOKUP, OP_OPEN, OP_RELEASE, OP_RESTART } from "../abi.js";
import { VERDICT_ACCEPTED, VERDICT_REFUSED } from "../trace/types.js";
import type { TraceSource } from "../replay/drive.js";
import { denseIds } from "../trace/dense.js";

export interface TraceStats {
  path: string;
  source: string;
  workload: string;
  recorder: string;
  host_kernel: string;
  created: string;
  events: number;
  events_by_kind: Record<string, number>;
  opens: number;
  releases: number;
  /** Opens of an inode that already had an open file: where conflicting backings can meet. */
  overlapping_opens: number;
  /** Nodeids named again after a FORGET (a new inode instance, possibly another file). */
  nodeid_reuse: number;
  backing_files: number;
  /** Distinct (st_dev, st_ino). */
  backing_inodes: number;
  /** Distinct content digests. */
  digests: number;
  /** Digests held by several backing inodes (re-downloads, copies). */
  shared_digests: number;
  /** Opens carrying the backing id the captured daemon replied with (passthrough captures). */
  recorded_ids: number;
  /** The kernel's verdicts on opens, where the capture recorded them (native captures). */
  kernel_accepted: number;
  kernel_refused: number;
  /** Releases paired by the kernel's behaviour where several open files fitted (logs without fh); absent when the trace does not say. */
  ambiguous_releases?: number;
  /** Opens given a backing id by order where the order could not tell them apart; absent when the trace does not say. */
  ambiguous_ids?: number;
  duration_ns: number;
}

const KIND: Record<number, string> = {
  [OP_OPEN]: "open", [OP_RELEASE]: "release", [OP_FORGET]: "forget", [OP_LOOKUP]: "lookup", [OP_RESTART]: "restart",
  [OP_BACKING_OPEN]: "backing_open", [OP_BACKING_CLOSE]: "backing_close",
};

export async function inspectTrace(traced: TraceSource): Promise<TraceStats> {
  // Tables per nodeid and fh: sized by compact ids when the trace's are sparse.
  const source = await denseIds(traced);
  const byOp = new Float64Array(256);
  const openPerNode = new Int32Array(source.footer.max_nodeid + 1);
  const forgotten = new Uint8Array(source.footer.max_nodeid + 1);
  const nodeOfFh = new Int32Array(source.footer.max_fh + 1).fill(-1);
  let overlapping = 0;
  let reuse = 0;
  const inodes = new Set<string>();
  const inodesByDigest = new Map<string, Set<string>>();
  let backingFiles = 0;
  let recordedIds = 0;
  let accepted = 0;
  let refused = 0;

  for await (const item of source.items()) {
    if (item.kind === "backing") {
      for (const f of item.files) {
        const inode = `${f.dev}:${f.ino}`;
        inodes.add(inode);
        const digest = Buffer.from(f.digest).toString("hex");
        let set = inodesByDigest.get(digest);
        if (set === undefined) inodesByDigest.set(digest, (set = new Set()));
        set.add(inode);
      }
      backingFiles += item.files.length;
      continue;
    }
    const { op, nodeid, fh, length, bid, verdict } = item.chunk;
    for (let i = 0; i < length; i++) {
      const o = op[i];
      byOp[o]++;
      if (o === OP_OPEN) {
        if (bid !== undefined && bid[i] > 0) recordedIds++;
        if (verdict?.[i] === VERDICT_ACCEPTED) accepted++;
        else if (verdict?.[i] === VERDICT_REFUSED) refused++;
      }
      const n = nodeid[i];
      if (o === OP_OPEN || o === OP_LOOKUP) {
        if (forgotten[n] === 1) {
          forgotten[n] = 0;
          reuse++;
        }
        if (o === OP_OPEN) {
          if (openPerNode[n] > 0) overlapping++;
          openPerNode[n]++;
          nodeOfFh[fh[i]] = n;
        }
      } else if (o === OP_RELEASE) {
        const owner = nodeOfFh[fh[i]];
        if (owner >= 0) {
          openPerNode[owner]--;
          nodeOfFh[fh[i]] = -1;
        }
      } else if (o === OP_FORGET) {
        forgotten[n] = 1;
      }
    }
  }
  const eventsByKind: Record<string, number> = {};
  byOp.forEach((count, o) => { if (count > 0) eventsByKind[KIND[o] ?? `op${o}`] = count; });
  const { header, footer } = source;
  return {
    path: source.path,
    source: header.source.format,
    workload: header.workload,
    recorder: `${header.recorder.name} ${header.recorder.version}`,
    host_kernel: header.host_kernel,
    created: header.created,
    events: footer.events,
    events_by_kind: eventsByKind,
    opens: byOp[OP_OPEN],
    releases: byOp[OP_RELEASE],
    overlapping_opens: overlapping,
    nodeid_reuse: reuse,
    backing_files: backingFiles,
    backing_inodes: inodes.size,
    digests: inodesByDigest.size,
    shared_digests: [...inodesByDigest.values()].filter((s) => s.size > 1).length,
    recorded_ids: recordedIds,
    kernel_accepted: accepted,
    kernel_refused: refused,
    ...(traced.footer.ambiguous_releases === undefined ? {} : { ambiguous_releases: traced.footer.ambiguous_releases }),
    ...(traced.footer.ambiguous_ids === undefined ? {} : { ambiguous_ids: traced.footer.ambiguous_ids }),
    duration_ns: footer.duration_us * 1000,
  };
}

export function formatTraceStats(s: TraceStats): string {
  const rows: [string, string | number][] = [
    ["trace", s.path], ["source", s.source], ["workload", s.workload], ["recorder", s.recorder],
    ["host kernel", s.host_kernel || "unknown"], ["created", s.created], ["events", s.events],
    ...Object.entries(s.events_by_kind).map(([k, v]): [string, number] => [`  ${k}`, v]),
    ["overlapping opens", s.overlapping_opens], ["nodeid reuse after FORGET", s.nodeid_reuse],
    ["backing files", s.backing_files], ["backing inodes", s.backing_inodes], ["digests", s.digests],
    ["digests shared by inodes", s.shared_digests], ["duration", `${(s.duration_ns / 1e9).toFixed(3)} s`],
    ...(s.recorded_ids > 0 ? [["opens with the daemon's backing id", s.recorded_ids] as [string, number]] : []),
    ...(s.kernel_accepted + s.kernel_refused > 0
      ? [["kernel verdicts", `${s.kernel_accepted} accepted, ${s.kernel_refused} refused`] as [string, string]] : []),
    ...(s.ambiguous_releases === undefined ? []
      : [["ambiguous releases", s.ambiguous_releases > 0 ? `${s.ambiguous_releases} (paired by the kernel's behaviour, not certain)` : 0] as [string, string | number]]),
    ...(s.ambiguous_ids === undefined ? []
      : [["ambiguous backing ids", s.ambiguous_ids > 0 ? `${s.ambiguous_ids} (given by order, not certain)` : 0] as [string, string | number]]),
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n");
}
