// The README's findings are what `npm start` prints: its side-by-side block is compared with a fresh run of the
// same command (deterministic from its seed), so the README cannot drift from the code or the bundled traces.
import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";

it("README's 'What the bundled traces say' block is what npm start prints", () => {
  const start = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: { start: string } }).scripts.start;
  const command = start.replace(/^npm run build && /, "");
  expect(command).toMatch(/^node dist\/cli\/bin\.js replay traces\/\*\.fbt /);
  const printed = execSync(command, { encoding: "utf8", shell: "/bin/sh", maxBuffer: 1 << 24 });
  const block = printed.slice(printed.indexOf("All traces:") + "All traces:\n\n".length).trimEnd();
  const readme = readFileSync("README.md", "utf8");
  const section = readme.slice(readme.indexOf("## What the bundled traces say"));
  const fenced = /```\n([\s\S]*?)\n```/.exec(section)![1];
  expect(fenced).toBe(block);
  // The main job stays lean (--max-memory bounds the replays running at once): the process's peak, workers included.
  const peaks = [...printed.matchAll(/peak RSS (\d+) MB/g)].map((m) => Number(m[1]));
  expect(peaks.length).toBeGreaterThan(0);
  expect(Math.max(...peaks)).toBeLessThan(300);
}, 300_000);
