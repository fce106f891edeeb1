// Replaying several traces, or several policies of one trace, on worker threads. Each policy's replay is
// independent of the others' (each has its own kernel context and daemon; the injection is the same from the same
// seed), so a trace can be replayed under groups of policies apart and their reports joined: the counters are those
// of one session under all of them, counter for counter (test/parallel.test.ts).
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { TraceError } from "../trace/types.js";
import type { Policy } from "../engine.js";
import { defaultMaxMemory, replayBytes, replaySizes } from "./budget.js";
import { replayTrace, type ReplayPlan, type ReplayReport, type TraceSource } from "./drive.js";
import type { UnitData, UnitMessage } from "./worker.js";
import { peakRssBytes } from "../rss.js";

export interface ParallelOptions {
  /** Replays at once (default: the machine's cores). 1 replays in this thread, one trace after another. */
  jobs?: number;
  /** Trace events consumed so far over every unit, and in all. */
  onProgress?: (done: number, total: number) => void;
  /** Checked between chunks: true stops every replay, which is then reported as incomplete. */
  interrupted?: () => boolean;
}

export const DEFAULT_JOBS = availableParallelism();

/** The worker's compiled module: beside this one in dist/, and the build's when this runs from src/ (the tests). */
const WORKER = new URL(import.meta.url.endsWith(".ts") ? "../../dist/replay/worker.js" : "./worker.js", import.meta.url);

/**
 * The cost of a policy relative to the others, for grouping. `lookup` costs 1.04–1.1× `ptr` per event now, but
 * weighing it 2 puts it with one other policy, which balanced the two groups best as measured: {digest, lookup}
 * 2.13 s against {ptr, inode, reuse} 2.33 s on the 10M-event trace (bench/README.md, "Targets").
 */
const WEIGHT: Partial<Record<Policy, number>> = { lookup: 2 };
const weight = (p: Policy) => WEIGHT[p] ?? 1;

/** Policies in `groups` groups of about equal cost, each in the plan's order. */
export function policyGroups(policies: readonly Policy[], groups: number): Policy[][] {
  const out: Policy[][] = Array.from({ length: Math.min(groups, policies.length) }, () => []);
  const load = out.map(() => 0);
  for (const p of [...policies].sort((a, b) => weight(b) - weight(a))) {
    const g = load.indexOf(Math.min(...load));
    out[g].push(p);
    load[g] += weight(p);
  }
  return out.map((g) => policies.filter((p) => g.includes(p)));
}

interface Unit {
  trace: number;
  policies: Policy[];
  /** The trace's events (progress counts them once per unit). */
  events: number;
  cost: number;
  /** What its tables take, about (./budget.ts): the units running at once stay within --max-memory together. */
  bytes: number;
}

/**
 * A trace's policies in units: in groups when there are jobs to spare (more jobs than traces), and in as many more
 * groups as it takes for each to fit in the memory budget, down to one policy each (a policy that alone does not fit
 * is refused by the replay itself, in one line). Each group reads and injects the trace itself.
 */
function planUnits(traces: readonly TraceSource[], plan: ReplayPlan, jobs: number, budget: number): Unit[] {
  const K = plan.scale ?? 1;
  const spare = Math.max(1, Math.floor(jobs / traces.length));
  return traces.flatMap((t, trace) => {
    const bytes = (policies: readonly Policy[]) => replayBytes(plan.engine, replaySizes(t.footer, K, policies.length));
    let groups = Math.min(spare, plan.policies.length);
    while (groups < plan.policies.length && policyGroups(plan.policies, groups).some((g) => bytes(g) > budget)) groups++;
    return policyGroups(plan.policies, groups).map((policies) => ({
      trace, policies, events: t.footer.events, cost: t.footer.events * K * policies.reduce((n, p) => n + weight(p), 0), bytes: bytes(policies),
    }));
  });
}

/**
 * Reports for `traces` in their order. Units (./planUnits) run on worker threads, as many at once as there are
 * jobs and as fit in the budget together, or one after another in this thread with one job.
 */
export async function replayTraces(traces: readonly TraceSource[], plan: ReplayPlan, o: ParallelOptions = {}): Promise<ReplayReport[]> {
  const jobs = Math.max(1, o.jobs ?? DEFAULT_JOBS);
  const budget = plan.maxMemory ?? defaultMaxMemory();
  const units = planUnits(traces, plan, jobs, budget);
  const unitsTotal = units.reduce((s, u) => s + u.events, 0);
  const reports = jobs === 1 ? await replayHere(traces, units, plan, o, unitsTotal) : await replayApart(traces, units, plan, o, jobs, budget, unitsTotal);
  return traces.flatMap((_, i) => {
    const parts = units.filter((u) => u.trace === i && reports.has(u)).map((u) => reports.get(u)!);
    if (parts.length === 0) return [];
    const whole = parts.length === units.filter((u) => u.trace === i).length;
    return [join(parts, plan.policies, whole)];
  });
}

async function replayApart(traces: readonly TraceSource[], units: Unit[], plan: ReplayPlan, o: ParallelOptions, jobs: number, budget: number, unitsTotal: number): Promise<Map<Unit, ReplayReport>> {
  // More threads than cores only add memory (each unit has its own tables): the groups follow --jobs, but at most
  // the cores run at once, and each gets an equal share of the budget, more when its tables need it.
  const atOnce = Math.min(jobs, DEFAULT_JOBS, units.length);
  const share = (u: Unit) => Math.min(budget, Math.max(u.bytes, Math.floor(budget / atOnce)));
  let inFlight = 0;
  let finished: () => void = () => {};
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const done = new Map<Unit, number>();
  const checkStop = () => { if (o.interrupted?.()) Atomics.store(stop, 0, 1); };
  const progress = () => {
    o.onProgress?.([...done.values()].reduce((a, b) => a + b, 0), unitsTotal);
    checkStop();
  };
  const reports = new Map<Unit, ReplayReport>();
  const queue = [...units].sort((a, b) => b.cost - a.cost);
  checkStop();
  const watch = setInterval(checkStop, 50); // a Ctrl-C between progress messages
  try {
    // A unit starts when its share fits in what the running ones leave of the budget, or when none runs. Its share
    // is its own --max-memory: the core cannot grow past it (./wasm.ts), so the units together stay within the
    // budget however far injections grow their tables.
    const run = async (): Promise<void> => {
      while (queue.length > 0 && Atomics.load(stop, 0) === 0) {
        const at = queue.findIndex((u) => inFlight === 0 || inFlight + share(u) <= budget);
        if (at < 0) {
          await new Promise<void>((resolve) => { const before = finished; finished = () => { before(); resolve(); }; });
          continue;
        }
        const [unit] = queue.splice(at, 1);
        const allowance = share(unit);
        inFlight += allowance;
        try {
          const data: UnitData = { path: traces[unit.trace].path, plan: { ...plan, policies: unit.policies, maxMemory: allowance }, stop };
          reports.set(unit, await runUnit(data, (n) => { done.set(unit, n); progress(); }));
        } catch (e) {
          Atomics.store(stop, 0, 1); // the others stop at their next chunk: the error is the answer
          throw e;
        } finally {
          inFlight -= allowance;
          const wake = finished;
          finished = () => {};
          wake();
        }
      }
    };
    await Promise.all(Array.from({ length: atOnce }, run));
  } finally {
    clearInterval(watch);
  }
  return reports;
}

async function replayHere(traces: readonly TraceSource[], units: readonly Unit[], plan: ReplayPlan, o: ParallelOptions, unitsTotal: number): Promise<Map<Unit, ReplayReport>> {
  const reports = new Map<Unit, ReplayReport>();
  let before = 0;
  for (const unit of units) {
    const report = await replayTrace(traces[unit.trace], { ...plan, policies: unit.policies }, {
      onProgress: (p) => o.onProgress?.(before + p.done, unitsTotal), interrupted: o.interrupted,
    });
    reports.set(unit, report);
    before += unit.events;
    if (o.interrupted?.()) break;
  }
  return reports;
}

/**
 * Worker heap: V8's default young generation (tens of MB per isolate) holds garbage a replay makes little of; a small
 * one keeps each worker's footprint to its tables.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 6 };

/** Settles once the worker has exited, so that its memory is given back before the next unit takes its place. */
function runUnit(data: UnitData, onProgress: (done: number) => void): Promise<ReplayReport> {
  return new Promise((resolve, reject) => {
    // No node flags of the parent's: a worker refuses several (--input-type, --expose-gc) and needs none.
    const worker = new Worker(WORKER, { workerData: data, execArgv: [], resourceLimits: WORKER_LIMITS });
    let outcome: { report: ReplayReport } | { error: Error } | undefined;
    worker.on("message", (m: UnitMessage) => {
      if (m.kind === "progress") return onProgress(m.done);
      if (outcome !== undefined) return;
      if (m.kind === "done") outcome = { report: m.report };
      else if (m.name === "TraceError") outcome = { error: new TraceError(m.file!, m.where!, m.message.slice(`${m.file}: ${m.where}: `.length)) };
      else outcome = { error: new Error(m.message) };
      void worker.terminate();
    });
    worker.on("error", (e) => { outcome ??= { error: e }; });
    worker.on("exit", (code) => {
      if (outcome === undefined) reject(new Error(`a replay worker for ${data.path} exited with status ${code}`));
      else if ("report" in outcome) resolve(outcome.report);
      else reject(outcome.error);
    });
  });
}

/** One trace's reports under groups of its policies, as one report under all of them in the plan's order. */
function join(parts: readonly ReplayReport[], order: readonly Policy[], whole: boolean): ReplayReport {
  const complete = whole && parts.every((p) => p.complete);
  // Interrupted groups stop at chunks of their own: each policy's counters then say how many events it replayed.
  const first = complete ? parts[0] : parts.reduce((a, b) => (b.events < a.events ? b : a));
  for (const p of complete ? parts : []) {
    if (p.events !== first.events || JSON.stringify(p.injected) !== JSON.stringify(first.injected)) {
      throw new Error(`${first.trace.path}: the policy groups replayed different events (${p.events} against ${first.events}): a defect of the parallel replay`);
    }
  }
  const policies: ReplayReport["policies"] = {};
  for (const p of order) {
    const r = parts.find((x) => x.policies[p] !== undefined)?.policies[p];
    if (r !== undefined) policies[p] = r;
  }
  const wall = Math.max(...parts.map((p) => p.resources.wall_s));
  return {
    ...first,
    complete,
    policies,
    resources: { wall_s: wall, events_per_s: Math.round(first.events / wall), peak_rss_mb: Math.round(peakRssBytes() / 2 ** 20) },
  };
}
