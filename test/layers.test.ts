// Data flows one way (README, "Layout"): sources → trace → engines → verdicts → results, with the CLI on top.
// Every import of every file under src/ is checked against the layer of the file it imports; a stage never imports
// a later one. A new folder under src/ must be given a layer here.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

type Layer = "shared" | "trace" | "sources" | "model" | "replay" | "verdicts" | "results" | "cli";

/** The layer of each top-level file or folder of src/. */
export const LAYERS: Record<string, Layer> = {
  "abi.ts": "shared", "engine.ts": "shared", "events.ts": "shared", "rng.ts": "shared", "digest.ts": "shared", "table.ts": "shared", "rss.ts": "shared",
  trace: "trace",
  ingest: "sources", record: "sources", synth: "sources", fuse: "sources", capture: "sources", vm: "sources",
  model: "model",
  replay: "replay",
  scenarios: "verdicts", advise: "verdicts", oracle: "verdicts", inspect: "verdicts", kernelcheck: "verdicts",
  compare: "results", report: "results", results: "results",
  cli: "cli",
};

/** What each layer may import (its own layer included). */
export const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  shared: ["shared"],
  trace: ["shared", "trace"],
  sources: ["shared", "trace", "sources"],
  model: ["shared", "model"],
  replay: ["shared", "trace", "model", "replay"],
  verdicts: ["shared", "trace", "sources", "model", "replay", "verdicts"],
  results: ["shared", "verdicts", "results"],
  cli: ["shared", "trace", "sources", "model", "replay", "verdicts", "results", "cli"],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

function layerOf(file: string): Layer | undefined {
  return LAYERS[relative("src", file).split("/")[0]];
}

/** Relative imports of a source text: static `from "…"`, side-effect `import "…"` and dynamic `import("…")`. */
export function importsOf(text: string): string[] {
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)"(\.[^"]+)"/g)].map((m) => m[1]);
  return [...new Set(specs)];
}

/** Every import that runs against the flow, as "file → target (layer → layer)". */
export function violations(sources: readonly { file: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const { file, text } of sources) {
    const from = layerOf(file);
    if (from === undefined) {
      out.push(`${file}: src/${relative("src", file).split("/")[0]} has no layer in test/layers.test.ts`);
      continue;
    }
    for (const spec of importsOf(text)) {
      const target = normalize(join(dirname(file), spec)).replace(/\.js$/, ".ts");
      if (!target.startsWith("src/")) continue;
      const to = layerOf(target);
      if (to === undefined || !MAY_IMPORT[from].includes(to)) out.push(`${file} → ${target} (${from} → ${to ?? "no layer"})`);
    }
  }
  return out;
}

describe("the import graph follows the data flow", () => {
  it("no file under src/ imports a later stage", () => {
    const sources = files("src").map((file) => ({ file, text: readFileSync(file, "utf8") }));
    expect(sources.length).toBeGreaterThan(50);
    expect(violations(sources)).toEqual([]);
  });

  it("catches an import against the flow, and a folder without a layer", () => {
    expect(violations([{ file: "src/trace/reader.ts", text: 'import { replayTrace } from "../replay/drive.js";' }]))
      .toEqual(["src/trace/reader.ts → src/replay/drive.ts (trace → replay)"]);
    expect(violations([{ file: "src/report/load.ts", text: 'import type { X } from "../ingest/index.js";' }]))
      .toEqual(["src/report/load.ts → src/ingest/index.ts (results → sources)"]);
    expect(violations([{ file: "src/model/index.ts", text: 'const m = await import("../replay/wasm.js");' }])).toHaveLength(1);
    expect(violations([{ file: "src/replay/x.ts", text: 'import { main } from "../cli/main.js";' }])).toHaveLength(1);
    expect(violations([{ file: "src/newstage/x.ts", text: "" }])[0]).toMatch(/has no layer/);
    expect(violations([{ file: "src/replay/drive.ts", text: 'import { denseIds } from "../trace/dense.js";' }])).toEqual([]);
  });
});
