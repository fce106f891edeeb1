// The trace stage: .fbt files (traces/FORMAT.md) written and read chunk by chunk.
import type { EventColumns } from "../events.js";
import type { TraceChunk } from "./types.js";

export * from "./types.js";
export { TraceWriter } from "./writer.js";
export { DEFAULT_BLOCK_BYTES } from "./bytes.js";
export { TraceReader } from "./reader.js";
export { openTrace, type OpenTraceOptions } from "./open.js";
export { TRACE_CHUNK_ROWS, TRAILER_MAGIC, TRAILER_SIZE, chunkCrc32 } from "./format.js";

/** A chunk over the given columns (no copy); pid and dt default to zeros, t0 to 0. */
export function chunkFromColumns(cols: EventColumns, pid?: Uint32Array, dt?: Uint32Array, t0 = 0): TraceChunk {
  return {
    length: cols.length,
    op: cols.op, nodeid: cols.nodeid, fh: cols.fh, bref: cols.bref, oflags: cols.oflags, fopen: cols.fopen,
    pid: pid ?? new Uint32Array(cols.length),
    dt: dt ?? new Uint32Array(cols.length),
    t0,
  };
}

/** Rows [start, end) of a chunk as a chunk of views (no copy); t0 is the time of row `start`. */
export function sliceChunk(chunk: TraceChunk, start: number, end: number): TraceChunk {
  let t0 = chunk.t0;
  for (let i = 1; i <= start; i++) t0 += chunk.dt[i];
  return {
    length: end - start,
    op: chunk.op.subarray(start, end), nodeid: chunk.nodeid.subarray(start, end), fh: chunk.fh.subarray(start, end),
    bref: chunk.bref.subarray(start, end), oflags: chunk.oflags.subarray(start, end), fopen: chunk.fopen.subarray(start, end),
    pid: chunk.pid.subarray(start, end), dt: chunk.dt.subarray(start, end), t0,
    ...(chunk.bid ? { bid: chunk.bid.subarray(start, end) } : {}),
    ...(chunk.verdict ? { verdict: chunk.verdict.subarray(start, end) } : {}),
  };
}
