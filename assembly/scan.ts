// The row checks of a trace chunk (traces/FORMAT.md, ordering rules 3, 5 and 7), run over columns the trace reader
// read from the file straight into this memory, so no JS loop visits every row: the same checks, in the same order,
// as scanChunk in src/trace/checks.ts, which words the reason when a row fails here.
import { ID_MAX_DEFAULT, OP_BACKING_OPEN, OP_LOOKUP, OP_MAX, OP_OPEN } from "../src/abi";

/** Largest nodeid and fh of the rows scanned by the last scan_rows, -1 when none. */
export let scanMaxNodeid: i64 = -1;
export let scanMaxFh: i64 = -1;
/** dt[1] + … + dt[n-1] of the last scan_rows: the chunk's last event is at t0 plus this (exact below 2^53). */
export let scanElapsed: f64 = 0;

/**
 * The first row breaking a rule, or -1: an op outside 1..OP_MAX, a nodeid or fh above the footer's maxima, a bref
 * at or beyond the backing table's size on OPEN, LOOKUP and BACKING_OPEN rows, a recorded id above the idr's
 * INT_MAX (spec §a.1), a verdict above `maxVerdict`. `bid` and `verdict` are 0 when the chunk has no such column.
 * The maxima and the elapsed time cover the rows before a bad one.
 */
export function scanRows(
  op: usize, nodeid: usize, fh: usize, bref: usize, bid: usize, verdict: usize, dt: usize, n: u32,
  backingFiles: u32, maxNodeid: u32, maxFh: u32, maxVerdict: u32,
): i32 {
  // Branch-free but for the exit: the ops of a chunk mix unpredictably, and a branch per kind of row cost ~9 ns an
  // event (a profile of a 10M-event replay from its file); the maxima are selects.
  let nodeMax: u32 = 0;
  let fhMax: u32 = 0;
  let bad: i32 = -1;
  for (let i: u32 = 0; i < n; i++) {
    const at = <usize>i << 2;
    const o = <u32>load<u8>(op + <usize>i);
    const nid = load<u32>(nodeid + at);
    const f = load<u32>(fh + at);
    const named = <u32>(o == OP_OPEN) | <u32>(o == OP_LOOKUP) | <u32>(o == OP_BACKING_OPEN);
    let ok = <u32>(o - 1 < <u32>OP_MAX) & <u32>(nid <= maxNodeid) & <u32>(f <= maxFh) & (named ^ 1 | <u32>(load<u32>(bref + at) < backingFiles));
    if (bid != 0) ok &= <u32>(load<u32>(bid + at) <= <u32>ID_MAX_DEFAULT);
    if (verdict != 0) ok &= <u32>(<u32>load<u8>(verdict + <usize>i) <= maxVerdict);
    if (ok == 0) { bad = <i32>i; break; }
    nodeMax = max(nodeMax, nid);
    fhMax = max(fhMax, f);
  }
  const scanned = bad < 0 ? n : <u32>bad;
  let elapsed: u64 = 0;
  for (let i: u32 = 1; i < n; i++) elapsed += <u64>load<u32>(dt + (<usize>i << 2));
  scanMaxNodeid = scanned == 0 ? -1 : <i64>nodeMax;
  scanMaxFh = scanned == 0 ? -1 : <i64>fhMax;
  scanElapsed = <f64>elapsed;
  return bad;
}
