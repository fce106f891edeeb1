// fbreplay advise: one capture under every modelled daemon behaviour × every policy, and a verdict a daemon author can
// act on: which change on the daemon's side removes the refusals under mainline, and what it costs.
import {
  MODELLED_DAEMONS, POLICIES, replayTraces,
  type Outcomes, type ParallelOptions, type Policy, type ReplayPlan, type ReplayReport, type TraceSource,
} from "../replay/index.js";
import { textTable } from "../table.js";

/** The daemons advise compares: every modelled one ("recorded" replays a capture's own ids and takes no injection). */
export const ADVISE_DAEMONS = MODELLED_DAEMONS;
export type AdviseDaemon = (typeof ADVISE_DAEMONS)[number];

/** The daemon the verdict starts from: libfuse's passthrough_hp, one id per backing inode (spec §i.4). */
export const BASELINE: AdviseDaemon = "per-inode";
/** The kernel the verdict is about: mainline's pointer check (6.9 → 7.0). */
export const MAINLINE: Policy = "ptr";

export interface AdviseCell {
  opens: number;
  eio: number;
  /** EIO in % of opens. */
  eio_pct: number;
  unsafe: number;
  stale: number;
  peak_ids: number;
  peak_backings: number;
}

export type AdviseTable = Record<AdviseDaemon, Record<Policy, AdviseCell>>;

export interface Verdict {
  /** EIO under mainline with the baseline daemon. */
  baseline_eio: number;
  /**
   * The daemon with the fewest EIO under mainline (ties: fewer stale + unsafe accepts, then fewer peak ids), or null
   * when no daemon has fewer than the baseline.
   */
  best: AdviseDaemon | null;
  /** Its EIO, stale and unsafe accepts and peaks under mainline (the baseline's when best is null). */
  eio: number;
  stale: number;
  unsafe: number;
  peak_ids: number;
  peak_backings: number;
  /** The kernel policy with the fewest EIO for the baseline daemon, and that number. */
  kernel: Policy;
  kernel_eio: number;
  /** The verdict in words, one sentence a line. */
  text: string[];
}

export interface Advice {
  trace: ReplayReport["trace"];
  injected: ReplayReport["injected"];
  /** False when interrupted: the counts cover only part of the trace. */
  complete: boolean;
  table: AdviseTable;
  verdict: Verdict;
}

export type AdvisePlan = Omit<ReplayPlan, "daemon" | "policies">;

function cellOf(o: Outcomes): AdviseCell {
  return {
    opens: o.opens, eio: o.eio, eio_pct: o.opens > 0 ? Math.round((o.eio / o.opens) * 1e5) / 1e3 : 0,
    unsafe: o.unsafe, stale: o.stale, peak_ids: o.peak_ids, peak_backings: o.peak_backings,
  };
}

/** Replays `trace` once per daemon (each replay's policies on worker threads, as `replay` does). */
export async function advise(trace: TraceSource, plan: AdvisePlan, o: ParallelOptions = {}): Promise<Advice> {
  const table = {} as AdviseTable;
  let first: ReplayReport | undefined;
  let complete = true;
  const total = trace.footer.events * ADVISE_DAEMONS.length;
  for (const [i, daemon] of ADVISE_DAEMONS.entries()) {
    const [report] = await replayTraces([trace], { ...plan, daemon, policies: POLICIES }, {
      ...o, onProgress: (done) => o.onProgress?.(i * trace.footer.events + done, total),
    });
    if (report === undefined) return incomplete(trace, plan, table);
    first ??= report;
    complete &&= report.complete;
    // An interrupt can come before some of the policy groups started: those have no counts (zeros, as in fill()).
    table[daemon] = Object.fromEntries(POLICIES.map((p) => [p, report.policies[p] ? cellOf(report.policies[p]) : ZERO_CELL])) as Record<Policy, AdviseCell>;
    if (!report.complete || o.interrupted?.()) return { trace: report.trace, injected: report.injected, complete: false, table, verdict: verdictOf(fill(table)) };
  }
  return { trace: first!.trace, injected: first!.injected, complete, table, verdict: verdictOf(table) };
}

function incomplete(trace: TraceSource, plan: AdvisePlan, table: AdviseTable): Advice {
  return {
    trace: { path: trace.path, source: "", workload: "", events: 0, backing_files: 0, duration_us: 0 },
    injected: { scale: plan.scale ?? 1, restarts: 0, redownloads: 0, replacements: 0, seed: plan.seed ?? 1 },
    complete: false, table, verdict: verdictOf(fill(table)),
  };
}

const ZERO_CELL: AdviseCell = { opens: 0, eio: 0, eio_pct: 0, unsafe: 0, stale: 0, peak_ids: 0, peak_backings: 0 };

/** An interrupted run's table with the daemons not replayed as zeros, so a verdict can still be formed (and is marked). */
function fill(table: AdviseTable): AdviseTable {
  const out = { ...table };
  for (const d of ADVISE_DAEMONS) out[d] ??= Object.fromEntries(POLICIES.map((p) => [p, ZERO_CELL])) as Record<Policy, AdviseCell>;
  return out;
}

const cost = (c: AdviseCell) => c.stale + c.unsafe;

/** The verdict from the table alone (test/advise.test.ts checks it against the counts printed beside it). */
export function verdictOf(table: AdviseTable): Verdict {
  const base = table[BASELINE][MAINLINE];
  const ranked = [...ADVISE_DAEMONS].sort((a, b) => {
    const x = table[a][MAINLINE], y = table[b][MAINLINE];
    return x.eio - y.eio || cost(x) - cost(y) || x.peak_ids - y.peak_ids || ADVISE_DAEMONS.indexOf(a) - ADVISE_DAEMONS.indexOf(b);
  });
  const candidate = ranked[0];
  const best = table[candidate][MAINLINE].eio < base.eio ? candidate : null;
  const chosen = table[best ?? BASELINE][MAINLINE];
  const kernel = [...POLICIES].sort((a, b) => table[BASELINE][a].eio - table[BASELINE][b].eio || cost(table[BASELINE][a]) - cost(table[BASELINE][b]))[0];
  const kernelCell = table[BASELINE][kernel];
  const text: string[] = [];
  const pct = (c: AdviseCell) => `${c.eio_pct.toFixed(3)}% of opens`;
  if (base.eio === 0) {
    text.push(`Under mainline (${MAINLINE}) a ${BASELINE} daemon (passthrough_hp) is refused no open here: no daemon-side change is needed.`);
  } else if (best === null) {
    text.push(`Under mainline (${MAINLINE}) a ${BASELINE} daemon (passthrough_hp) is refused ${base.eio} opens (${pct(base)}), and no daemon behaviour modelled refuses fewer.`);
  } else {
    const gone = chosen.eio === 0 ? "removes every refusal" : `cuts the refusals from ${base.eio} to ${chosen.eio} (${pct(chosen)})`;
    text.push(`Under mainline (${MAINLINE}) a ${BASELINE} daemon (passthrough_hp) is refused ${base.eio} opens (${pct(base)}); handing out ids as the ${best} daemon does ${gone}.`);
    const costs: string[] = [];
    const added = (name: string, now: number, before: number) => { if (now > before) costs.push(`${name} ${before} → ${now}`); };
    added("stale accepts", chosen.stale, base.stale);
    added("unsafe accepts", chosen.unsafe, base.unsafe);
    added("peak ids", chosen.peak_ids, base.peak_ids);
    added("peak pinned backings", chosen.peak_backings, base.peak_backings);
    text.push(costs.length === 0 ? "Its cost: none measured (no more stale or unsafe accepts, ids or pinned backings)." : `Its cost: ${costs.join(", ")}.`);
  }
  if (base.eio > 0) {
    text.push(kernelCell.eio < base.eio
      ? `On the kernel side, ${kernel} would leave ${BASELINE} ${kernelCell.eio} refusals, with ${kernelCell.stale} stale and ${kernelCell.unsafe} unsafe accepts.`
      : `No kernel policy modelled refuses fewer opens of a ${BASELINE} daemon.`);
  }
  return {
    baseline_eio: base.eio, best, eio: chosen.eio, stale: chosen.stale, unsafe: chosen.unsafe, peak_ids: chosen.peak_ids,
    peak_backings: chosen.peak_backings, kernel, kernel_eio: kernelCell.eio, text,
  };
}

/** The daemon × policy table: one row per daemon and policy. */
export function formatAdvice(a: Advice): string {
  const rows: string[][] = [["daemon", "policy", "opens", "EIO", "EIO %", "unsafe", "stale", "peak ids", "peak fb"]];
  for (const d of ADVISE_DAEMONS) {
    const cells = a.table[d];
    if (cells === undefined) continue;
    for (const p of POLICIES) {
      const c = cells[p];
      rows.push([d, p, `${c.opens}`, `${c.eio}`, c.eio_pct.toFixed(3), `${c.unsafe}`, `${c.stale}`, `${c.peak_ids}`, `${c.peak_backings}`]);
    }
  }
  const i = a.injected;
  const head = `${a.trace.path}: ${a.trace.events} events, scale ${i.scale}, ${i.restarts} injected restarts, ${i.redownloads} re-downloads, ${i.replacements} replacements (seed ${i.seed})`;
  return [head, "", ...textTable(rows, { left: [0, 1] }), "", ...a.verdict.text].join("\n");
}

