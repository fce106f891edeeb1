// What flows from the sources through the trace to the engines: event columns (one row per event, see OP_* in
// abi.ts) and the backing file versions their brefs name; and building columns from readable rows (for scenarios,
// tests and small tools, never for bulk traces). Below the trace format and every stage.

/**
 * One version of a backing file as the daemon would register it: the backing inode (st_dev, st_ino) and
 * the sha256 of its bytes at that time. A file rewritten in place is a new entry with the same dev/ino
 * and another digest; a re-downloaded file is a new entry with a new ino and the same digest.
 */
export interface BackingFile {
  dev: number;
  ino: number;
  digest: Uint8Array;
  /**
   * Files given the same key (≥ 0; absent or -1: none) have the same digest: a session may keep one copy of the
   * bytes for all of them (replay/wasm.ts). The injector keys a trace version's copies and re-downloads by its bref.
   */
  content?: number;
}

/** File versions as columns, as large tables travel: file i is dev[i], ino[i] and digest bytes [32i, 32i + 32). */
export interface BackingTable {
  count: number;
  dev: Float64Array;
  ino: Float64Array;
  digest: Uint8Array;
  /** File i's `content` key (-1: none); absent: none has one. */
  content?: Int32Array;
}

/** The columns of a list of files. */
export function backingTable(files: readonly BackingFile[]): BackingTable {
  const n = files.length;
  const t = { count: n, dev: new Float64Array(n), ino: new Float64Array(n), digest: new Uint8Array(n * 32), content: new Int32Array(n) };
  files.forEach((f, i) => {
    t.dev[i] = f.dev;
    t.ino[i] = f.ino;
    t.digest.set(f.digest.subarray(0, 32), i * 32);
    t.content[i] = f.content ?? -1;
  });
  return t;
}

/** The files of a table, each with its own copy of the digest (the table's arrays may be reused). */
export function backingFiles(t: BackingTable): BackingFile[] {
  return Array.from({ length: t.count }, (_, i) => {
    const f: BackingFile = { dev: t.dev[i], ino: t.ino[i], digest: t.digest.slice(i * 32, i * 32 + 32) };
    const content = t.content?.[i] ?? -1;
    if (content >= 0) f.content = content;
    return f;
  });
}

/** A chunk of events as columns; row i of every column is one event (see OP_* in abi.ts). */
export interface EventColumns {
  length: number;
  op: Uint8Array;
  nodeid: Uint32Array;
  fh: Uint32Array;
  bref: Uint32Array;
  oflags: Uint32Array;
  fopen: Uint32Array;
  /**
   * Recorded backing ids (captures of a passthrough daemon): on OPEN rows the id of the daemon's reply, on
   * BACKING_OPEN rows the id the kernel returned, on BACKING_CLOSE rows the id closed. Absent: all 0.
   */
  bid?: Uint32Array;
}


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
