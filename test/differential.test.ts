import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FOPEN_PASSTHROUGH, OP_LOOKUP, OP_OPEN } from "../src/abi.js";
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

  it("policies replayed in one session do not see each other: each counts as it would alone", () => {
    // The session replays each chunk under one policy after the other; state they shared (the contents a backing
    // inode holds now) once let a later policy see events it had not replayed yet.
    fc.assert(
      fc.property(eventSequence, daemonModel, idMax, (rows, daemon, max) => {
        const events = eventColumns(rows);
        const together = new WasmReplaySession(WORLD_BACKING, { ...base, daemon, idMax: max }, "release", 4);
        together.feed(events);
        const all = together.outcomes();
        for (const policy of POLICIES) {
          const alone = new WasmReplaySession(WORLD_BACKING, { ...base, policies: [policy], daemon, idMax: max }, "release", 4);
          alone.feed(events);
          expect(all[policy], policy).toEqual(alone.outcomes()[policy]);
        }
      }),
      {
        numRuns: 300,
        // Chunks of 4: X (bref 0) opened in the first; in the second, reuse serves X to an open naming its
        // re-downloaded copy (bref 1, the same bytes), before a later open names X rewritten in place (bref 3).
        examples: [[[
          { op: OP_OPEN, nodeid: 0, fh: 0, bref: 0, fopen: FOPEN_PASSTHROUGH }, { op: OP_LOOKUP, nodeid: 2, bref: 2 },
          { op: OP_LOOKUP, nodeid: 2, bref: 2 }, { op: OP_LOOKUP, nodeid: 2, bref: 2 },
          { op: OP_OPEN, nodeid: 0, fh: 1, bref: 1, fopen: FOPEN_PASSTHROUGH }, { op: OP_OPEN, nodeid: 1, fh: 2, bref: 3, fopen: FOPEN_PASSTHROUGH },
        ], "per-inode", 0x7fffffff]],
      },
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

  it("the generated sequences reach what sets stable-id, stable-id-keep and per-nodeid apart", () => {
    // Same sequence, three daemons, mainline: stable-id must sometimes accept what per-inode refuses (an inherited id
    // after a restart) and sometimes refuse too (a re-registration under a closed id), which stable-id-keep avoids at
    // the cost of ids it leaves registered; per-nodeid must sometimes
    // accept a replaced file that per-inode refuses, serving the old one (stale).
    const seen = { stableFewerEbusy: 0, stableEbusy: 0, keepFewerEbusy: 0, keepMorePeakIds: 0, nodeidFewerEbusy: 0, nodeidMoreStale: 0 };
    fc.assert(
      fc.property(eventSequence, (rows) => {
        const ptr = (daemon: "per-inode" | "stable-id" | "stable-id-keep" | "per-nodeid") => {
          const js = new ReferenceSession(WORLD_BACKING, { ...base, policies: ["ptr"], daemon });
          js.feed(eventColumns(rows));
          return js.outcomes().ptr!;
        };
        const [inode, stable, keep, nodeid] = [ptr("per-inode"), ptr("stable-id"), ptr("stable-id-keep"), ptr("per-nodeid")];
        if (keep.ebusy < stable.ebusy) seen.keepFewerEbusy++;
        if (keep.peak_ids > stable.peak_ids) seen.keepMorePeakIds++;
        if (stable.ebusy < inode.ebusy) seen.stableFewerEbusy++;
        if (stable.ebusy > 0) seen.stableEbusy++;
        if (nodeid.ebusy < inode.ebusy) seen.nodeidFewerEbusy++;
        if (nodeid.stale > inode.stale) seen.nodeidMoreStale++;
      }),
      { numRuns: 5000, seed: 42 },
    );
    for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(0);
  });
});
