// `fbreplay report`: the pure parts (bootstrap interval, change-point rule, escaping, formatting), then the page
// itself, rendered from a real quick bench run and opened in real headless Chromium.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POLICIES } from "../src/engine.js";
import { need } from "./provision.js";
import { changePoints } from "../src/compare/history.js";
import { count, duration, percent, rate } from "../src/report/format.js";
import { escapeHtml, html } from "../src/report/html.js";
import {
  HISTORY_SCHEMA, parseHistory, parseResults, readReportInput, renderReport, ResultsError,
  type BenchResults, type HistoryEntry, type ReportInput,
} from "../src/report/index.js";
import { bootstrapMedian, median } from "../src/report/stats.js";
import { runScenarios } from "../src/scenarios/index.js";

const FIXTURE = new URL("fixtures/bench-quick.json", import.meta.url).pathname;
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const BUILD = resolve(new URL("../build/", import.meta.url).pathname);
const SECTIONS = ["scenarios", "outcomes", "throughput", "checks", "scaling", "contention", "e2e", "trend", "manifest"];

const fixture = (): BenchResults => parseResults(FIXTURE, readFileSync(FIXTURE, "utf8"));
const scenarios = runScenarios("wasm", POLICIES).table;

/** The fixture with every benchmark's samples scaled by `factor`, as the history line of run `i`. */
function historyEntry(r: BenchResults, i: number, factor: number): HistoryEntry {
  const date = `2026-11-${String(10 + i).padStart(2, "0")}T12:00:00.000Z`;
  const commit = `${i}`.repeat(7) + "0123456789abcdef0123456789abcdef0";
  return {
    schema: HISTORY_SCHEMA,
    date,
    commit,
    quick: r.quick,
    manifest: { ...r.manifest, date, commit },
    summary: r.summary,
    benchmarks: r.benchmarks.map((b) => ({ ...b, samples: b.samples.map((x) => x * factor) })),
    outcomes: r.outcomes,
  };
}

describe("bootstrap interval of the median", () => {
  const samples = [58.1, 60.2, 57.9, 59.4, 61.0, 58.8, 59.9, 62.3, 57.5, 60.7, 59.1];

  it("is deterministic (seeded) and contains the median", () => {
    const a = bootstrapMedian(samples);
    const b = bootstrapMedian([...samples]);
    expect(a).toEqual(b);
    expect(a.median).toBe(median(samples));
    expect(a.ci).not.toBeNull();
    expect(a.ci!.low).toBeLessThanOrEqual(a.median);
    expect(a.ci!.high).toBeGreaterThanOrEqual(a.median);
    expect(a.ci!.low).toBeGreaterThanOrEqual(Math.min(...samples));
    expect(a.ci!.high).toBeLessThanOrEqual(Math.max(...samples));
    expect(a.ci!.high).toBeGreaterThan(a.ci!.low);
  });

  it("contains the median of every real benchmark of the fixture", () => {
    for (const bench of fixture().benchmarks) {
      const e = bootstrapMedian(bench.samples);
      if (!e.ci) continue;
      expect(e.ci.low, bench.name).toBeLessThanOrEqual(e.median);
      expect(e.ci.high, bench.name).toBeGreaterThanOrEqual(e.median);
    }
  });

  it("gives no interval below 3 samples", () => {
    expect(bootstrapMedian([5, 7])).toEqual({ n: 2, median: 6, ci: null });
    expect(bootstrapMedian([5]).ci).toBeNull();
    expect(bootstrapMedian([5, 6, 7]).ci).not.toBeNull();
  });

  it("is a point when every sample is the same", () => {
    expect(bootstrapMedian([4, 4, 4, 4]).ci).toEqual({ low: 4, high: 4 });
  });
});

describe("change points (the rule of compare and history)", () => {
  const around = (m: number) => [m * 0.99, m, m * 1.01, m * 0.995, m * 1.005];

  it("flags the runs compare calls a regression or an improvement against the previous run, and only those", () => {
    const steps = changePoints([around(100), around(102), around(130), around(129), around(100)], 0.05, 0.05);
    expect(steps.map((s) => s.verdict)).toEqual(["unchanged", "regressed", "unchanged", "improved"]);
    expect(steps.map((s) => s.flagged)).toEqual([false, true, false, true]);
    expect(steps[1].change).toBeCloseTo(130 / 102 - 1, 6);
  });

  it("never flags runs with too few samples to test", () => {
    expect(changePoints([[100, 100], [200, 200]], 0.05, 0.05)[0]).toMatchObject({ verdict: "too few samples", flagged: false });
  });
});

describe("escaping and formatting", () => {
  it("escapes text, keeps nested markup", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    const inner = html`<b>${"<i>"}</b>`;
    expect(html`<p title="${'"x"'}">${inner}${["<", 1]}${null}</p>`.text).toBe(`<p title="&quot;x&quot;"><b>&lt;i&gt;</b>&lt;1</p>`);
  });

  it("escapes every text taken from the results", () => {
    const r = fixture();
    const evil = `<script>alert("x")</script>`;
    r.manifest.kernel = `<img src=x onerror=alert(1)>`;
    r.outcomes["atomic-edit"].description = evil;
    r.suites.throughput!.workloads[1].description = evil;
    const page = renderReport({ results: [r], history: [], scenarios, generatedAt: evil });
    expect(page).not.toContain("<script");
    expect(page).not.toContain("<img");
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("formats numbers for people", () => {
    expect(duration(58.31)).toBe("58.3 ns");
    expect(duration(5.2693)).toBe("5.27 ns");
    expect(duration(386_643_074)).toBe("387 ms");
    expect(rate(17_247_653)).toBe("17.2M events/s");
    expect(count(494_977)).toBe("494,977");
    expect(percent(199 / 494_977)).toBe("0.0402 %");
    expect(percent(0)).toBe("0 %");
  });
});

describe("renderReport without a browser", () => {
  it("references nothing outside the file and runs no script", () => {
    const page = renderReport({ results: [fixture()], history: [], scenarios });
    expect(page.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(page).not.toMatch(/https?:|\/\/[a-z]|<script|<link|<img|<iframe|@import|url\(/i);
    for (const m of page.matchAll(/\b(?:href|src)="([^"]*)"/g)) expect(m[1].startsWith("#"), m[0]).toBe(true);
  });

  it("says 'not measured in this run' for the suites a run left out, and no trend under 2 entries", () => {
    const r = fixture();
    r.suites = { check: r.suites.check };
    r.benchmarks = r.benchmarks.filter((b) => b.name.startsWith("check/"));
    r.outcomes = {};
    r.summary = null;
    r.manifest.workloads = [];
    const page = renderReport({ results: [r], history: [historyEntry(r, 1, 1)], scenarios });
    for (const id of ["outcomes", "throughput", "scaling", "contention", "e2e"]) {
      expect(sectionOf(page, id), id).toContain("Not measured in this run");
    }
    expect(sectionOf(page, "checks")).not.toContain("Not measured");
    expect(sectionOf(page, "trend")).toContain("Fewer than 2 history entries");
  });

  it("reports runs without the native engine", () => {
    const r = fixture();
    for (const w of r.suites.throughput!.workloads) for (const row of Object.values(w.policies)) delete row.native;
    r.benchmarks = r.benchmarks.filter((b) => !b.name.includes("/native/"));
    r.manifest.native = { skipped: "no C compiler" };
    const page = renderReport({ results: [r], history: [], scenarios });
    expect(sectionOf(page, "throughput")).not.toContain("native ns/event");
    expect(sectionOf(page, "manifest")).toContain("skipped: no C compiler");
  });

  it("reads its input from files", () => {
    const dir = mkdtempSync(join(tmpdir(), "fbreplay-report-"));
    try {
      const history = join(dir, "history.jsonl");
      writeFileSync(history, `${JSON.stringify(historyEntry(fixture(), 1, 1))}\n${JSON.stringify(historyEntry(fixture(), 2, 1.5))}\n`);
      const input = readReportInput([FIXTURE, FIXTURE], history);
      expect(input.results).toHaveLength(2);
      expect(input.history.map((h) => h.commit!.slice(0, 7))).toEqual(["1111111", "2222222"]);
      expect(input.scenarios).toEqual(scenarios);
      expect(readReportInput([FIXTURE]).history).toEqual([]);
      expect(() => readReportInput([])).toThrow(ResultsError);
      expect(sectionOf(renderReport(input), "trend")).toContain("change point");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses files of another schema, naming the file and line", () => {
    expect(() => parseResults("r.json", `{"schema": "other/1"}`)).toThrow(/r\.json: schema other\/1/);
    expect(() => parseResults("r.json", "{")).toThrow(ResultsError);
    expect(() => parseHistory("h.jsonl", `\n{"schema": "x"}\n`)).toThrow(/h\.jsonl:2: /);
    const line = JSON.stringify(historyEntry(fixture(), 1, 1));
    expect(parseHistory("h.jsonl", `${line}\n\n${line}\n`)).toHaveLength(2);
  });
});

/** The markup of one section, from its opening tag to the next section's. */
function sectionOf(page: string, id: string): string {
  const start = page.indexOf(`<section id="${id}">`);
  expect(start, `section ${id}`).toBeGreaterThanOrEqual(0);
  const end = page.indexOf("</section>", start);
  return page.slice(start, end);
}

describe.skipIf(need("chromium"))("the report in headless Chromium", () => {
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  const errors: string[] = [];
  const reportPath = `${BUILD}/report-test.html`;
  const reportUrl = pathToFileURL(reportPath).href;
  const latest = fixture();
  // Three results-file-like history runs at the fixture's speed, then one 30% slower: a change point at run 3.
  const history = [historyEntry(latest, 1, 1), historyEntry(latest, 2, 1.02), historyEntry(latest, 3, 1.3), historyEntry(latest, 4, 1.29)];
  const previous: BenchResults = { ...latest, manifest: { ...latest.manifest, commit: "0".repeat(40) }, benchmarks: historyEntry(latest, 0, 0.8).benchmarks };
  const input: ReportInput = { results: [previous, latest], history, scenarios, generatedAt: "2026-11-24T08:00:00.000Z" };

  beforeAll(async () => {
    mkdirSync(dirname(reportPath), { recursive: true });
    writeFileSync(reportPath, renderReport(input));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("request", (r) => requests.push(r.url()));
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(reportUrl, { waitUntil: "load" });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("loads the file alone: no request leaves the page, no error", () => {
    expect(requests).toEqual([reportUrl]);
    expect(errors).toEqual([]);
  });

  it("shows every section with its heading", async () => {
    for (const id of SECTIONS) {
      const section = page.locator(`section#${id}`);
      await expect(section.isVisible(), id).resolves.toBe(true);
      await expect(section.locator("h2").isVisible(), id).resolves.toBe(true);
      expect(await section.textContent(), id).not.toContain("Not measured in this run");
    }
  });

  const rowHeaders = (p: Page, selector: string) => p.locator(`${selector} tbody th`).allTextContents();

  it("has the scenario table: S1 … S5 by every policy", async () => {
    expect(await rowHeaders(page, "#scenarios table")).toEqual(Object.keys(scenarios));
    const head = await page.locator("#scenarios thead th").allTextContents();
    expect(head).toEqual(["scenario", ...POLICIES, "what happens"]);
    expect(await page.locator("#scenarios tbody tr").first().locator("td").first().textContent()).toBe("ok");
    await expect(page.locator("#scenarios td", { hasText: "EBUSY→EIO" }).count()).resolves.toBeGreaterThan(0);
  });

  it("has an outcome table per workload, one row per policy", async () => {
    const tables = page.locator("#outcomes table");
    expect(await tables.count()).toBe(Object.keys(latest.outcomes).length);
    for (let i = 0; i < (await tables.count()); i++) {
      expect(await tables.nth(i).locator("tbody th").allTextContents()).toEqual([...POLICIES]);
    }
    const head = await tables.first().locator("thead th").allTextContents();
    expect(head).toEqual(["policy", "opens", "accepted", "EBUSY", "ETXTBSY", "EIO", "EIO %", "unsafe", "stale", "peak backings", "peak ids", "anomalies"]);
  });

  it("has throughput per workload with intervals or 'n too small', and ratios", async () => {
    const tables = page.locator("#throughput table");
    expect(await tables.count()).toBe(latest.suites.throughput!.workloads.length);
    for (let i = 0; i < (await tables.count()); i++) {
      expect(await tables.nth(i).locator("tbody th").allTextContents()).toEqual([...POLICIES]);
      expect(await tables.nth(i).locator("thead th").allTextContents()).toEqual(["policy", "wasm ns/event", "js ns/event", "native ns/event", "wasm events/s", "wasm/native", "js/wasm"]);
    }
    // The quick run has 2 reps: no interval is made up.
    expect(await page.locator("#throughput .ci", { hasText: "n too small" }).count()).toBe(2 * 5 * 3);
    expect(await page.locator("#throughput").textContent()).toMatch(/\d+\.\d ns/);
  });

  it("has the cost per check for both regimes, with intervals, and the call cost", async () => {
    const text = (await page.locator("#checks").textContent()) ?? "";
    expect(text).toContain("JS → wasm call");
    const regimes = [...new Set(latest.suites.check!.checks.map((c) => c.regime))];
    const tables = page.locator("#checks table");
    expect(await tables.count()).toBe(regimes.length + 1);
    for (let i = 0; i < regimes.length; i++) {
      expect(await tables.nth(i).locator("tbody th").allTextContents()).toEqual([...POLICIES]);
      expect(await tables.nth(i).locator("tbody td:nth-child(6)").allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^\d+\.\d+–\d+\.\d+ ns$/)]));
    }
  });

  it("has scaling, contention and end-to-end tables", async () => {
    const scaling = latest.suites.scaling!;
    expect(await page.locator("#scaling table").count()).toBe(2);
    expect(await page.locator("#scaling table").first().locator("thead th").allTextContents()).toEqual(["events", ...scaling.policies]);
    expect(await page.locator("#scaling table").first().locator("tbody th").last().textContent()).toBe("flatness");
    const contention = latest.suites.contention!.results;
    const pidRows = await page.locator("#contention table").first().locator("tbody tr").count();
    expect(pidRows).toBe(contention.filter((r) => r.partition === "pid").length);
    await expect(page.locator("#contention h4", { hasText: "Outcomes vs one thread" }).count()).resolves.toBe(1);
    expect(await page.locator("#e2e tbody tr").count()).toBe(latest.suites.e2e!.rows.length);
  });

  it("draws every chart, visible and non-empty, with its marks, axes and legend", async () => {
    const expected: Record<string, { charts: number; marks: string }> = {
      throughput: { charts: latest.suites.throughput!.workloads.length, marks: "rect.bar" },
      checks: { charts: 1, marks: "rect.bar" },
      scaling: { charts: 2, marks: "path.line" },
      contention: { charts: 2, marks: "path.line" },
      e2e: { charts: 1, marks: "rect.bar" },
      trend: { charts: 2, marks: "path.line" },
    };
    for (const [id, { charts, marks }] of Object.entries(expected)) {
      const svgs = page.locator(`#${id} svg.chart`);
      expect(await svgs.count(), id).toBe(charts);
      for (let i = 0; i < charts; i++) {
        const svg = svgs.nth(i);
        await expect(svg.isVisible(), `${id} chart ${i}`).resolves.toBe(true);
        const box = await svg.boundingBox();
        expect(box!.width, `${id} chart ${i}`).toBeGreaterThan(100);
        expect(box!.height, `${id} chart ${i}`).toBeGreaterThan(100);
        expect(await svg.locator(marks).count(), `${id} chart ${i} marks`).toBeGreaterThan(0);
        expect(await svg.locator(".tick-y").count(), `${id} chart ${i} y ticks`).toBeGreaterThan(1);
        expect(await svg.locator(".tick-x").count(), `${id} chart ${i} x ticks`).toBeGreaterThan(1);
        expect(await svg.locator(".legend-item").count(), `${id} chart ${i} legend`).toBeGreaterThan(1);
        expect(await svg.locator("title").count(), `${id} chart ${i} tooltips`).toBeGreaterThan(1);
      }
    }
    // Bars have a drawn height; every bar of the check chart has an error bar (a hundred samples each).
    const bar = await page.locator("#throughput rect.bar").first().boundingBox();
    expect(bar!.height).toBeGreaterThan(1);
    expect(await page.locator("#checks path.err").count()).toBe(latest.suites.check!.checks.length);
  });

  it("flags the change point of the synthetic history, and compares the two results files", async () => {
    // 4 runs; run 3 is 30% slower than run 2. The check benchmarks (100+ samples a run) are flagged there; the quick
    // throughput runs have 2 samples each, too few to test, so none of them is (as `fbreplay history` would say).
    expect(await page.locator("#trend circle.flag").count()).toBe(5);
    const ticks = await page.locator("#trend svg.chart").first().locator(".tick-x").allTextContents();
    expect(ticks).toEqual(history.map((h) => h.commit!.slice(0, 7)));
    const [throughput, checks] = await page.locator("#trend table.trend").all();
    expect(await throughput.locator("tbody td:last-child").allTextContents()).toEqual(POLICIES.map(() => "none (under 5 samples a run)"));
    expect(await checks.locator("tbody td:last-child").allTextContents()).toEqual(POLICIES.map(() => "run 3 (3333333) +27.5 %"));
    // The previous results file is the fixture 20% faster: every benchmark with an interval changed.
    expect(await page.locator("#trend h3", { hasText: "vs the previous results file" }).count()).toBe(1);
  });

  it("shows the manifest", async () => {
    const text = (await page.locator("#manifest").textContent()) ?? "";
    for (const v of [latest.manifest.commit!, latest.manifest.node, latest.manifest.v8, latest.manifest.asc.version, latest.manifest.kernel, latest.manifest.cpu.model]) {
      expect(text).toContain(v);
    }
    for (const w of latest.manifest.workloads) expect(text).toContain(w.sha256);
  });

  it("saves a full-page screenshot", async () => {
    const out = `${BUILD}/report-screenshot.png`;
    await page.screenshot({ path: out, fullPage: true });
    expect(statSync(out).size).toBeGreaterThan(10_000);
  });
});
