// The oracle on the daemon behaviours fbreplay's own daemon runs for real (src/fuse/backing.ts), on the host's
// kernel (mainline: the ptr policy): per-nodeid (mergerfs, spec §i.4) against per-inode (passthrough_hp) on a
// workload whose held file is replaced under its nodeid. The two daemons answer that file's next open differently
// (the nodeid's old id, or a new id for the new file), the kernel judges both, and the model must agree on every open.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { recorderMounts } from "./fuse-env.js";
import { need } from "./provision.js";
import { tryLoadAddon } from "../src/fuse/index.js";
import type { OracleReport } from "../src/oracle/index.js";

const CLI = "dist/cli/bin.js";

function problemOf(): string | null {
  const fuse = need("fuse");
  if (fuse !== null) return fuse;
  const addon = tryLoadAddon();
  return addon instanceof Error ? addon.message : null;
}
const problem = problemOf();

let dir = tmpdir();
function fbreplay(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, TMPDIR: dir } });
}

/**
 * F1 holds a.txt on fd 3; six more opens read it. Before every 2nd OPEN the daemon re-downloads the file (a new
 * backing inode, same bytes, same nodeid): the first of those is open 2, while F1 is held.
 */
const WORKLOAD = "exec 3<a.txt; for i in 1 2 3 4 5 6; do cat a.txt >/dev/null 2>&1 || echo refused; done";
const OPENS = 7;

describe.skipIf(problem !== null)("oracle on per-nodeid and per-inode captures (real kernel passthrough)", () => {
  let src: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "fbreplay-oracle-native-"));
    src = join(dir, "src");
    mkdirSync(src);
    writeFileSync(join(src, "a.txt"), "alpha\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function recordAndJudge(ids: string, ctx: TestContext): { stderr: string; oracle: OracleReport; trace: string } {
    const trace = join(dir, `${ids}.fbt`);
    const r = fbreplay(["record", "--daemon", "native", "--ids", ids, "--redownload-every", "2", "--src", src, "-o", trace, "--", "sh", "-c", WORKLOAD]);
    expect(r.status, r.stderr).toBe(0);
    expect(recorderMounts(dir)).toEqual([]);
    if (/no passthrough on this mount/.test(r.stderr)) ctx.skip(r.stderr.trim());
    const o = fbreplay(["oracle", trace, "--json"]);
    expect(o.status, o.stdout + o.stderr).toBe(0);
    return { stderr: r.stderr, oracle: JSON.parse(o.stdout) as OracleReport, trace };
  }

  it("per-nodeid: the re-downloaded file keeps its nodeid's id, the kernel accepts every open, and the model agrees", (ctx) => {
    const { stderr, oracle, trace } = recordAndJudge("per-nodeid", ctx);
    // One registration for all seven opens: the id outlives the re-downloads. The daemon's own records also count its
    // startup probe, which comes before the kernel capture is attached (record --no-capture reads those records).
    const backingOpens = /from the kernel capture/.test(stderr) ? 1 : 2;
    expect(stderr).toMatch(new RegExp(`7 opens, 0 refused by the kernel, 7 releases, ${backingOpens} backing opens, .*; the workload saw 0 opens fail with EIO$`, "m"));
    expect(oracle.daemon_model).toBe("per-nodeid");
    expect(oracle.runs.map((r) => r.daemon)).toEqual(["recorded", "per-nodeid"]);
    for (const run of oracle.runs) {
      expect(run, run.daemon).toMatchObject({ compared: OPENS, agree: OPENS, kernel_refused: 0, model_refused: 0, mismatches: [], anomalies: 0 });
    }
    // The same capture under the per-inode model: its new id for the re-downloaded file is refused (spec §b.4).
    const asPerInode = fbreplay(["replay", trace, "--ids", "per-inode", "--policy", "ptr", "--json"]);
    expect(asPerInode.status, asPerInode.stderr).toBe(0);
    expect(JSON.parse(asPerInode.stdout).policies.ptr.eio).toBe(OPENS - 1);
  });

  it("per-inode: the re-downloaded file gets a new id while F1 holds the old one, the kernel refuses, and the model agrees", (ctx) => {
    const { stderr, oracle } = recordAndJudge("per-inode", ctx);
    expect(stderr).toMatch(/7 opens, 6 refused by the kernel, .*; the workload saw 6 opens fail with EIO$/m);
    expect(oracle.runs.map((r) => r.daemon)).toEqual(["recorded", "per-inode"]);
    for (const run of oracle.runs) {
      expect(run, run.daemon).toMatchObject({ compared: OPENS, agree: OPENS, kernel_refused: OPENS - 1, model_refused: OPENS - 1, mismatches: [], anomalies: 0 });
    }
  });

  it("--redownload-every needs --daemon native", () => {
    const r = fbreplay(["record", "--redownload-every", "2", "-o", join(dir, "x.fbt"), "--", "true"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--redownload-every needs --daemon native/);
  });
});
