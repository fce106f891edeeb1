// The reference model behind the session interface, and the choice of engine for a session.
import { ReferenceReplay } from "../model/index.js";
import type { EngineName, OutcomesByPolicy, Policy, ReplaySession, SessionOptions } from "../engine.js";
import { backingFiles, type BackingFile, type BackingTable, type EventColumns } from "../events.js";
import { WasmReplaySession, type WasmBuild } from "./wasm.js";

/** The reference model behind the session interface: one ReferenceReplay per policy. */
export class ReferenceSession implements ReplaySession {
  readonly engine = "js" as const;
  readonly policies: readonly Policy[];
  private readonly replays: ReferenceReplay[];
  private readonly elapsed: number[];

  constructor(table: readonly BackingFile[], options: SessionOptions) {
    this.policies = options.policies;
    this.replays = options.policies.map((policy) => new ReferenceReplay(table, { ...options, policy }));
    this.elapsed = options.policies.map(() => 0);
  }

  addBacking(files: readonly BackingFile[]): void {
    for (const r of this.replays) r.addBacking(files);
  }

  addBackingTable(table: BackingTable): void {
    this.addBacking(backingFiles(table));
  }

  feed(events: EventColumns): void {
    this.replays.forEach((r, i) => {
      const start = process.hrtime.bigint();
      r.feed(events);
      this.elapsed[i] += Number(process.hrtime.bigint() - start);
    });
  }

  elapsedNs(): Partial<Record<Policy, number>> {
    return Object.fromEntries(this.policies.map((p, i) => [p, this.elapsed[i]]));
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

/** A session on the named engine: the one place that chooses between them. */
export function createSession(engine: EngineName, table: readonly BackingFile[], options: SessionOptions, build?: WasmBuild, chunkRows?: number): ReplaySession {
  return engine === "wasm" ? new WasmReplaySession(table, options, build, chunkRows) : new ReferenceSession(table, options);
}
