// A bounded slice of `npm run fuzz` (scripts/fuzz): a few thousand seeded inputs over every target (seed 1, or
// FBREPLAY_FUZZ_SEED to look at others; an input is found again by its seed and index). Any defect (a crash, a trap, a stack trace, a hang, memory over budget, partial output with an
// error, an output left after a failure, wasm disagreeing with the model) fails the test and is named.
import { describe, expect, it } from "vitest";
import { ALL_TARGETS, formatSummary, fuzzTarget, spawnSample } from "../scripts/fuzz/run.mjs";

/** Inputs per target in the slice: 2,400 in all, about 30 s on two idle cores. */
const SLICE = 400;
const SEED = Number(process.env.FBREPLAY_FUZZ_SEED ?? 1);

describe(`fuzz slice (seed ${SEED}: npm run fuzz -- --seed ${SEED} makes the same inputs and more)`, () => {
  for (const target of ALL_TARGETS) {
    it(`${target}: ${SLICE} inputs, no defect`, async () => {
      const r = await fuzzTarget(target, { seed: SEED, count: SLICE, jobs: 1 });
      expect(r.inputs).toBe(SLICE);
      expect(r.defect, formatSummary([r], SEED)).toBe(0);
    }, 120_000);
  }

  it("a sample through the real CLI: one line and exit 2 for every bad trace", async () => {
    const r = await spawnSample({ seed: SEED, count: 10 });
    expect(r.defect, formatSummary([r], SEED)).toBe(0);
    expect(r.ok + r.clean).toBe(10);
  }, 120_000);
});
