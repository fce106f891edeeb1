// Building event columns from readable rows: for scenarios, tests and small tools, never for bulk traces.
import type { EventColumns } from "./types.js";

export interface EventRow {
  op: number;
  nodeid?: number;
  fh?: number;
  bref?: number;
  oflags?: number;
  fopen?: number;
}

export function emptyColumns(length: number): EventColumns {
  return {
    length,
    op: new Uint8Array(length),
    nodeid: new Uint32Array(length),
    fh: new Uint32Array(length),
    bref: new Uint32Array(length),
    oflags: new Uint32Array(length),
    fopen: new Uint32Array(length),
  };
}

/** Rows [start, end) of `ev` as views (no copy), recorded ids included. */
export function sliceColumns(ev: EventColumns, start: number, end: number): EventColumns {
  return {
    length: end - start,
    op: ev.op.subarray(start, end),
    nodeid: ev.nodeid.subarray(start, end),
    fh: ev.fh.subarray(start, end),
    bref: ev.bref.subarray(start, end),
    oflags: ev.oflags.subarray(start, end),
    fopen: ev.fopen.subarray(start, end),
    ...(ev.bid ? { bid: ev.bid.subarray(start, end) } : {}),
  };
}

export function eventColumns(rows: readonly EventRow[]): EventColumns {
  const ev = emptyColumns(rows.length);
  rows.forEach((r, i) => {
    ev.op[i] = r.op;
    ev.nodeid[i] = r.nodeid ?? 0;
    ev.fh[i] = r.fh ?? 0;
    ev.bref[i] = r.bref ?? 0;
    ev.oflags[i] = r.oflags ?? 0;
    ev.fopen[i] = r.fopen ?? 0;
  });
  return ev;
}
