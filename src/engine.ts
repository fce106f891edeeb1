// The contract every replay engine meets (the AssemblyScript core through src/replay, the TypeScript reference model
// in src/model): the policies, the daemon models, the outcome counters, and the Replay and session interfaces.
// Below every stage that names a policy or reads outcomes, so none of them depends on an engine.
import * as abi from "./abi.js";
import type { BackingFile, BackingTable, EventColumns } from "./events.js";
import {
  DAEMON_PER_INODE, DAEMON_PER_NODEID, DAEMON_PER_OPEN, DAEMON_RECORDED, DAEMON_STABLE_ID, DAEMON_STABLE_ID_KEEP,
  POLICY_DIGEST, POLICY_INODE, POLICY_LOOKUP, POLICY_PTR, POLICY_REUSE,
} from "./abi.js";

export const POLICIES = ["ptr", "inode", "digest", "reuse", "lookup"] as const;
export type Policy = (typeof POLICIES)[number];
export const POLICY_CODE: Record<Policy, number> = {
  ptr: POLICY_PTR, inode: POLICY_INODE, digest: POLICY_DIGEST, reuse: POLICY_REUSE, lookup: POLICY_LOOKUP,
};

/**
 * Modelled daemons (spec §i.4: libfuse passthrough_hp and go-fuse keep an id per inode, fuser and Android per open,
 * mergerfs per nodeid; §i.2: stable server-chosen ids), or the ids a capture recorded.
 */
export const DAEMONS = ["per-inode", "per-open", "recorded", "stable-id", "stable-id-keep", "per-nodeid"] as const;
export type DaemonModel = (typeof DAEMONS)[number];
export const DAEMON_CODE: Record<DaemonModel, number> = {
  "per-inode": DAEMON_PER_INODE, "per-open": DAEMON_PER_OPEN, recorded: DAEMON_RECORDED,
  "stable-id": DAEMON_STABLE_ID, "stable-id-keep": DAEMON_STABLE_ID_KEEP, "per-nodeid": DAEMON_PER_NODEID,
};
/** The daemons that decide ids themselves (every one but `recorded`, which needs a capture's registrations). */
export const MODELLED_DAEMONS = DAEMONS.filter((d): d is Exclude<DaemonModel, "recorded"> => d !== "recorded");

export const ENGINES = ["wasm", "js"] as const;
export type EngineName = (typeof ENGINES)[number];

export interface ReplayOptions {
  policy: Policy;
  daemon: DaemonModel;
  /** nodeids are 0 … maxInodes-1; others are counted as anomalies. */
  maxInodes: number;
  /** fh slots are 0 … maxFiles-1; others are counted as anomalies. */
  maxFiles: number;
  /** Largest backing id the idr hands out before wrapping (default INT_MAX, as in the kernel). */
  idMax?: number;
}

/** The results block's counters (abi.ts C_*, their index and meaning written there once), named for people:
 * C_PT_OPENS is `pt_opens`, an anomaly C_A_FH_RANGE is `anomaly_fh_range`. */
type CounterConstant = Extract<keyof typeof abi, `C_${string}`>;
type OutcomeName<K extends string> = K extends `C_A_${infer R}` ? `anomaly_${Lowercase<R>}` : K extends `C_${infer R}` ? Lowercase<R> : never;

/** Counters of one policy's replay. */
export type Outcomes = { [K in CounterConstant as OutcomeName<K>]: number };

function outcomeName(constant: string): keyof Outcomes {
  return constant.replace(/^C_A_/, "C_ANOMALY_").slice(2).toLowerCase() as keyof Outcomes;
}

/** In counter index order. */
export const OUTCOME_NAMES: readonly (keyof Outcomes)[] = Object.entries(abi)
  .filter(([name]) => name.startsWith("C_"))
  .sort((a, b) => (a[1] as number) - (b[1] as number))
  .map(([name], i, all) => {
    if (abi[name as CounterConstant] !== i || all.length !== abi.N_COUNTERS) throw new Error(`src/abi.ts: counter ${name} is not at index ${i} of ${abi.N_COUNTERS}`);
    return outcomeName(name);
  });

export function outcomesFromCounters(counters: ArrayLike<number | bigint>): Outcomes {
  const out = {} as Outcomes;
  OUTCOME_NAMES.forEach((name, i) => { out[name] = Number(counters[i]); });
  return out;
}

/** One policy's replay state machine (the reference model implements it per policy). */
export interface Replay {
  readonly policy: Policy;
  /** Appends file versions to the backing table: the first gets the next bref. */
  addBacking(files: readonly BackingFile[]): void;
  /** Replays a chunk of events. Throws ReplayMemoryError if the core's memory cannot grow. */
  feed(events: EventColumns): void;
  /** The counters so far, with the files still open counted in `open_at_end`. */
  outcomes(): Outcomes;
  /** Ends every inode instance with no open files, as umount does (drops lookup-held backings). */
  unmount(): void;
  /** Broken state invariants (spec §a.3, §b.9), as readable lines; empty when all hold. */
  invariantViolations(): string[];
}

export type OutcomesByPolicy = Partial<Record<Policy, Outcomes>>;

export interface SessionOptions extends Omit<ReplayOptions, "policy"> {
  policies: readonly Policy[];
  /**
   * The backing files the session will likely see (a trace's table times its scale): the core's tables start that
   * large instead of doubling towards it, each doubling leaving the old table behind in the core's bump heap.
   */
  expectedFiles?: number;
  /**
   * Bytes the session's tables may take in all (the wasm core's linear memory cannot grow past it: an allocation
   * beyond fails as a ReplayMemoryError). Default: what the core addresses.
   */
  maxBytes?: number;
}

/** Several policies replaying the same events; what the CLI and the benchmarks drive. */
export interface ReplaySession {
  readonly engine: EngineName;
  readonly policies: readonly Policy[];
  /** Appends file versions to the backing table: the first gets the next bref. */
  addBacking(files: readonly BackingFile[]): void;
  /** The same, from columns (a trace's backing extension, the injector's output): no object per file. */
  addBackingTable(table: BackingTable): void;
  feed(events: EventColumns): void;
  outcomes(): OutcomesByPolicy;
  /** Wall time spent replaying under each policy so far, in nanoseconds (the copy into wasm memory excluded). */
  elapsedNs(): Partial<Record<Policy, number>>;
  unmount(): void;
  /** Broken invariants of every policy, each line prefixed with the policy. */
  invariantViolations(): string[];
}

/** The wasm core's linear memory could not grow: the replay stops rather than report partial counts. */
export class ReplayMemoryError extends Error {
  constructor(what: string) {
    super(`wasm core: out of memory (${what})`);
    this.name = "ReplayMemoryError";
  }
}
