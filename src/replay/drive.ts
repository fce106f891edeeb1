// Streams a decoded trace through injection into a replay session and collects the results.
import { TraceError, type TraceFooter, type TraceHeader, type TraceItem } from "../trace/types.js";
import { sliceColumns } from "./events.js";
import { Injector, type InjectOptions } from "./inject.js";
import { createSession } from "./reference.js";
import { DEFAULT_CHUNK_ROWS } from "./wasm.js";
import type { DaemonModel, EngineName, Outcomes, Policy, SessionOptions } from "./types.js";

/** A trace as the replay needs it: its header and footer up front, then its items in order. */
export interface TraceSource {
  path: string;
  header: TraceHeader;
  footer: TraceFooter;
  items(): AsyncIterable<TraceItem>;
}

export interface ReplayPlan extends InjectOptions {
  engine: EngineName;
  policies: readonly Policy[];
  daemon: DaemonModel;
  idMax?: number;
}

export interface PolicyReport extends Outcomes {
  ns_per_event: number;
}

export interface ReplayReport {
  trace: {
    path: string;
    source: string;
    workload: string;
    events: number;
    backing_files: number;
    duration_us: number;
  };
  engine: EngineName;
  daemon: DaemonModel;
  /** Events replayed under each policy: the trace's, times the scale, plus injected restarts. */
  events: number;
  /** False when the replay was interrupted: the counts then cover only `events`. */
  complete: boolean;
  injected: { scale: number; restarts: number; redownloads: number; replacements: number; seed: number };
  policies: Partial<Record<Policy, PolicyReport>>;
  /** The whole run: reading, decoding, injecting and replaying every policy; peak RSS of the process so far. */
  resources: { wall_s: number; events_per_s: number; peak_rss_mb: number };
}

export interface ReplayProgress {
  /** Trace events consumed so far, and in all. */
  done: number;
  total: number;
}

export interface DriveOptions {
  onProgress?: (p: ReplayProgress) => void;
  /** Checked between chunks: true stops the replay, which is then reported as incomplete. */
  interrupted?: () => boolean;
}

export async function replayTrace(source: TraceSource, plan: ReplayPlan, drive: DriveOptions = {}): Promise<ReplayReport> {
  const started = process.hrtime.bigint();
  const injector = new Injector(plan);
  const K = injector.scale;
  const options: SessionOptions = {
    policies: plan.policies,
    daemon: plan.daemon,
    idMax: plan.idMax,
    maxInodes: Math.max(1, (source.footer.max_nodeid + 1) * K),
    maxFiles: Math.max(1, (source.footer.max_fh + 1) * K),
    expectedFiles: source.footer.backing_files * K,
  };
  const session = createSession(plan.engine, [], options);
  const piece = Math.max(1, Math.floor(DEFAULT_CHUNK_ROWS / K));
  let done = 0;
  let complete = true;
  let recordedIds = false;
  for await (const item of source.items()) {
    if (drive.interrupted?.()) {
      complete = false;
      break;
    }
    if (item.kind === "backing") {
      session.addBacking(injector.addTraceBacking(item.files));
      continue;
    }
    if (item.chunk.bid !== undefined) recordedIds = true;
    // Rewritten whole, a chunk would sit in memory K times over: rewrite it in pieces of what the core takes at once.
    for (let at = 0; at < item.chunk.length; at += piece) {
      const { backing, events } = injector.rewrite(sliceColumns(item.chunk, at, Math.min(at + piece, item.chunk.length)));
      if (backing.length > 0) session.addBacking(backing);
      session.feed(events);
    }
    done += item.chunk.length;
    drive.onProgress?.({ done, total: source.footer.events });
  }
  if (plan.daemon === "recorded" && complete && !recordedIds) {
    // Every open would name id 0 and fail: a table of 100% EIO that says nothing about the trace.
    throw new TraceError(source.path, "the whole trace", "it carries no recorded backing ids: --daemon recorded replays captures of a passthrough daemon (record --daemon native or passthrough_hp, or ingest with passthrough_hp's log or --daemon-strace)");
  }
  const outcomes = session.outcomes();
  const elapsed = session.elapsedNs();
  const policies: Partial<Record<Policy, PolicyReport>> = {};
  let events = 0;
  for (const p of plan.policies) {
    const o = outcomes[p]!;
    events = o.events;
    policies[p] = { ...o, ns_per_event: o.events > 0 ? elapsed[p]! / o.events : 0 };
  }
  if (complete) {
    const broken = session.invariantViolations();
    const allClosed = plan.policies.every((p) => outcomes[p]!.open_at_end === 0);
    if (allClosed && broken.length > 0) throw new Error(`model invariants broken after replaying ${source.path}: ${broken.slice(0, 3).join("; ")}`);
  }
  return {
    trace: {
      path: source.path,
      source: source.header.source.format,
      workload: source.header.workload,
      events: source.footer.events,
      backing_files: source.footer.backing_files,
      duration_us: source.footer.duration_us,
    },
    engine: plan.engine,
    daemon: plan.daemon,
    events,
    complete,
    injected: { scale: K, ...injector.counts, seed: plan.seed ?? 1 },
    policies,
    resources: resources(started, events),
  };
}

function resources(started: bigint, events: number): ReplayReport["resources"] {
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    wall_s: Number(wall.toFixed(3)),
    events_per_s: Math.round(events / wall),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** Right-aligned columns under a dashed rule; the first column left-aligned. */
function textTable(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)];
}

/**
 * Several traces side by side, one row each: the share of opens that users saw fail with EIO under each policy,
 * then the accepts that were unsafe (two page caches while one may write) or stale (another file's bytes). Rows are
 * sorted by trace name (by code unit, whatever the shell's locale sorted its glob by).
 */
export function formatReplaySummary(unsorted: readonly ReplayReport[]): string {
  const name = (r: ReplayReport) => r.trace.path.replace(/^.*\//, "").replace(/\.fbt$/, "");
  const reports = [...unsorted].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  const policies = [...new Set(reports.flatMap((r) => Object.keys(r.policies)))] as Policy[];
  const pct = (r: PolicyReport | undefined) => (r === undefined ? "-" : r.opens ? ((100 * r.eio) / r.opens).toFixed(3) : "0.000");
  const bad = (r: PolicyReport | undefined) => (r === undefined ? "-" : String(r.unsafe + r.stale));
  const eio = [["EIO % of opens", ...policies], ...reports.map((r) => [name(r), ...policies.map((p) => pct(r.policies[p]))])];
  const accepts = [["unsafe + stale accepts", ...policies], ...reports.map((r) => [name(r), ...policies.map((p) => bad(r.policies[p]))])];
  return ["All traces:", "", ...textTable(eio), "", ...textTable(accepts)].join("\n");
}

/** The policy × outcome table a person reads. */
export function formatReplayTable(report: ReplayReport): string {
  const cols: [string, (r: PolicyReport) => string][] = [
    ["opens", (r) => String(r.opens)],
    ["accepted", (r) => String(r.accepted)],
    ["EBUSY", (r) => String(r.ebusy)],
    ["ETXTBSY", (r) => String(r.etxtbsy)],
    ["EIO", (r) => String(r.eio)],
    ["EIO %", (r) => (r.opens ? ((100 * r.eio) / r.opens).toFixed(3) : "0")],
    ["unsafe", (r) => String(r.unsafe)],
    ["stale", (r) => String(r.stale)],
    ["peak fb", (r) => String(r.peak_backings)],
    ["peak ids", (r) => String(r.peak_ids)],
    ["anomalies", (r) => String(r.anomalies)],
    ["ns/event", (r) => r.ns_per_event.toFixed(1)],
  ];
  const rows = [["policy", ...cols.map((c) => c[0])]];
  for (const [p, r] of Object.entries(report.policies)) rows.push([p, ...cols.map((c) => c[1](r!))]);
  const inj = report.injected;
  const head = [
    `${report.trace.path}: ${report.trace.workload} (${report.trace.source}, ${report.trace.events} events)`,
    `replayed ${report.events} events on ${report.engine}, daemon ${report.daemon}, scale ${inj.scale}, ` +
      `${inj.restarts} restarts, ${inj.redownloads} re-downloads, ${inj.replacements} replacements (seed ${inj.seed})` +
      (report.complete ? "" : " — INTERRUPTED, counts are partial"),
    `${report.resources.wall_s} s in all (${(report.resources.events_per_s / 1e6).toFixed(1)}M events/s over ` +
      `${Object.keys(report.policies).length} policies), peak RSS ${report.resources.peak_rss_mb} MB`,
  ];
  return [...head, "", ...textTable(rows)].join("\n");
}
