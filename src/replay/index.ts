// The replay stage: events in, outcomes per policy out, on either engine.

export * from "../engine.js";
export * from "../events.js";
export { CORE_EVENT_ROWS, WasmReplaySession, coreModule, type WasmBuild } from "./wasm.js";
export { ReferenceSession, createSession } from "./reference.js";
export { Injector, MAX_SCALE, validateInjectOptions, type InjectOptions } from "./inject.js";
export { defaultMaxMemory, overBudget, replayBytes } from "./budget.js";
export { replayTrace, type PolicyReport, type ReplayPlan, type ReplayReport, type TraceSource } from "./drive.js";
export { formatReplaySummary, formatReplayTable } from "./render.js";
export { DEFAULT_JOBS, policyGroups, replayTraces, type ParallelOptions } from "./parallel.js";
