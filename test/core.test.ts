// Targeted rules of the model, checked on both engines.
import { describe, expect, it } from "vitest";
import {
  FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_PASSTHROUGH, OP_FORGET, OP_LOOKUP, OP_OPEN, OP_RELEASE, OP_RESTART,
  RESTART_CLOSE_ALL,
} from "../src/abi.js";
import {
  ENGINES, ReferenceSession, WasmReplaySession, createSession, eventColumns,
  type BackingFile, type DaemonModel, type EventRow, type Outcomes, type Policy,
} from "../src/replay/index.js";

const PT = FOPEN_PASSTHROUGH;
const TABLE: BackingFile[] = [
  { dev: 1, ino: 1, digest: new Uint8Array(32).fill(1) },
  { dev: 1, ino: 2, digest: new Uint8Array(32).fill(2) },
];
const open = (nodeid: number, fh: number, fopen = PT, bref = 0): EventRow => ({ op: OP_OPEN, nodeid, fh, bref, fopen });
const release = (fh: number): EventRow => ({ op: OP_RELEASE, fh });

interface Run { policy?: Policy; daemon?: DaemonModel; idMax?: number }

function replay(engine: (typeof ENGINES)[number], rows: EventRow[], run: Run = {}): Outcomes {
  const policy = run.policy ?? "ptr";
  const s = createSession(engine, TABLE, {
    policies: [policy], daemon: run.daemon ?? "per-inode", maxInodes: 8, maxFiles: 8, idMax: run.idMax,
  });
  s.feed(eventColumns(rows));
  return s.outcomes()[policy]!;
}

describe.each(ENGINES)("%s engine", (engine) => {
  it("registers the same file twice as two objects with two ids (no dedup, spec §b.1)", () => {
    const o = replay(engine, [open(1, 0), open(1, 1)], { daemon: "per-open" });
    // The refused open's synchronous RELEASE makes the daemon close the second id again.
    expect(o).toMatchObject({ backing_opens: 2, peak_ids: 2, peak_backings: 2, ebusy: 1, eio: 1, live_ids: 1, backing_frees: 1 });
  });

  it("hands out ids cyclically and reuses closed ones only after the wrap (spec §a.1)", () => {
    // idMax 2: ids 1 and 2 are live, a third open finds no id (-ENOSPC, the open carries no id: EINVAL→EIO).
    const full = replay(engine, [open(1, 0), open(2, 1), open(3, 2)], { daemon: "per-open", idMax: 2 });
    expect(full).toMatchObject({ enospc: 1, einval: 1, eio: 1, accepted: 2, peak_ids: 2 });
    // Closing id 1 lets the cursor wrap onto it.
    const wrapped = replay(engine, [open(1, 0), open(2, 1), release(0), open(3, 2)], { daemon: "per-open", idMax: 2 });
    expect(wrapped).toMatchObject({ enospc: 0, accepted: 3, live_ids: 2 });
  });

  it("leaks the old ids on a restart, and CLOSE_ALL puts them (spec §b.12, §b.13)", () => {
    const leak = replay(engine, [open(1, 0), { op: OP_RESTART }, release(0), open(1, 1), release(1)]);
    // The restarted daemon ignores the old fh, so id 1 stays registered; its own id is closed at last release.
    expect(leak).toMatchObject({ restarts: 1, live_ids: 1, live_backings: 1, backing_closes: 1, eio: 0 });
    const closed = replay(engine, [open(1, 0), { op: OP_RESTART, oflags: RESTART_CLOSE_ALL }, release(0), open(1, 1), release(1)]);
    expect(closed).toMatchObject({ live_ids: 0, live_backings: 0, backing_frees: 2 });
  });

  it("locks the inode out after a restart under ptr, even for direct-io and cached opens (spec §d S2)", () => {
    const o = replay(engine, [open(1, 0), { op: OP_RESTART }, open(1, 1), open(1, 2, FOPEN_DIRECT_IO), open(1, 3, 0)]);
    expect(o).toMatchObject({ ebusy: 1, eio_mode: 2, eio: 3, accepted: 1 });
  });

  it("refuses a passthrough open while cached files are open (ETXTBSY, spec §b.4)", () => {
    const o = replay(engine, [open(1, 0, 0), open(1, 1)]);
    expect(o).toMatchObject({ cached_opens: 1, etxtbsy: 1, eio: 1 });
  });

  it("refuses FOPEN_PASSTHROUGH with a flag outside the mask (EINVAL, spec §b.4 step 1)", () => {
    const o = replay(engine, [open(1, 0, PT | FOPEN_KEEP_CACHE)]);
    expect(o).toMatchObject({ einval: 1, eio: 1, accepted: 0 });
  });

  it("answers id 0 with ENOENT under lookup when nothing was attached at lookup (P4b, Amir)", () => {
    const o = replay(engine, [{ op: OP_LOOKUP, nodeid: 1, fopen: 0 }, open(1, 0)], { policy: "lookup" });
    expect(o).toMatchObject({ enoent: 1, eio: 1 });
  });

  it("holds a lookup-attached backing until FORGET, then frees it", () => {
    const held = replay(engine, [open(1, 0), release(0)], { policy: "lookup" });
    expect(held).toMatchObject({ accepted: 1, live_backings: 1, live_ids: 0 });
    const forgotten = replay(engine, [open(1, 0), release(0), { op: OP_FORGET, nodeid: 1 }], { policy: "lookup" });
    expect(forgotten).toMatchObject({ forgets: 1, live_backings: 0, backing_frees: 1 });
  });

  it("starts a new inode instance after FORGET: a reused nodeid may name another file", () => {
    const o = replay(engine, [open(1, 0), release(0), { op: OP_FORGET, nodeid: 1 }, open(1, 1, PT, 1)], { policy: "lookup" });
    expect(o).toMatchObject({ accepted: 2, stale: 0, forgets: 1 });
  });

  it("counts bad rows as anomalies and goes on", () => {
    const o = replay(engine, [
      { op: 77 }, open(8, 0), open(1, 8), open(1, 0, PT, 2), release(3), open(1, 0), open(1, 0),
      { op: OP_FORGET, nodeid: 1 }, { op: OP_FORGET, nodeid: 5 },
    ]);
    expect(o).toMatchObject({
      anomalies: 8, anomaly_unknown_op: 1, anomaly_nodeid_range: 1, anomaly_fh_range: 1, anomaly_bref_range: 1,
      anomaly_release_unopened: 1, anomaly_fh_in_use: 1, anomaly_forget_busy: 1, anomaly_forget_unknown: 1,
      opens: 1, accepted: 1, events: 9,
    });
  });

  it("judges staleness by what the served inode holds now, not what it held when registered", () => {
    const d = (x: number) => new Uint8Array(32).fill(x);
    const versions: BackingFile[] = [
      { dev: 1, ino: 1, digest: d(1) }, // 0: A as looked up
      { dev: 1, ino: 1, digest: d(2) }, // 1: A rewritten in place
      { dev: 1, ino: 9, digest: d(2) }, // 2: A re-downloaded after the rewrite: same bytes as A holds now
      { dev: 1, ino: 5, digest: d(3) }, // 3: A replaced by other content
    ];
    const s = createSession(engine, versions, { policies: ["lookup"], daemon: "per-inode", maxInodes: 2, maxFiles: 4 });
    s.feed(eventColumns([open(1, 0, PT, 0), open(1, 1, PT, 1), open(1, 2, PT, 2), open(1, 3, PT, 3)]));
    // All four are served the lookup-time inode; only the replacement makes that other bytes than intended.
    expect(s.outcomes().lookup).toMatchObject({ accepted: 4, stale: 1 });
  });

  it("counts unsafe only when an opener may write", () => {
    const redl: BackingFile[] = [TABLE[0], { dev: 1, ino: 9, digest: TABLE[0].digest }];
    const run = (oflags: number) => {
      const s = createSession(engine, redl, { policies: ["digest"], daemon: "per-inode", maxInodes: 2, maxFiles: 2 });
      s.feed(eventColumns([{ ...open(1, 0), oflags }, open(1, 1, PT, 1)]));
      return s.outcomes().digest!;
    };
    expect(run(0)).toMatchObject({ diverged: 1, unsafe: 0 });
    expect(run(2)).toMatchObject({ diverged: 1, unsafe: 1 });
  });
});

it("grows the fuse_backing slab, the idr and the backing table on demand, in agreement with the model", () => {
  // 6,000 files open at once under per-open ids, then a restart that leaks every id: more objects than one slab
  // segment (4,096) and an idr far past its first 1,024 slots, in a backing table extended mid-replay.
  const n = 6000;
  const options = { policies: ["ptr", "inode"] as Policy[], daemon: "per-open" as const, maxInodes: n, maxFiles: n };
  const sessions = [new ReferenceSession(TABLE, options), new WasmReplaySession(TABLE, options)];
  const more: BackingFile[] = Array.from({ length: n }, (_, i) => ({ dev: 3, ino: i, digest: new Uint8Array(32).fill(i & 0xff) }));
  const opens = Array.from({ length: n }, (_, i) => open(i, i, PT, TABLE.length + i));
  const rest = [{ op: OP_RESTART }, ...Array.from({ length: n }, (_, i) => release(i))];
  for (const s of sessions) {
    s.addBacking(more);
    s.feed(eventColumns(opens));
    s.feed(eventColumns(rest));
  }
  const [js, wasm] = sessions.map((s) => s.outcomes());
  expect(wasm).toEqual(js);
  expect(wasm.ptr).toMatchObject({ accepted: n, peak_backings: n, peak_ids: n, live_ids: n, live_backings: n });
});
