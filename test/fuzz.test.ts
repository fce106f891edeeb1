// A bounded slice of `npm run fuzz` (scripts/fuzz): seeded inputs over every target (seed 1, or FBREPLAY_FUZZ_SEED
// to look at others; an input is found again by its seed and index). Any defect (a crash, a trap, a stack trace, a
// hang, memory over budget, partial output with an error, an output left after a failure, wasm disagreeing with the
// model) fails the test and is named. Each target's slice is sized to what its inputs cost, and the test checks that
// it still reaches every kind of input the target makes, each ending both ways a target allows (OK, clean error).
import { describe, expect, it } from "vitest";
import { cliCommands } from "../scripts/fuzz/cli.mjs";
import { ALL_TARGETS, formatSummary, fuzzTarget, spawnSample } from "../scripts/fuzz/run.mjs";
import { TARGETS } from "../scripts/fuzz/targets.mjs";
import { classifyCli } from "../scripts/fuzz/worker.mjs";
import { INTERRUPT_NOTICE } from "../src/cli/context.js";

/**
 * Inputs per target: 770 in all, sized to what each costs (a CLI run can wait for its Ctrl-C; an ingest costs
 * several wasm-against-model sequences): about 12 s of CPU on this project's 2-core machines. `npm run fuzz` runs
 * 100,000 of each.
 */
const SLICE: Record<string, number> = { trace: 150, libfuse: 100, strace: 60, native: 60, cli: 100, differential: 300 };
/** The CLI target's Ctrl-C, sooner than the full run's 3 s: a long replay then waits less for it. */
const INTERRUPT_MS = 1000;
const SEED = Number(process.env.FBREPLAY_FUZZ_SEED ?? 1);

/** The kinds of input a target makes, and the classes each must reach in the slice. */
function expected(target: string): { shapes: string[]; classes: string[] } {
  if (target === "cli") return { shapes: cliCommands(), classes: ["ok", "clean"] };
  const t = (TARGETS as Record<string, { shapes: string[]; cleanErrors: string[] }>)[target];
  return { shapes: t.shapes, classes: t.cleanErrors.length > 0 ? ["ok", "clean"] : ["ok"] };
}

describe(`fuzz slice (seed ${SEED}: npm run fuzz -- --seed ${SEED} makes the same inputs and more)`, () => {
  it("covers every target", () => expect(Object.keys(SLICE).sort()).toEqual([...ALL_TARGETS].sort()));

  for (const target of ALL_TARGETS) {
    it(`${target}: ${SLICE[target]} inputs, no defect, every kind of input reached`, async () => {
      const r = await fuzzTarget(target, { seed: SEED, count: SLICE[target], jobs: 1, interruptMs: INTERRUPT_MS });
      expect(r.inputs).toBe(SLICE[target]);
      expect(r.defect, formatSummary([r], SEED)).toBe(0);
      const { shapes, classes } = expected(target);
      const seen = new Set(Object.keys(r.shapes).map((k: string) => k.split(" ")[0]));
      expect(shapes.filter((s) => !seen.has(s)), "kinds of input the slice never made").toEqual([]);
      const reached = new Set(Object.keys(r.shapes).map((k: string) => k.split(" ")[1]));
      expect(classes.filter((c) => !reached.has(c)), "classes the slice never reached").toEqual([]);
    }, 120_000);
  }

  it("a sample through the real CLI: one line and exit 2 for every bad trace", async () => {
    const r = await spawnSample({ seed: SEED, count: 6 });
    expect(r.defect, formatSummary([r], SEED)).toBe(0);
    expect(r.ok + r.clean).toBe(6);
    // Each child reported its own peak RSS (a Node process takes some 40 MB; a parent's would be this runner's).
    expect(r.peak_rss_mb).toBeGreaterThan(30);
    expect(r.peak_rss_mb).toBeLessThan(300);
  }, 120_000);
});

describe("the CLI target's classes", () => {
  const error = "fbreplay: /x/t.fbt: the whole trace: replaying 3 inodes needs about 97 MiB, more than --max-memory 64 MiB";
  const run = (stderr: string[], status: number, interrupted: boolean, stdout = "") => classifyCli({ status, stdout, stderr: stderr.map((l) => `${l}\n`).join(""), interrupted }, []).cls;

  it("the notice of the harness's own interrupt is not a second line; any other second line is", () => {
    expect(run([INTERRUPT_NOTICE, error], 2, true)).toBe("clean");
    expect(run([INTERRUPT_NOTICE, error], 2, false)).toBe("defect");
    expect(run([INTERRUPT_NOTICE, error, "at main (main.js:1:1)"], 2, true)).toBe("defect");
    expect(run([error, error], 2, true)).toBe("defect");
    expect(run([error], 2, false)).toBe("clean");
  });

  it("exit 130 after the interrupt is fine; partial output with an error is not", () => {
    expect(run([INTERRUPT_NOTICE, "fbreplay: interrupted: the counts above cover only the events replayed"], 130, true, "{}")).toBe("ok");
    expect(run([error], 2, false, "a table")).toBe("defect");
  });
});
