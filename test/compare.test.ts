// compare, history and the exports: the statistics on generated samples, behaviour changes, bad input, and the
// export formats checked against their published schemas / field lists.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareResults, compareSamples, mannWhitney, medianInterval } from "../src/compare/index.js";
import type { ResultsCore } from "../src/results/index.js";
import { toBencher, toCsv, toGithubBenchmark } from "../src/compare/export.js";
import { trends } from "../src/compare/history.js";
import { sfc32 } from "../src/rng.js";

/** n samples around `center` with relative noise `noise` (uniform), from a seed. */
function samples(n: number, center: number, noise: number, seed: number): number[] {
  const r = sfc32(seed);
  return Array.from({ length: n }, () => center * (1 + noise * (2 * r() - 1)));
}

function results(benchmarks: { name: string; samples: number[] }[], outcomes: ResultsCore["outcomes"] = {}, commit = "a".repeat(40)): ResultsCore {
  return {
    schema: "fbreplay-bench/1", quick: true, manifest: { date: "2026-11-23T00:00:00.000Z", commit },
    benchmarks: benchmarks.map((b) => ({ ...b, unit: "ns/event" })), outcomes, suites: {},
  };
}

describe("timing statistics", () => {
  it("identical sample sets are unchanged (p = 1)", () => {
    const s = samples(30, 60, 0.05, 1);
    const c = compareSamples("x", "ns/event", s, [...s], 0.05, 0.05);
    expect(c.verdict).toBe("unchanged");
    expect(c.p).toBeCloseTo(1, 6);
    expect(c.ratio).toBe(1);
  });

  it("a 20% shift with low noise is a regression, and the reverse an improvement", () => {
    const base = samples(20, 60, 0.02, 2);
    const head = samples(20, 72, 0.02, 3);
    const c = compareSamples("x", "ns/event", base, head, 0.05, 0.05);
    expect(c.verdict).toBe("regressed");
    expect(c.p!).toBeLessThan(1e-6);
    expect(c.interval![0]).toBeGreaterThan(1.15);
    expect(c.interval![1]).toBeLessThan(1.25);
    expect(compareSamples("x", "ns/event", head, base, 0.05, 0.05).verdict).toBe("improved");
  });

  it("a 2% shift inside the noise is unchanged, however many samples", () => {
    for (const n of [10, 200]) {
      const c = compareSamples("x", "ns/event", samples(n, 60, 0.08, 4), samples(n, 61.2, 0.08, 5), 0.05, 0.05);
      expect(c.verdict, `n = ${n}`).toBe("unchanged");
    }
  });

  it("says too few samples instead of guessing", () => {
    const c = compareSamples("x", "ns/event", [60, 61], [90, 91], 0.05, 0.05);
    expect(c.verdict).toBe("too few samples");
    expect(c.interval).toBeNull();
    expect(c.n).toEqual([2, 2]);
  });

  it("Mann–Whitney U matches a hand-computed case with ties", () => {
    // a = [1, 2, 2], b = [2, 3, 4, 5]: ranks 1, 3, 3 | 3, 5, 6, 7 → R_a = 7, U_a = 7 - 6 = 1.
    const r = mannWhitney([1, 2, 2], [2, 3, 4, 5]);
    expect(r.u).toBe(1);
    expect(r.p).toBeGreaterThan(0.05);
    expect(r.p).toBeLessThan(0.2);
  });

  it("the bootstrap interval of a median is deterministic and contains it", () => {
    const s = samples(40, 60, 0.1, 6);
    const a = medianInterval(s, 0.05);
    expect(medianInterval(s, 0.05)).toEqual(a);
    const m = [...s].sort((x, y) => x - y);
    const med = (m[19] + m[20]) / 2;
    expect(a[0]).toBeLessThanOrEqual(med);
    expect(a[1]).toBeGreaterThanOrEqual(med);
  });
});

describe("compare", () => {
  const outcomes = (eio: number) => ({ "synth-1M": { sha256: "f".repeat(64), description: "synth", policies: { ptr: { opens: 10, eio } } } });

  it("reports timings and behaviour changes apart", () => {
    const base = results([{ name: "throughput/w/wasm/ptr", samples: samples(10, 60, 0.02, 7) }], outcomes(3));
    const head = results([{ name: "throughput/w/wasm/ptr", samples: samples(10, 60, 0.02, 8) }], outcomes(4));
    const c = compareResults("base.json", base, "head.json", head, { threshold: 0.05, alpha: 0.05 });
    expect(c.regressions).toBe(0);
    expect(c.timings[0].verdict).toBe("unchanged");
    expect(c.behaviour_changes).toEqual([{ workload: "synth-1M", policy: "ptr", counter: "eio", base: 3, head: 4 }]);
  });

  it("refuses to compare different traces", () => {
    const base = results([], outcomes(3));
    const head = results([], { "synth-1M": { ...outcomes(3)["synth-1M"], sha256: "e".repeat(64) } });
    expect(() => compareResults("base.json", base, "head.json", head, { threshold: 0.05, alpha: 0.05 })).toThrow(/different traces compared: workload synth-1M/);
  });

  it("from the CLI: exit 1 on a regression, 0 when unchanged, 2 on bad input", () => {
    const dir = mkdtempSync(join(tmpdir(), "fbreplay-compare-"));
    const write = (name: string, r: unknown) => {
      writeFileSync(join(dir, name), JSON.stringify(r));
      return join(dir, name);
    };
    const base = write("base.json", results([{ name: "check/cache/ptr", samples: samples(20, 5, 0.02, 9) }], outcomes(3)));
    const same = write("same.json", results([{ name: "check/cache/ptr", samples: samples(20, 5, 0.02, 10) }], outcomes(3)));
    const slow = write("slow.json", results([{ name: "check/cache/ptr", samples: samples(20, 6, 0.02, 11) }], outcomes(3)));
    const cli = (...args: string[]) => spawnSync(process.execPath, ["dist/cli/bin.js", ...args], { encoding: "utf8" });
    const unchanged = cli("compare", base, same);
    expect(unchanged.status, unchanged.stderr).toBe(0);
    expect(unchanged.stdout).toMatch(/check\/cache\/ptr .* unchanged/);
    const regressed = cli("compare", base, slow, "--threshold", "5%");
    expect(regressed.status).toBe(1);
    expect(regressed.stdout).toMatch(/regressed/);
    expect(JSON.parse(cli("compare", base, slow, "--json").stdout).regressions).toBe(1);
    const bad = write("bad.json", { schema: "something-else/2" });
    const r = cli("compare", base, bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.json: schema something-else\/2, this fbreplay reads fbreplay-bench\/1/);
    expect(cli("compare", base, join(dir, "missing.json")).status).toBe(2);
  });
});

describe("history", () => {
  it("flags the run where a benchmark changed, not the noisy ones", () => {
    const entry = (center: number, seed: number, commit: string) => ({
      schema: "fbreplay-bench-history/1", date: "2026-11-23", commit, quick: true, outcomes: {},
      benchmarks: [{ name: "check/cache/ptr", unit: "ns/check", samples: samples(20, center, 0.02, seed) }],
    });
    const t = trends([entry(5, 1, "c1"), entry(5.05, 2, "c2"), entry(6.5, 3, "c3"), entry(6.45, 4, "c4")], 0.05, 0.05, true);
    expect(t).toHaveLength(1);
    expect(t[0].points).toHaveLength(4);
    expect(t[0].change_points.map((c) => [c.run, c.commit, c.verdict])).toEqual([[2, "c3", "regressed"]]);
  });
});

describe("exports", () => {
  const r = results([
    { name: "throughput/synth-1M/wasm/ptr", samples: samples(10, 60, 0.02, 12) },
    { name: "e2e/from-file/all", samples: [80, 82] },
  ]);

  it("Bencher Metric Format: the bmf.json schema (benchmark → measure → {value, lower_value?, upper_value?})", () => {
    const bmf = toBencher(r) as Record<string, Record<string, Record<string, number>>>;
    expect(Object.keys(bmf)).toEqual(["throughput/synth-1M/wasm/ptr", "e2e/from-file/all"]);
    for (const [name, measures] of Object.entries(bmf)) {
      expect(name.length).toBeLessThanOrEqual(1024);
      for (const [measure, metric] of Object.entries(measures)) {
        expect(measure).toBe("latency");
        expect(Object.keys(metric).every((k) => ["value", "lower_value", "upper_value"].includes(k))).toBe(true);
        expect(typeof metric.value).toBe("number");
        if ("lower_value" in metric) expect(metric.lower_value).toBeLessThanOrEqual(metric.value);
        if ("upper_value" in metric) expect(metric.upper_value).toBeGreaterThanOrEqual(metric.value);
      }
    }
    expect(bmf["e2e/from-file/all"].latency).toEqual({ value: 81 }); // too few samples for an interval
  });

  it("github-action-benchmark customSmallerIsBetter: [{name, unit, value, range?, extra?}]", () => {
    const g = toGithubBenchmark(r);
    expect(Array.isArray(g)).toBe(true);
    for (const e of g) {
      expect(Object.keys(e).every((k) => ["name", "unit", "value", "range", "extra"].includes(k))).toBe(true);
      expect(typeof e.name).toBe("string");
      expect(typeof e.unit).toBe("string");
      expect(Number.isFinite(e.value)).toBe(true);
      if (e.range !== undefined) expect(e.range).toMatch(/^± [0-9.e+-]+$/);
    }
    expect(g[1]).not.toHaveProperty("range");
  });

  it("CSV: a header and one row of eight fields per benchmark", () => {
    const lines = toCsv(r).trimEnd().split("\n");
    expect(lines[0]).toBe("name,unit,median,lower,upper,samples,commit,date");
    expect(lines).toHaveLength(3);
    for (const l of lines.slice(1)) expect(l.split(",")).toHaveLength(8);
    expect(lines[2].split(",").slice(2, 6)).toEqual(["81", "", "", "2"]);
  });

  it("report from the CLI: an HTML file from a results file; bad input exits 2 naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "fbreplay-report-cli-"));
    const out = join(dir, "r.html");
    const ok = spawnSync(process.execPath, ["dist/cli/bin.js", "report", "test/fixtures/bench-quick.json", "-o", out], { encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
    const html = readFileSync(out, "utf8");
    for (const id of ["scenarios", "outcomes", "throughput", "checks", "scaling", "contention", "e2e", "trend", "manifest"]) expect(html).toContain(`id="${id}"`);
    writeFileSync(join(dir, "bad.json"), "{");
    const bad = spawnSync(process.execPath, ["dist/cli/bin.js", "report", join(dir, "bad.json"), "-o", out], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/bad\.json: not JSON/);
  });

  it("from the CLI, for a real quick bench file", () => {
    const dir = mkdtempSync(join(tmpdir(), "fbreplay-export-"));
    const out = join(dir, "bmf.json");
    const run = spawnSync(process.execPath, ["dist/cli/bin.js", "export", "test/fixtures/bench-quick.json", "--format", "bmf", "-o", out], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const bmf = JSON.parse(readFileSync(out, "utf8"));
    expect(Object.keys(bmf).length).toBeGreaterThan(20);
    expect(bmf["throughput/synth-1M/wasm/ptr"].latency.value).toBeGreaterThan(0);
  });
});
