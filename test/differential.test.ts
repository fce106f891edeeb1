import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  POLICIES, ReferenceSession, WasmReplaySession, eventColumns,
  type EventRow, type SessionOptions, type WasmBuild,
} from "../src/replay/index.js";
import { WORLD_BACKING, WORLD_FILES, WORLD_INODES, closeAll, daemonModel, eventSequence, idMax } from "./arbitraries.js";

function sessions(options: SessionOptions, build: WasmBuild) {
  return [new ReferenceSession(WORLD_BACKING, options), new WasmReplaySession(WORLD_BACKING, options, build, 32)] as const;
}

function agree(rows: EventRow[], options: SessionOptions, build: WasmBuild): void {
  const [js, wasm] = sessions(options, build);
  const events = eventColumns(rows);
  js.feed(events);
  wasm.feed(events);
  expect(wasm.outcomes()).toEqual(js.outcomes());

  // With every file closed, the invariants must hold; after umount no inode holds anything.
  const close = eventColumns(closeAll);
  js.feed(close);
  wasm.feed(close);
  expect(js.invariantViolations()).toEqual([]);
  expect(wasm.invariantViolations()).toEqual([]);
  js.unmount();
  wasm.unmount();
  expect(js.invariantViolations()).toEqual([]);
  expect(wasm.invariantViolations()).toEqual([]);
  expect(wasm.outcomes()).toEqual(js.outcomes());
}

describe("the wasm core agrees with the reference model", () => {
  const base = { policies: POLICIES, maxInodes: WORLD_INODES, maxFiles: WORLD_FILES };

  it("on every counter, for 2,500 generated sequences (release build)", () => {
    fc.assert(
      fc.property(eventSequence, daemonModel, idMax, (rows, daemon, max) => agree(rows, { ...base, daemon, idMax: max }, "release")),
      { numRuns: 2500 },
    );
  });

  it("on every counter, for 500 generated sequences (debug build)", () => {
    fc.assert(
      fc.property(eventSequence, daemonModel, idMax, (rows, daemon, max) => agree(rows, { ...base, daemon, idMax: max }, "debug")),
      { numRuns: 500 },
    );
  });

  it("the generated sequences reach the interesting states", () => {
    // Guards against a generator that silently stops producing conflicts, restarts or reuse.
    const totals = { ebusy: 0, etxtbsy: 0, eio_mode: 0, stale: 0, unsafe: 0, forgets: 0, restarts: 0, enospc: 0, anomalies: 0, accepted: 0 };
    fc.assert(
      fc.property(eventSequence, daemonModel, idMax, (rows, daemon, max) => {
        const js = new ReferenceSession(WORLD_BACKING, { ...base, daemon, idMax: max });
        js.feed(eventColumns(rows));
        for (const o of Object.values(js.outcomes())) for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += o[k];
      }),
      { numRuns: 300, seed: 42 },
    );
    for (const [k, v] of Object.entries(totals)) expect(v, k).toBeGreaterThan(0);
  });
});
