// The command line end to end, on real files: synth → inspect → replay, and every bad input case it must refuse.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CLI = "dist/cli/bin.js";
let dir: string;
let trace: string;

function fbreplay(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
}

function json(...args: string[]) {
  const r = fbreplay(...args);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fbreplay-cli-"));
  trace = join(dir, "s.fbt");
  execFileSync(process.execPath, [CLI, "synth", "--events", "200000", "--seed", "7", "--inodes", "2000", "-o", trace], { stdio: "pipe" });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("synth, inspect and replay", () => {
  it("synth is deterministic from the seed", () => {
    const again = join(dir, "again.fbt");
    const other = join(dir, "other.fbt");
    execFileSync(process.execPath, [CLI, "synth", "--events", "200000", "--seed", "7", "--inodes", "2000", "-o", again], { stdio: "pipe" });
    execFileSync(process.execPath, [CLI, "synth", "--events", "200000", "--seed", "8", "--inodes", "2000", "-o", other], { stdio: "pipe" });
    const events = (f: string) => json("inspect", f, "--json");
    const { created: _a, path: _p, ...first } = events(trace);
    const { created: _b, path: _q, ...second } = events(again);
    expect(second).toEqual(first);
    expect(events(other).overlapping_opens).not.toBe(first.overlapping_opens);
  });

  it("inspect --json has the documented fields", () => {
    const s = json("inspect", trace, "--json");
    expect(s).toMatchObject({ events: 200000, source: "synth" });
    for (const key of ["events", "opens", "releases", "overlapping_opens", "nodeid_reuse", "backing_inodes", "digests", "shared_digests", "duration_ns"]) {
      expect(typeof s[key], key).toBe("number");
    }
    expect(s.opens).toBe(s.releases);
    expect(s.overlapping_opens).toBeGreaterThan(0);
    expect(s.nodeid_reuse).toBeGreaterThan(0);
  });

  it("the wasm and js engines give identical outcome counts on the same trace and options", () => {
    const args = ["replay", trace, "--json", "--restart-every", "30000", "--redownload-rate", "0.01", "--replace-rate", "0.005", "--scale", "2", "--seed", "3"];
    const wasm = json(...args, "--engine", "wasm");
    const js = json(...args, "--engine", "js");
    expect(wasm.complete).toBe(true);
    expect(wasm.events).toBe(400000 + wasm.injected.restarts);
    const strip = (r: { policies: Record<string, Record<string, number>> }) =>
      Object.fromEntries(Object.entries(r.policies).map(([p, o]) => [p, { ...o, ns_per_event: 0 }]));
    expect(strip(wasm)).toEqual(strip(js));
    expect(wasm.policies.ptr.ebusy).toBeGreaterThan(0);
    expect(wasm.policies.ptr.ebusy).toBeGreaterThan(wasm.policies.inode.ebusy);
    for (const o of Object.values(wasm.policies) as Record<string, number>[]) {
      for (const key of ["opens", "accepted", "ebusy", "etxtbsy", "eio", "unsafe", "stale", "peak_backings", "peak_ids", "anomalies", "ns_per_event"]) {
        expect(typeof o[key], key).toBe("number");
      }
      expect(o.anomalies).toBe(0);
    }
  });

  it("replay is deterministic from the seed", () => {
    const counts = (seed: string) => {
      const r = json("replay", trace, "--json", "--policy", "ptr,digest", "--redownload-rate", "0.02", "--seed", seed);
      return Object.fromEntries(Object.entries(r.policies as Record<string, Record<string, number>>).map(([p, o]) => [p, { ...o, ns_per_event: 0 }]));
    };
    expect(counts("5")).toEqual(counts("5"));
    expect(counts("5")).not.toEqual(counts("6"));
  });

  it("draws a progress bar only on a terminal, and not with --json", () => {
    // script(1) gives the command a pseudo-terminal; a pipe (as under CI) gets no progress at all.
    const onTerminal = (args: string) => spawnSync("script", ["-qec", `${process.execPath} ${CLI} replay traces/c-build.fbt --scale 4 --policy ptr ${args}`, "/dev/null"], { encoding: "utf8" }).stdout;
    expect(onTerminal("")).toMatch(/replay traces\/c-build\.fbt \[#+\.*\] \d+\.\d%/);
    expect(onTerminal("--json")).not.toMatch(/replay traces\/c-build\.fbt \[/);
    const piped = spawnSync(process.execPath, [CLI, "replay", "traces/c-build.fbt", "--scale", "4", "--policy", "ptr"], { encoding: "utf8" });
    expect(piped.stderr).toBe("");
  });

  it("prints a policy × outcome table", () => {
    const r = fbreplay("replay", trace, "--restart-before-open", "1000,50000");
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^policy\s+opens\s+accepted\s+EBUSY/m);
    expect(r.stdout).toMatch(/2 restarts/);
    for (const p of ["ptr", "inode", "digest", "reuse", "lookup"]) expect(r.stdout).toMatch(new RegExp(`^${p}\\s+\\d+`, "m"));
    expect(r.stdout).not.toMatch(/All traces/);
  });

  it("keeps the old --restart-at (event indices from 0) for one release, saying so, with its old meaning", () => {
    const old = fbreplay("replay", trace, "--restart-at", "0,1", "--policy", "ptr", "--json");
    expect(old.status).toBe(0);
    expect(old.stderr).toMatch(/^fbreplay: replay --restart-at \(event indices from 0\) is deprecated .*use --restart-before-open K \(opens from 1, as record\)$/m);
    // Events 0 and 1 are two restarts; as opens they would be one (there is no open 0).
    expect(JSON.parse(old.stdout).injected.restarts).toBe(2);
    const bad = fbreplay("replay", trace, "--restart-before-open", "0");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--restart-before-open 0: expected an integer >= 1/);
  });

  it("puts several traces side by side after their tables: EIO % and unsafe or stale accepts per policy", () => {
    const args = ["replay", "traces/sqlite-held-native.fbt", "traces/c-build.fbt", "--policy", "ptr,reuse", "--seed", "3"];
    const r = fbreplay(...args);
    expect(r.status).toBe(0);
    const json = JSON.parse(fbreplay(...args, "--json").stdout) as { trace: { path: string }; policies: Record<string, { opens: number; eio: number; unsafe: number; stale: number }> }[];
    const summary = r.stdout.slice(r.stdout.indexOf("All traces:"));
    for (const report of json) {
      const name = report.trace.path.replace(/^.*\//, "").replace(/\.fbt$/, "");
      const [eio, accepts] = summary.split("\n").filter((l) => l.startsWith(`${name} `)).map((l) => l.trim().split(/\s+/).slice(1));
      expect(eio).toEqual(["ptr", "reuse"].map((p) => ((100 * report.policies[p].eio) / report.policies[p].opens).toFixed(3)));
      expect(accepts).toEqual(["ptr", "reuse"].map((p) => String(report.policies[p].unsafe + report.policies[p].stale)));
    }
    expect(fbreplay(...args, "--json").stdout).not.toMatch(/All traces/);
  });
});

describe("bad input: one line naming the file and where, exit status 2", () => {
  function refused(args: string[], pattern: RegExp) {
    const r = fbreplay(...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
  }

  it("a truncated trace", () => {
    const f = join(dir, "trunc.fbt");
    writeFileSync(f, readFileSync(trace));
    truncateSync(f, Math.floor(statSync(f).size / 2));
    refused(["replay", f], new RegExp(`^fbreplay: ${f}: `));
  });

  it("a corrupt chunk", () => {
    const f = join(dir, "corrupt.fbt");
    const bytes = readFileSync(trace);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(f, bytes);
    refused(["replay", f], new RegExp(`^fbreplay: ${f}: .*(chunk|byte)`));
  });

  it("a file that is not a trace", () => {
    const f = join(dir, "notatrace.fbt");
    writeFileSync(f, "hello, this is not a trace at all, just some text long enough to have a trailer");
    refused(["inspect", f], new RegExp(`^fbreplay: ${f}: `));
  });

  it("a missing file", () => {
    refused(["replay", join(dir, "nope.fbt")], /nope\.fbt/);
  });

  it("bad options", () => {
    refused(["replay", trace, "--redownload-rate", "1.5"], /--redownload-rate 1.5: expected a probability/);
    refused(["replay", trace, "--scale", "0"], /--scale 0: expected an integer >= 1/);
    refused(["synth", "--events", "10"], /synth needs --events N, --seed S and -o FILE/);
    refused(["replay"], /replay needs at least one trace file/);
  });
});

describe("interruption", () => {
  it("a replay stopped between chunks is reported as incomplete, with the counts of what was replayed", async () => {
    const { synth } = await import("../src/synth/index.js");
    const { TraceWriter, openTrace } = await import("../src/trace/index.js");
    const { replayTrace } = await import("../src/replay/index.js");
    const path = join(dir, "chunks.fbt");
    const w = await TraceWriter.create(path, { source: { format: "synth" }, workload: "test", recorder: { name: "test", version: "1" }, host_kernel: "", created: "" });
    for (const item of synth({ events: 50_000, seed: 1, inodes: 500, chunkRows: 10_000 })) {
      if (item.backing) w.addBacking(item.backing);
      if (item.chunk) await w.writeChunk(item.chunk);
    }
    await w.close();
    let chunks = 0;
    const report = await replayTrace(await openTrace(path), { engine: "wasm", policies: ["ptr"], daemon: "per-inode" }, {
      onProgress: () => { chunks++; },
      interrupted: () => chunks >= 2,
    });
    expect(report.complete).toBe(false);
    expect(report.events).toBe(20_000);
    expect(report.policies.ptr!.events).toBe(20_000);
    const whole = await replayTrace(await openTrace(path), { engine: "wasm", policies: ["ptr"], daemon: "per-inode" });
    expect(whole).toMatchObject({ complete: true, events: 50_000 });
  });
});
