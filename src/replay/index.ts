// The replay stage: events in, outcomes per policy out, on either engine.
import { ReferenceReplay } from "../model/index.js";
import type { BackingFile, EngineName, EventColumns, OutcomesByPolicy, Policy, ReplaySession, SessionOptions } from "./types.js";
import { WasmReplaySession, type WasmBuild } from "./wasm.js";

export * from "./types.js";
export { emptyColumns, eventColumns, type EventRow } from "./events.js";
export { DEFAULT_CHUNK_ROWS, WasmReplaySession, coreModule, type WasmBuild } from "./wasm.js";

/** The reference model behind the session interface: one ReferenceReplay per policy. */
export class ReferenceSession implements ReplaySession {
  readonly engine = "js" as const;
  readonly policies: readonly Policy[];
  private readonly replays: ReferenceReplay[];

  constructor(table: readonly BackingFile[], options: SessionOptions) {
    this.policies = options.policies;
    this.replays = options.policies.map((policy) => new ReferenceReplay(table, { ...options, policy }));
  }

  addBacking(files: readonly BackingFile[]): void {
    for (const r of this.replays) r.addBacking(files);
  }

  feed(events: EventColumns): void {
    for (const r of this.replays) r.feed(events);
  }

  outcomes(): OutcomesByPolicy {
    const out: OutcomesByPolicy = {};
    for (const r of this.replays) out[r.policy] = r.outcomes();
    return out;
  }

  unmount(): void {
    for (const r of this.replays) r.unmount();
  }

  invariantViolations(): string[] {
    return this.replays.flatMap((r) => r.invariantViolations().map((line) => `${r.policy}: ${line}`));
  }
}

export function createSession(engine: EngineName, table: readonly BackingFile[], options: SessionOptions, build?: WasmBuild): ReplaySession {
  return engine === "wasm" ? new WasmReplaySession(table, options, build) : new ReferenceSession(table, options);
}
