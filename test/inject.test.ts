import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OP_OPEN, OP_RELEASE, OP_RESTART, RESTART_CLOSE_ALL } from "../src/abi.js";
import { Injector, ReferenceSession, WasmReplaySession, backingFiles, eventColumns, type EventColumns, type Outcomes } from "../src/replay/index.js";
import { WORLD_BACKING, WORLD_FILES, WORLD_INODES, closeAll, eventSequence } from "./arbitraries.js";

const rows = (ev: EventColumns) => Array.from({ length: ev.length }, (_, i) => ({
  op: ev.op[i], nodeid: ev.nodeid[i], fh: ev.fh[i], bref: ev.bref[i], oflags: ev.oflags[i], fopen: ev.fopen[i],
}));

function run(injector: Injector, input: EventColumns, engine: "js" | "wasm" = "js"): Outcomes {
  const K = injector.scale;
  const options = { policies: ["ptr"] as const, daemon: "per-inode" as const, maxInodes: WORLD_INODES * K, maxFiles: WORLD_FILES * K };
  const s = engine === "js" ? new ReferenceSession([], options) : new WasmReplaySession([], options);
  s.addBacking(injector.addTraceBacking(WORLD_BACKING));
  const { backing, events } = injector.rewrite(input);
  s.addBackingTable(backing);
  s.feed(events);
  return s.outcomes().ptr!;
}

describe("scenario injection", () => {
  it("passes chunks through untouched when there is nothing to inject", () => {
    const injector = new Injector({});
    injector.addTraceBacking(WORLD_BACKING);
    const ev = eventColumns([{ op: OP_OPEN, nodeid: 1, fh: 0, bref: 2 }]);
    expect(injector.rewrite(ev).events).toBe(ev);
  });

  it("inserts a restart before every N-th event, with CLOSE_ALL when asked", () => {
    const injector = new Injector({ restartEvery: 3, closeAll: true });
    injector.addTraceBacking(WORLD_BACKING);
    const out = rows(injector.rewrite(eventColumns(Array.from({ length: 7 }, (_, i) => ({ op: OP_OPEN, nodeid: 0, fh: i })))).events);
    expect(out.map((r) => r.op === OP_RESTART)).toEqual([false, false, false, true, false, false, false, true, false]);
    expect(out.filter((r) => r.op === OP_RESTART).every((r) => r.oflags === RESTART_CLOSE_ALL)).toBe(true);
    expect(injector.counts.restarts).toBe(2);
  });

  it("inserts restarts at given event indices, across chunks", () => {
    const injector = new Injector({ restartAt: [0, 3] });
    injector.addTraceBacking(WORLD_BACKING);
    const chunk = () => eventColumns([{ op: OP_OPEN, nodeid: 0, fh: 0 }, { op: OP_OPEN, nodeid: 0, fh: 1 }]);
    const first = rows(injector.rewrite(chunk()).events).map((r) => r.op);
    const second = rows(injector.rewrite(chunk()).events).map((r) => r.op);
    expect([...first, ...second]).toEqual([OP_RESTART, OP_OPEN, OP_OPEN, OP_OPEN, OP_RESTART, OP_OPEN]);
    expect(injector.counts.restarts).toBe(2);
  });

  it("inserts restarts before the K-th open (from 1), counting opens only, across chunks and copies", () => {
    const injector = new Injector({ restartBeforeOpen: [1, 4], scale: 2 });
    injector.addTraceBacking(WORLD_BACKING);
    // Per trace row two copies: OPEN OPEN | RELEASE RELEASE | OPEN OPEN: opens 1, 2, then 3, 4.
    const chunk = () => eventColumns([{ op: OP_OPEN, nodeid: 0, fh: 0 }, { op: OP_RELEASE, nodeid: 0, fh: 0 }]);
    const out = [...rows(injector.rewrite(chunk()).events), ...rows(injector.rewrite(chunk()).events)].map((r) => r.op);
    expect(out).toEqual([OP_RESTART, OP_OPEN, OP_OPEN, OP_RELEASE, OP_RELEASE, OP_OPEN, OP_RESTART, OP_OPEN, OP_RELEASE, OP_RELEASE]);
    // The restart goes before the open it names: as many opens come before it as its number minus one.
    const opensBefore = out.flatMap((op, i) => (op === OP_RESTART ? [out.slice(0, i).filter((o) => o === OP_OPEN).length] : []));
    expect(opensBefore).toEqual([0, 3]);
    expect(injector.counts.restarts).toBe(2);
  });

  it("refuses open number 0: opens are numbered from 1", () => {
    expect(() => new Injector({ restartBeforeOpen: [0] })).toThrow(/--restart-before-open: expected open numbers >= 1/);
  });

  it("re-downloads give new inodes with the same bytes, replacements new bytes", () => {
    const injector = new Injector({ redownloadRate: 0.5, replaceRate: 0.5, seed: 7 });
    injector.addTraceBacking(WORLD_BACKING);
    const backing = backingFiles(injector.rewrite(eventColumns(Array.from({ length: 200 }, (_, i) => ({ op: OP_OPEN, nodeid: 0, fh: i % 4, bref: 0 })))).backing);
    expect(injector.counts.redownloads + injector.counts.replacements).toBe(200);
    expect(injector.counts.redownloads).toBeGreaterThan(50);
    const same = backing.filter((f) => Buffer.from(f.digest).equals(Buffer.from(WORLD_BACKING[0].digest)));
    expect(same.length).toBe(injector.counts.redownloads);
    expect(new Set(backing.map((f) => `${f.dev}:${f.ino}`)).size).toBe(200);
    expect(backing.some((f) => WORLD_BACKING.some((w) => w.dev === f.dev && w.ino === f.ino))).toBe(false);
  });

  it("is deterministic from the seed", () => {
    const out = (seed: number) => {
      const injector = new Injector({ redownloadRate: 0.2, replaceRate: 0.2, restartEvery: 7, seed });
      injector.addTraceBacking(WORLD_BACKING);
      return rows(injector.rewrite(eventColumns(Array.from({ length: 100 }, (_, i) => ({ op: OP_OPEN, nodeid: i % 4, fh: i % 6, bref: i % 3 })))).events);
    };
    expect(out(3)).toEqual(out(3));
    expect(out(3)).not.toEqual(out(4));
  });

  it("--scale K multiplies every count of a sequence by K (disjoint namespaces do not interact)", () => {
    fc.assert(
      fc.property(eventSequence, fc.integer({ min: 2, max: 4 }), (seq, K) => {
        const input = eventColumns([...seq.filter((r) => r.op !== 0 && r.op < 6 && (r.nodeid ?? 0) < WORLD_INODES && (r.fh ?? 0) < WORLD_FILES && (r.bref ?? 0) < WORLD_BACKING.length), ...closeAll]);
        const one = run(new Injector({}), input);
        const many = run(new Injector({ scale: K }), input, "wasm");
        for (const key of Object.keys(one) as (keyof Outcomes)[]) {
          if (key.startsWith("peak_") || key === "lock_spins") continue;
          expect(many[key], key).toBe(one[key] * K);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("the engines agree on injected replays", () => {
    fc.assert(
      fc.property(eventSequence, fc.nat(1000), (seq, seed) => {
        const input = eventColumns(seq.filter((r) => r.op !== 0 && r.op < 6 && (r.nodeid ?? 0) < WORLD_INODES && (r.fh ?? 0) < WORLD_FILES && (r.bref ?? 0) < WORLD_BACKING.length));
        const plan = { scale: 2, restartEvery: 5, redownloadRate: 0.2, replaceRate: 0.1, seed };
        expect(run(new Injector(plan), input, "wasm")).toEqual(run(new Injector(plan), input, "js"));
      }),
      { numRuns: 300 },
    );
  });
});
