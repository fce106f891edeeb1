// Types of index.mjs, for the TypeScript tests and scripts that use it.
import type { DaemonModel, BackingFile, EventColumns, Outcomes, OutcomesByPolicy, Policy } from "../../src/replay/types.js";

export interface NativeBuild {
  path: string;
  cc: string;
  /** The first line of `cc --version`. */
  version: string;
  flags: string[];
}

export function buildNative(options?: { cc?: string; flags?: string[] }): NativeBuild | { skipped: string };

/** An item of a dump's stream: events, or backing versions that extend the table from there on. */
export type NativeDumpItem =
  | EventColumns
  | { chunk: EventColumns }
  | { backing: readonly BackingFile[] }
  | { kind: "backing"; files: readonly BackingFile[] }
  | { kind: "chunk"; chunk: EventColumns };

export interface NativeDumpOptions {
  backing?: readonly BackingFile[];
  columns?: Iterable<NativeDumpItem> | AsyncIterable<NativeDumpItem>;
  policies: readonly Policy[];
  daemon?: DaemonModel;
  maxInodes: number;
  maxFiles: number;
  idMax?: number;
  chunkRows?: number;
}

export function writeNativeDump(file: string, options: NativeDumpOptions): Promise<{ events: number; backing: number }>;

export interface NativePolicyResult extends Outcomes {
  /** Nanoseconds spent in the core's replay calls under this policy. */
  ns: number;
  /** Invariants the core found broken after the replay (ctx_violations). */
  violations: number;
}

export interface NativeRun {
  events: number;
  memoryBytes: number;
  outcomes: OutcomesByPolicy;
  policies: Partial<Record<Policy, NativePolicyResult>>;
}

/** Rejects with an Error whose message is the program's line on stderr (and `status`, its exit status). */
/** `only`: replay that one of the dump's policies alone (as the benchmark times every engine). */
export function runNative(binaryPath: string, dumpFile: string, options?: { only?: Policy }): Promise<NativeRun>;

/** The cost-per-check benchmark on the C core (see index.mjs). */
export function runNativeCheck(
  binaryPath: string,
  options: { inodes: number; files: number; batch: number; reps: number },
): Promise<Partial<Record<Policy, { conflicts: number; ns_per_check: number[] }>>>;
