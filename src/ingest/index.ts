// The sources' ingest stage: logs and captures of real daemons and workloads → traces. One file per input kind:
// libfuse.ts (a daemon's debug log, with its strace), strace.ts (a workload's strace), native.ts (fbreplay's own
// daemon's records); machine.ts is the request/reply state machine the debug logs share.
export { IngestError, type IngestSummary } from "./errors.js";
export { ingestLibfuseDebug, type IngestOptions } from "./libfuse.js";
export { failedOpens, ingestStrace, type StraceIngestOptions } from "./strace.js";
export { ingestSummaryLine } from "./summary.js";
