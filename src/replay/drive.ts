// Streams a decoded trace through injection into a replay session and collects the results.
import { denseIds } from "../trace/dense.js";
import { TraceError, type ItemsOptions, type TraceFooter, type TraceHeader, type TraceItem } from "../trace/types.js";
import { defaultMaxMemory, overBudget, replaySizes } from "./budget.js";
import { backingTable, sliceColumns, type EventColumns } from "../events.js";
import { Injector, type InjectOptions } from "./inject.js";
import { createSession } from "./reference.js";
import { CORE_EVENT_ROWS, WasmReplaySession } from "./wasm.js";
import { ReplayMemoryError, type DaemonModel, type EngineName, type Outcomes, type Policy, type SessionOptions } from "../engine.js";
import { peakRssBytes } from "../rss.js";

/** A trace as the replay needs it: its header and footer up front, then its items in order. */
export interface TraceSource {
  path: string;
  header: TraceHeader;
  footer: TraceFooter;
  items(options?: ItemsOptions): AsyncIterable<TraceItem>;
}

export interface ReplayPlan extends InjectOptions {
  engine: EngineName;
  policies: readonly Policy[];
  daemon: DaemonModel;
  idMax?: number;
  /** Bytes the replay's tables may take (default: defaultMaxMemory()); a larger replay is refused up front. */
  maxMemory?: number;
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
  /** Smallest trace (events) replayed in several passes (replayTrace); default PASS_MIN_EVENTS. For tests. */
  passMinEvents?: number;
  /** Most policies in one pass over a large trace; default PASS_MAX_POLICIES. For tests and the bench. */
  passMaxPolicies?: number;
}

/**
 * Below this many events a trace's policies share one pass: the working sets of a small trace fit the cache
 * together, and a pass costs a session's set-up (measured: a 27k-event trace's replay took longer in five passes).
 */
export const PASS_MIN_EVENTS = 1 << 20;

/**
 * Events (rows × scale) rewritten and replayed between two looks at Ctrl-C. A piece's time grows with what each
 * event does (at --scale 65536 with re-downloads on most opens, a million events took 4 s on an idle core: every
 * re-download is a new backing file under every policy), so pieces stay small enough that Ctrl-C is heard within a
 * fraction of a second; the core's per-call cost is negligible at this size.
 */
export const PIECE_EVENTS = 1 << 16;

/**
 * Most policies one pass over a large trace replays together, chunk by chunk. Each pass reads the file again (about
 * 30 ns an event: read, CRC, row checks); each policy in a pass evicts the others' working sets between chunks. On
 * the 10M-event synthetic trace (bench/README.md, "Parallel replay"): three policies took 2.3 s in one pass against
 * 2.9 s in three, five took 4.9–5.2 s in one against 4.8–5.0 s in five.
 */
export const PASS_MAX_POLICIES = 3;

/** The passes over the file that a trace of `events` events under `policies` policies takes (wasm). */
export function passCount(events: number, policies: number, drive: Pick<DriveOptions, "passMinEvents" | "passMaxPolicies"> = {}): number {
  if (events < (drive.passMinEvents ?? PASS_MIN_EVENTS)) return 1;
  return Math.ceil(policies / (drive.passMaxPolicies ?? PASS_MAX_POLICIES));
}

/**
 * Replays a trace under the plan's policies. On the wasm core, a trace that is not small (PASS_MIN_EVENTS) replays
 * more than PASS_MAX_POLICIES policies in passes of at most that many, reading it again for each, and injecting
 * again: the injector is deterministic from the seed, so every pass sees the same events. Counts are the same
 * either way (each policy's state is its own; test/parallel.test.ts). One pass holds the tables of its policies
 * only, which is what bounds the memory of a long replay.
 */
export async function replayTrace(traced: TraceSource, plan: ReplayPlan, drive: DriveOptions = {}): Promise<ReplayReport> {
  const passes = passCount(traced.footer.events, plan.policies.length, drive);
  if (plan.engine !== "wasm" || passes === 1) return replayPass(traced, plan, drive);
  const started = process.hrtime.bigint();
  const perPass = drive.passMaxPolicies ?? PASS_MAX_POLICIES;
  let report: ReplayReport | undefined;
  for (let k = 0; k < passes; k++) {
    const events = traced.footer.events;
    // Progress counts the trace's events once, as for one pass: pass k covers the k-th part.
    const onProgress = drive.onProgress && ((p: ReplayProgress) => drive.onProgress!({ done: Math.floor((k * events + p.done) / passes), total: events }));
    const policies = plan.policies.slice(k * perPass, (k + 1) * perPass);
    const one = await replayPass(traced, { ...plan, policies }, { ...drive, onProgress });
    report = report === undefined ? one : { ...one, complete: report.complete && one.complete, policies: { ...report.policies, ...one.policies } };
    if (!one.complete) break;
  }
  return { ...report!, resources: resources(started, report!.events) };
}

async function replayPass(traced: TraceSource, plan: ReplayPlan, drive: DriveOptions): Promise<ReplayReport> {
  const started = process.hrtime.bigint();
  const injector = new Injector(plan, traced.footer.backing_files);
  const K = injector.scale;
  const source = await denseIds(traced);
  const sizes = replaySizes(source.footer, K, plan.policies.length);
  const budget = plan.maxMemory ?? defaultMaxMemory();
  const tooBig = overBudget(plan.engine, sizes, budget);
  if (tooBig !== undefined) throw new TraceError(source.path, "the whole trace", tooBig);
  // Injected re-downloads and replacements add a file each (at most one per open) as they go: room for as many as
  // the rates make likely keeps the core's table from growing, which would leave its old copy in the core's heap.
  const rate = (plan.redownloadRate ?? 0) + (plan.replaceRate ?? 0);
  const injectedFiles = Math.min(sizes.backingFiles, Math.ceil(rate * source.footer.events * K));
  const options: SessionOptions = {
    policies: plan.policies, daemon: plan.daemon, idMax: plan.idMax, maxInodes: sizes.inodes, maxFiles: sizes.files,
    expectedFiles: sizes.backingFiles + injectedFiles, maxBytes: budget,
  };
  let where = "set-up";
  // The trace and the sizes were checked: an error of the core past this point is still reported as one line
  // naming the trace and the chunk it replayed (and is a defect to fix, which the fuzz suite looks for), except
  // the budget, which injections can outgrow after the check up front: that is the answer, not a defect.
  const failed = (e: unknown) => {
    if (e instanceof TraceError) return e;
    if (e instanceof ReplayMemoryError) {
      return new TraceError(source.path, where, `the replay's tables outgrew ${Math.ceil(budget / 2 ** 20)} MiB (--max-memory, shared by the replays running at once; injected re-downloads and replacements add backing files as they go): use a smaller --scale or rate, a larger --max-memory or fewer --jobs`);
    }
    return new TraceError(source.path, where, `the replay failed: ${(e as Error).message}`);
  };
  let session: ReturnType<typeof createSession>;
  try {
    // The core's event buffer: no larger than the replay (a small trace need not fault in 25 MB).
    session = createSession(plan.engine, [], options, undefined, Math.min(CORE_EVENT_ROWS, Math.max(4096, source.footer.events * K)));
  } catch (e) {
    throw failed(e);
  }
  let done = 0;
  let complete = true;
  let recordedIds = false;
  const rows = Math.max(1, Math.floor(PIECE_EVENTS / K));
  /**
   * A chunk through the injector in pieces the core takes at once; false when interrupted between pieces. `columns`
   * gives the chunk's columns again for each piece: a chunk in the core's memory has new views once a piece's
   * backing files grew it.
   */
  const feedPieces = (columns: () => EventColumns, length: number, done: number): boolean => {
    for (let start = 0; start < length; start += rows) {
      // A scaled chunk is many pieces (a 4,000-row chunk at --scale 65536 is 262M events): Ctrl-C is heard between them
      if (start > 0 && drive.interrupted?.()) return false;
      const end = Math.min(length, start + rows);
      const chunk = columns();
      const part = start === 0 && length <= rows ? chunk : sliceColumns(chunk, start, end);
      const { backing, events } = injector.rewrite(part);
      if (backing.count > 0) session.addBackingTable(backing);
      session.feed(events);
      if (end < length) drive.onProgress?.({ done: done + end, total: source.footer.events });
    }
    return true;
  };
  // The wasm core's chunks are read into its memory (src/replay/sink.ts): those the injector leaves as they are
  // are replayed there, the others rewritten from there.
  const wasm = session instanceof WasmReplaySession ? session : undefined;
  const sink = wasm?.chunkSink();
  for await (const item of source.items({ sink })) {
    if (drive.interrupted?.()) {
      complete = false;
      break;
    }
    try {
      if (item.kind === "backing") {
        where = `backing files from ${item.first}`;
        // As columns, without an object per file where the trace has them (version 2).
        if (!injector.passthrough) injector.addTraceTable(item.columns ?? backingTable(item.files));
        else if (item.columns !== undefined) session.addBackingTable(item.columns);
        else session.addBacking(item.files);
        continue;
      }
      where = `chunk ${item.index}`;
      const chunk = item.chunk;
      const slot = chunk.slot;
      if (chunk.bid !== undefined) recordedIds = true;
      if (slot !== undefined && injector.passthrough) {
        injector.rewrite(chunk); // counts the events; a passthrough injector rewrites nothing
        wasm!.feedSlot(slot, chunk.length, chunk.bid !== undefined);
      } else if (slot !== undefined) {
        complete = feedPieces(() => sink!.events(slot, chunk.length), chunk.length, done);
      } else {
        complete = feedPieces(() => chunk, chunk.length, done);
      }
    } catch (e) {
      throw failed(e);
    }
    if (!complete) break;
    done += item.chunk.length;
    drive.onProgress?.({ done, total: source.footer.events });
  }
  if (plan.daemon === "recorded" && complete && !recordedIds) {
    // Every open would name id 0 and fail: a table of 100% EIO that says nothing about the trace.
    throw new TraceError(source.path, "the whole trace", "it carries no recorded backing ids: --ids recorded replays captures of a passthrough daemon (record --daemon native or passthrough_hp, or ingest with passthrough_hp's log or --daemon-strace)");
  }
  where = "the end of the replay";
  let outcomes: ReturnType<typeof session.outcomes>;
  try {
    outcomes = session.outcomes();
  } catch (e) {
    throw failed(e);
  }
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
    peak_rss_mb: Math.round(peakRssBytes() / 2 ** 20),
  };
}
