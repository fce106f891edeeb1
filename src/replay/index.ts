// The replay stage: events in, outcomes per policy out, on either engine.
import { ReferenceSession } from "./reference.js";
import type { BackingFile, EngineName, ReplaySession, SessionOptions } from "./types.js";
import { WasmReplaySession, type WasmBuild } from "./wasm.js";

export * from "./types.js";
export { emptyColumns, eventColumns, type EventRow } from "./events.js";
export { DEFAULT_CHUNK_ROWS, WasmReplaySession, coreModule, type WasmBuild } from "./wasm.js";
export { ReferenceSession } from "./reference.js";
export { Injector, sfc32, type InjectOptions } from "./inject.js";
export { formatReplayTable, replayTrace, type ReplayPlan, type ReplayReport, type TraceSource } from "./drive.js";

export function createSession(engine: EngineName, table: readonly BackingFile[], options: SessionOptions, build?: WasmBuild): ReplaySession {
  return engine === "wasm" ? new WasmReplaySession(table, options, build) : new ReferenceSession(table, options);
}
