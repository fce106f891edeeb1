// The FUSE daemon of src/fuse on real mounts: real workloads run inside the mount (as child processes: the test
// process never blocks on its own daemon), what it records about them, the kernel's verdict on passthrough opens
// after a daemon restart (EIO), and that no mount outlives a run, whatever ends it.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { need } from "./provision.js";
import { FOPEN_PASSTHROUGH, isMounted, startDaemon, type DaemonHandle, type DaemonOptions, type DaemonRecord } from "../src/fuse/index.js";


const problem = need("fuse");

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const EMPTY_SHA256 = sha256("");

/** A mounted daemon and everything it recorded so far. */
interface Run {
  d: DaemonHandle;
  records: DaemonRecord[];
  src: string;
  /** A shell command inside the mount (cwd = mount point), as a child process. */
  sh(command: string): SpawnSyncReturns<string>;
}

let root: string;
let runs = 0;
/** Processes holding files open on a mount: killed before it is taken down, whatever the test did. */
const holders = new Set<ChildProcess>();

/** Copies nothing: `files` are written into a fresh source directory, which is then served. */
async function mountRun(files: Record<string, string | Buffer>, options: Partial<DaemonOptions> = {}): Promise<Run> {
  const dir = join(root, `run${runs++}`);
  const src = join(dir, "src");
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(src, name, ".."), { recursive: true });
    writeFileSync(join(src, name), content);
  }
  mkdirSync(src, { recursive: true });
  const records: DaemonRecord[] = [];
  const d = await startDaemon({ source: src, mountpoint: join(dir, "mnt"), onRecord: (r) => records.push(r), ...options });
  const env = {
    ...process.env, HOME: dir, GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.org",
    GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.org",
  };
  const sh = (command: string) => spawnSync("sh", ["-c", command], { cwd: d.mountpoint, encoding: "utf8", env, timeout: 60_000 });
  return { d, records, src, sh };
}

/** Runs `body` on a mounted daemon and always stops it; the mount must be gone afterwards. */
async function withRun(files: Record<string, string | Buffer>, options: Partial<DaemonOptions>, body: (run: Run) => Promise<void> | void): Promise<Run> {
  const run = await mountRun(files, options);
  try {
    await body(run);
  } finally {
    for (const h of holders) h.kill("SIGKILL");
    await run.d.stop();
    expect(isMounted(run.d.mountpoint)).toBe(false);
  }
  return run;
}

const opensOf = (records: DaemonRecord[]) => records.filter((r) => r.op === "open" || r.op === "create");
const ok = (r: SpawnSyncReturns<string>) => expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);

/**
 * What must hold of every run's records: each successful open has a fh released exactly once; its backing
 * identity is the one its nodeid was looked up (or created) with; with passthrough, every open is passed
 * through with a backing id and each backing id registered is closed exactly once by the end.
 */
function checkRecords(records: DaemonRecord[], passthrough: boolean): void {
  expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i));
  const identity = new Map<number, string>();
  const released = new Map<number, number>();
  for (const r of records) if (r.op === "release") released.set(r.fh, (released.get(r.fh) ?? 0) + 1);
  for (const r of records) {
    if ((r.op === "lookup" || r.op === "create") && r.error === 0) identity.set(r.nodeid, `${r.dev}:${r.ino}`);
    if ((r.op !== "open" && r.op !== "create") || r.error !== 0) continue;
    expect(r.fh).toBeGreaterThan(0);
    expect(released.get(r.fh), `release of fh ${r.fh} (${r.path})`).toBe(1);
    expect(`${r.dev}:${r.ino}`, `identity of ${r.path}`).toBe(identity.get(r.nodeid));
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    if (passthrough) {
      expect(r.fopen & FOPEN_PASSTHROUGH).toBe(FOPEN_PASSTHROUGH);
      expect(r.backing_id).toBeGreaterThan(0);
    } else {
      expect(r.backing_id).toBe(0);
    }
  }
  const opened = records.filter((r) => r.op === "backing_open" && r.error === 0).map((r) => r.backing_id).sort((a, b) => a - b);
  const closed = records.filter((r) => r.op === "backing_close" && r.error === 0).map((r) => r.backing_id).sort((a, b) => a - b);
  expect(closed).toEqual(opened);
}

/** Each open record of `path` in `records` names the source file's current identity and bytes. */
function expectOpenedAsSource(records: DaemonRecord[], src: string, path: string): void {
  const st = statSync(join(src, path));
  const opens = opensOf(records).filter((r) => r.path === path);
  expect(opens.length, `opens of ${path}`).toBeGreaterThan(0);
  for (const r of opens) {
    expect({ dev: r.dev, ino: r.ino, sha256: r.sha256 }).toEqual({ dev: st.dev, ino: st.ino, sha256: sha256(readFileSync(join(src, path))) });
  }
}

describe.skipIf(problem !== null)("fuse daemon (real mount)", () => {
  let passthroughProblem: string | null = null;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "fbreplay-fuse-test-"));
    const probe = await mountRun({});
    await probe.d.stop();
    passthroughProblem = probe.d.status.passthrough ? null : probe.d.status.reason;
    if (passthroughProblem !== null) console.log(`fuse daemon passthrough assertions skipped: ${passthroughProblem}`);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** Passthrough-only tests skip, saying why, on a kernel (or build) without it. */
  const needPassthrough = (ctx: TestContext) => {
    if (passthroughProblem !== null) ctx.skip(`passthrough not negotiated: ${passthroughProblem}`);
  };

  it("serves cat, cp and write-then-rename, recording each open with the backing file's identity and bytes", async () => {
    const bin = randomBytes(300_000);
    const run = await withRun({ "a.txt": "alpha\n", "b.bin": bin, "sub/c.txt": "gamma\n" }, {}, async ({ d, records, src, sh }) => {
      const cat = sh("cat a.txt sub/c.txt && cat b.bin | sha256sum");
      ok(cat);
      expect(cat.stdout).toBe(`alpha\ngamma\n${sha256(bin)}  -\n`);
      await d.settle();
      for (const path of ["a.txt", "b.bin", "sub/c.txt"]) expectOpenedAsSource(records, src, path);

      ok(sh("cp b.bin copy.bin && cmp b.bin copy.bin"));
      await d.settle();
      const created = records.find((r) => r.op === "create" && r.path === "copy.bin")!;
      expect(created.sha256).toBe(EMPTY_SHA256);
      expect({ dev: created.dev, ino: created.ino }).toEqual({ dev: statSync(join(src, "copy.bin")).dev, ino: statSync(join(src, "copy.bin")).ino });
      expect(readFileSync(join(src, "copy.bin")).equals(bin)).toBe(true);

      const before = records.length;
      const swap = sh("printf 'new\\n' > a.txt.tmp && mv a.txt.tmp a.txt && cat a.txt");
      ok(swap);
      expect(swap.stdout).toBe("new\n");
      await d.settle();
      expect(records.slice(before).some((r) => r.op === "rename" && r.name === "a.txt.tmp" && r.new_name === "a.txt" && r.error === 0)).toBe(true);
      expectOpenedAsSource(records.slice(before).filter((r) => r.op === "open"), src, "a.txt");
      expect(d.status.model).toBe("per-inode");
    });
    checkRecords(run.records, run.d.status.passthrough);
  });

  it("runs a sqlite3 transaction with a rollback journal", async () => {
    const run = await withRun({}, {}, async ({ d, records, src, sh }) => {
      const r = sh("sqlite3 t.db 'PRAGMA journal_mode=DELETE; CREATE TABLE t(x); BEGIN; INSERT INTO t VALUES (1), (2), (3); COMMIT; SELECT sum(x) FROM t;'");
      ok(r);
      expect(r.stdout.trim().split("\n")).toEqual(["delete", "6"]);
      await d.settle();
      expect(records.some((x) => x.op === "create" && x.name === "t.db-journal")).toBe(true);
      expect(records.some((x) => x.op === "unlink" && x.name === "t.db-journal" && x.error === 0)).toBe(true);
      const check = spawnSync("sqlite3", [join(src, "t.db"), "SELECT count(*) FROM t"], { encoding: "utf8" });
      expect(check.stdout.trim()).toBe("3");
    });
    checkRecords(run.records, run.d.status.passthrough);
  });

  it("runs git init, add, commit and status, and tar x", async () => {
    const run = await withRun({ "README": "read me\n", "lib/one.ts": "export const one = 1;\n", "lib/two.ts": "export const two = 2;\n" }, {}, async ({ d, src, sh }) => {
      ok(sh("git init -q . && git add -A && git commit -qm first"));
      ok(sh("echo 'export const three = 3;' > lib/three.ts && git add lib/three.ts && git commit -qm second"));
      const status = sh("git status --porcelain && git log --oneline | wc -l && git fsck --no-progress 2>&1");
      ok(status);
      expect(status.stdout.trim()).toBe("2");
      const tarball = join(src, "..", "lib.tar");
      ok(spawnSync("tar", ["cf", tarball, "-C", src, "lib"], { encoding: "utf8" }));
      ok(sh(`mkdir unpacked && tar xf ${tarball} -C unpacked && cmp unpacked/lib/one.ts lib/one.ts && rm -r unpacked`));
      await d.settle();
    });
    checkRecords(run.records, run.d.status.passthrough);
    expect(opensOf(run.records).length).toBeGreaterThan(20);
  });

  it("serves without passthrough when asked to, every open going through the daemon", async () => {
    const run = await withRun({ "a.txt": "alpha\n" }, { passthrough: false }, async ({ d, sh }) => {
      expect(d.status).toMatchObject({ passthrough: false, reason: "passthrough disabled by option" });
      ok(sh("cat a.txt > b.txt && echo more >> b.txt && git init -q . && git add -A && git commit -qm x"));
      expect(sh("cat b.txt").stdout).toBe("alpha\nmore\n");
      await d.settle();
    });
    checkRecords(run.records, false);
  });

  /** A child process holding `path` (on the mount) open until killed, and what it prints once it holds it. */
  async function holdOpen(d: DaemonHandle, path: string) {
    const holder = spawn("sh", ["-c", `exec 3<${path}; echo held; exec sleep 60`], { cwd: d.mountpoint, stdio: ["ignore", "pipe", "inherit"] });
    holders.add(holder);
    const exited = new Promise((resolve) => holder.on("exit", resolve));
    void exited.then(() => holders.delete(holder));
    await new Promise((resolve) => holder.stdout.once("data", resolve));
    return {
      release: async () => {
        holder.kill("SIGKILL");
        await exited;
      },
    };
  }

  /** The first record after `open` that names its fh (backing registrations aside). */
  const nextAbout = (records: DaemonRecord[], open: DaemonRecord) =>
    records.find((r) => r.seq > open.seq && r.fh === open.fh && !r.op.startsWith("backing_"));

  /**
   * `cat path` in the mount, refused by the kernel: EIO for the user; for the daemon, its RELEASE right after its
   * reply. Returns the refused open's record.
   */
  async function expectCatRefused({ d, records, sh }: Pick<Run, "d" | "records" | "sh">, path: string): Promise<DaemonRecord> {
    const before = records.length;
    const cat = sh(`cat ${path}`);
    await d.settle();
    expect(cat.status).not.toBe(0);
    expect(cat.stderr).toMatch(/Input\/output error/);
    const open = opensOf(records.slice(before)).find((r) => r.path === path)!;
    expect(open).toMatchObject({ error: 0, fopen: FOPEN_PASSTHROUGH });
    const next = nextAbout(records, open)!;
    expect(next).toMatchObject({ op: "release", fh: open.fh, backing_id: open.backing_id });
    // Nothing else happened in between: no other open, lookup or name change.
    expect(records.filter((r) => r.seq > open.seq && r.seq < next.seq && !r.op.startsWith("backing_"))).toEqual([]);
    return open;
  }

  for (const closeIds of [false, true]) {
    it(`refuses (EIO) a new open of a file still open across a restart (closeIds ${closeIds}), and accepts it once that file is closed`, async (ctx) => {
      needPassthrough(ctx);
      await withRun({ "a.txt": "alpha\n" }, {}, async ({ d, records, sh }) => {
        const holder = await holdOpen(d, "a.txt");
        await d.settle();
        const held = opensOf(records).find((r) => r.path === "a.txt")!;
        expect(held.backing_id).toBeGreaterThan(0);
        const stats = await d.restart({ closeIds });
        expect(stats.leakedBackingIds).toBe(closeIds ? 0 : 1);
        const restart = records.find((r) => r.op === "restart")!;
        expect(restart).toMatchObject({ close_ids: closeIds, epoch: 1 });
        expect(records.some((r) => r.op === "backing_close" && r.backing_id === held.backing_id && r.seq < restart.seq)).toBe(closeIds);

        const refused = await expectCatRefused({ d, records, sh }, "a.txt");
        // The new daemon registered the same backing file again: a new id, so a second fuse_backing for the inode.
        expect(refused.backing_id).not.toBe(held.backing_id);
        expect(refused).toMatchObject({ epoch: 1, dev: held.dev, ino: held.ino, sha256: held.sha256 });

        await holder.release();
        await d.settle();
        expect(records.some((r) => r.op === "release" && r.fh === held.fh)).toBe(true);
        const before = records.length;
        const again = sh("cat a.txt");
        ok(again);
        expect(again.stdout).toBe("alpha\n");
        await d.settle();
        expect(opensOf(records.slice(before))).toHaveLength(1);
      });
    });
  }

  it("per-open: a second open of a file still open names a second backing id, and the kernel refuses it", async (ctx) => {
    needPassthrough(ctx);
    const run = await withRun({ "a.txt": "alpha\n" }, { model: "per-open" }, async ({ d, records, sh }) => {
      const holder = await holdOpen(d, "a.txt");
      await d.settle();
      await expectCatRefused({ d, records, sh }, "a.txt");
      await holder.release();
      ok(sh("cat a.txt"));
      await d.settle();
    });
    checkRecords(run.records.filter((r) => r.epoch === 0), true);
  });

  it("stable-id needs server-chosen 64-bit ids: on a kernel without them (mainline) passthrough is off, and says why", async (ctx) => {
    needPassthrough(ctx);
    const plain = await withRun({}, {}, () => {});
    if (plain.d.status.ids64) ctx.skip("this kernel has server-chosen 64-bit backing ids");
    for (const model of ["stable-id", "stable-id-keep"] as const) {
      const run = await withRun({ "a.txt": "alpha\n" }, { model }, ({ sh }) => { ok(sh("cat a.txt")); });
      expect(run.d.status).toMatchObject({ passthrough: false, ids64: false, model });
      expect(run.d.status.reason).toMatch(new RegExp(`${model} ids need server-chosen 64-bit backing ids \\(FUSE_BACKING_ID_64`));
      expect(run.records.filter((r) => r.op === "backing_open" && r.via !== "probe")).toEqual([]);
    }
  });

  it("restartAt restarts before open k; restartEvery after every N opens", async (ctx) => {
    needPassthrough(ctx);
    // Open 1 is held; the restart before open 2 makes that open a refused one.
    await withRun({ "a.txt": "alpha\n" }, { restartAt: [2] }, async ({ d, records, sh }) => {
      const holder = await holdOpen(d, "a.txt");
      await d.settle();
      await expectCatRefused({ d, records, sh }, "a.txt");
      expect(opensOf(records).map((r) => r.epoch)).toEqual([0, 1]);
      await holder.release();
    });
    // Without overlapping opens restarts are harmless: every open is accepted, epochs step after opens 2 and 4.
    const run = await withRun({ "a.txt": "alpha\n" }, { restartEvery: 2 }, async ({ d, sh }) => {
      for (let i = 0; i < 5; i++) ok(sh("cat a.txt"));
      expect((await d.settle()).restarts).toBe(2);
    });
    expect(opensOf(run.records).map((r) => r.epoch)).toEqual([0, 0, 1, 1, 2]);
  });

  it("takes the mount down when the workload fails", async () => {
    const run = await withRun({ "a.txt": "alpha\n" }, {}, ({ sh }) => {
      expect(sh("cat a.txt > /dev/null; cat missing.txt").status).toBe(1);
    });
    expect(run.records.some((r) => r.op === "lookup" && r.name === "missing.txt" && r.error === -2)).toBe(true);
  });

  it("takes the mount down when the daemon process dies", async () => {
    const { d } = await mountRun({ "a.txt": "alpha\n" });
    process.kill(d.pid, "SIGKILL");
    const deadline = Date.now() + 10_000;
    while (isMounted(d.mountpoint) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(isMounted(d.mountpoint)).toBe(false);
    await expect(d.stop()).rejects.toThrow(/fuse daemon/);
  });

  for (const signal of ["SIGTERM", "SIGINT", "SIGKILL"] as const) {
    it(`takes the mount down when the process that started the daemon gets ${signal}`, async () => {
      const src = mkdtempSync(join(root, "sig-src-"));
      const mnt = join(root, `sig-mnt-${signal}`);
      // The built library, as a program using it would load it.
      const program = `import { startDaemon } from ${JSON.stringify(join(process.cwd(), "dist/fuse/index.js"))};
        await startDaemon({ source: ${JSON.stringify(src)}, mountpoint: ${JSON.stringify(mnt)} });
        console.log("mounted"); setInterval(() => {}, 1000);`;
      const child = spawn(process.execPath, ["--input-type=module", "-e", program], { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise((resolve) => child.stdout.once("data", resolve));
      expect(isMounted(mnt)).toBe(true);
      const exited = new Promise((resolve) => child.on("exit", (code, sig) => resolve(sig ?? code)));
      child.kill(signal);
      expect(await exited).toBe(signal);
      // SIGKILL leaves it to the daemon process, which sees its controller gone and detaches the mount.
      const deadline = Date.now() + 10_000;
      while (isMounted(mnt) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(isMounted(mnt)).toBe(false);
    });
  }
});
