// `fbreplay capture` on real mounts: libfuse's passthrough_hp as Debian's source builds it, and the same daemon with
// fbreplay's patch (scripts/build-test-daemons.sh): --backing-per-open (a new id per open, like fuser and Android's
// FuseDaemon) and SIGUSR1 (forget every id as after a restart, the connection staying). Two witnesses the capture
// never reads: the workload's own strace (every open it made of the test files, and which failed with EIO) and the
// daemon's --debug lines (the id it answered each passthrough open with).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FOPEN_PASSTHROUGH, OP_OPEN } from "../src/abi.js";
import { FIELDS, NAME_LEN, RECORD_SIZE, kernelDev, userDev } from "../src/capture/layout.js";
import { CaptureError, captureRecords, daemonRecordsOf, type CaptureDecodeStats } from "../src/ingest/capture.js";
import { writeNativeCapture } from "../src/ingest/native.js";
import { openTrace } from "../src/trace/index.js";
import { VERDICT_REFUSED } from "../src/trace/types.js";
import { need } from "./provision.js";

const CLI = "dist/cli/bin.js";
const STOCK_HP = "build/passthrough_hp/passthrough_hp";

const TEST_HP = "build/passthrough_hp-fbreplay/passthrough_hp";

/** Why the real-mount captures cannot run here, or null (strace comes with the fuse step). */
const captureProblem = (): string | null => need("fuse") ?? need("capture") ?? need("passthrough_hp") ?? need("test-daemons");

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fbreplay-capture-test-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env?: NodeJS.ProcessEnv, prefix: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const [cmd, ...rest] = [...prefix, process.execPath, CLI, ...args];
  const r = spawnSync(cmd, rest, { encoding: "utf8", env: env ?? process.env, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function mounted(mnt: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === mnt);
}

interface Daemon {
  child: ChildProcess;
  /** The daemon's own pid (under strace, the child of child.pid). */
  pid: number;
  mnt: string;
  log: string;
  /** The daemon's own strace, when it runs under one. */
  strace?: string;
  exited: Promise<void>;
}

/** The daemon on a fresh source with files f1…f8, mounted (--debug: its id lines; --single: whole lines). */
async function mountDaemon(name: string, binary: string, options: string[], underStrace = false): Promise<Daemon> {
  const src = join(dir, name, "src");
  const mnt = join(dir, name, "mnt");
  mkdirSync(src, { recursive: true });
  mkdirSync(mnt, { recursive: true });
  for (let i = 1; i <= 8; i++) writeFileSync(join(src, `f${i}`), `content ${i}\n`.repeat(i));
  const log = join(dir, name, "daemon.log");
  const strace = underStrace ? join(dir, name, "daemon.strace") : undefined;
  const wrap = strace === undefined ? "" : `strace -f -tt -v -y -s 256 -o "${strace}" -- `;
  const child = spawn("sh", ["-c", `exec ${wrap}"$0" "$@" 2>"${log}"`, binary, "--debug", "--debug-fuse", "--foreground", ...options, src, mnt], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!mounted(mnt) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (!mounted(mnt)) throw new Error(`${binary} did not mount ${mnt}: ${readFileSync(log, "utf8")}`);
  const pid = strace === undefined ? child.pid! : Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(" ")[0]);
  return { child, pid, mnt, log, strace, exited };
}

async function unmountDaemon(d: Daemon | undefined): Promise<void> {
  if (d === undefined) return;
  if (mounted(d.mnt)) spawnSync("fusermount3", ["-u", d.mnt]);
  if (d.child.exitCode === null) d.child.kill("SIGTERM");
  await d.exited;
}

/** Two readers over the same files at once, three rounds each, then a file created and read. */
const PARALLEL_READERS =
  "(for r in 1 2 3; do cat f1 f2 f3 f4 f5 f6 f7 f8 >/dev/null; done) & " +
  "(for r in 1 2 3; do cat f8 f7 f6 f5 f4 f3 f2 f1 >/dev/null; done) & wait; echo new > f9; cat f9 >/dev/null";

interface Captured {
  status: number | null;
  stderr: string;
  /** The workload's opens of the test files by its strace, and how many failed with EIO. */
  workloadOpens: number;
  workloadEio: number;
  /** Each OPEN row of the trace: the backing id it carries, whether passthrough, the kernel's verdict. */
  opens: { bid: number; passthrough: boolean; refused: boolean }[];
  source: Record<string, unknown>;
  trace: string;
}

/** `capture -- strace … sh -c SCRIPT` in the mount, and what the trace and the workload's strace say. */
async function captureRun(d: Daemon, name: string, script: string): Promise<Captured> {
  const trace = join(dir, `${name}.fbt`);
  const strace = join(dir, `${name}.workload.strace`);
  const r = cli(["capture", "--mount", d.mnt, "-o", trace, "--", "strace", "-ff", "-qq", "-e", "trace=open,openat,openat2,creat", "-o", strace, "sh", "-c", `${script}; true`]);
  const opens: Captured["opens"] = [];
  const reader = await openTrace(trace);
  for await (const item of reader.items()) {
    if (item.kind !== "chunk") continue;
    const c = item.chunk;
    for (let i = 0; i < c.length; i++) {
      if (c.op[i] === OP_OPEN) opens.push({ bid: c.bid![i], passthrough: (c.fopen[i] & FOPEN_PASSTHROUGH) !== 0, refused: c.verdict![i] === VERDICT_REFUSED });
    }
  }
  let workloadOpens = 0;
  let workloadEio = 0;
  // -ff: one file per process (strace.PID), so no call is split by another's
  const files = readdirSync(dir).filter((f) => f.startsWith(`${name}.workload.strace.`));
  for (const line of files.flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n"))) {
    // Relative names are the test files in the mount (the workload's cwd); absolute ones are its libraries.
    const m = /\b(?:openat|open|creat)\((?:AT_FDCWD, )?"f\d+", .*\) += (-?\d+)(?: (\w+))?/.exec(line);
    if (!m) continue;
    if (Number(m[1]) >= 0 || m[2] === "EIO") workloadOpens++;
    if (m[2] === "EIO") workloadEio++;
  }
  return { status: r.status, stderr: r.stderr, workloadOpens, workloadEio, opens, source: reader.header.source, trace };
}

/**
 * Ids as a sorted list: the trace orders opens as the kernel checked them (at the opener's return), the daemon's
 * log as it replied; with parallel openers the two orders can differ.
 */
function sorted(ids: number[]): number[] {
  return [...ids].sort((a, b) => a - b);
}

/** The ids the daemon says it answered passthrough opens with, in order (its --debug lines). */
function daemonReplyIds(log: string): number[] {
  const ids: number[] = [];
  for (const line of readFileSync(log, "utf8").split("\n")) {
    const m = /^DEBUG: (?:setup shared|reusing shared|setup) backing file (\d+) for (?:inode|open) /.exec(line);
    if (m) ids.push(Number(m[1]));
  }
  return ids;
}

/**
 * The daemon's `-d` log (libfuse's low-level lines: no fh) ingested and replayed with its recorded ids under ptr:
 * the EIO the log says, and how many releases the ingest could not pair for certain.
 */
function fromLog(log: string, name: string, daemonStrace?: string): { eio: number; ambiguous: number; stderr: string } {
  const trace = join(dir, `${name}.log.fbt`);
  const ingest = cli(["ingest", "--from", "libfuse-debug", log, ...(daemonStrace ? ["--daemon-strace", daemonStrace] : []), "-o", trace]);
  expect(ingest.status, ingest.stderr).toBe(0);
  const replayed = cli(["replay", trace, "--ids", "recorded", "--policy", "ptr", "--json"]);
  expect(replayed.status, replayed.stderr).toBe(0);
  const ambiguous = Number(/; (\d+) releases \(no fh in the log\) could be more than one open file/.exec(ingest.stderr)?.[1] ?? 0) +
    Number(/; (\d+) files released at their close, before their RELEASE/.exec(ingest.stderr)?.[1] ?? 0);
  // The trace carries the count (its footer), for inspect to show.
  const inspected = cli(["inspect", trace, "--json"]);
  expect((JSON.parse(inspected.stdout) as { ambiguous_releases?: number }).ambiguous_releases, inspected.stderr).toBe(ambiguous);
  return { eio: (JSON.parse(replayed.stdout) as { policies: { ptr: { eio: number } } }).policies.ptr.eio, ambiguous, stderr: ingest.stderr };
}

/** The kernel's refusals against the log's: exact, or short by no more than what the ingest said it could not pair. */
function expectLogAgrees(log: { eio: number; ambiguous: number; stderr: string }, kernelRefused: number): void {
  expect(log.eio, log.stderr).toBeLessThanOrEqual(kernelRefused);
  if (log.eio !== kernelRefused) expect(log.ambiguous, log.stderr).toBeGreaterThan(0);
}

/** The oracle's verdict on a capture; `detail` (its mismatches with their context, its stderr) says why it failed. */
function oracle(trace: string): { status: number | null; detail: string; runs: { compared: number; kernel_refused: number; mismatches: unknown[]; anomalies: number }[] } {
  const r = cli(["oracle", trace, "--json"]);
  const runs = (JSON.parse(r.stdout) as { runs: { compared: number; kernel_refused: number; mismatches: unknown[]; anomalies: number }[] }).runs;
  return { status: r.status, runs, detail: `${trace}: ${JSON.stringify(runs.map((run) => run.mismatches))} ${r.stderr}` };
}

describe("the record layout", () => {
  it("is record.h's struct fbc_record, field by field", () => {
    const header = readFileSync("capture/record.h", "utf8");
    const body = /struct fbc_record \{([\s\S]*?)\};/.exec(header)![1];
    const sizes: Record<string, number> = { __u64: 8, __s64: 8, __u32: 4, __s32: 4 };
    let offset = 0;
    const fields: [string, number, number, boolean][] = [];
    for (const m of body.matchAll(/^\s*(__[us]\d+|char)\s+(\w+)(?:\[(\w+)\])?;/gm)) {
      const size = m[1] === "char" ? NAME_LEN : sizes[m[1]];
      if (m[3] !== undefined) expect(m[3]).toBe("FBC_NAME_LEN");
      fields.push([m[2], offset, size, m[1].startsWith("__s")]);
      offset += size;
    }
    expect(fields).toEqual(Object.entries(FIELDS).map(([name, [at, size, signed]]) => [name, at, size, signed]));
    expect(offset).toBe(RECORD_SIZE);
    expect(Number(/#define FBC_NAME_LEN (\d+)/.exec(header)![1])).toBe(NAME_LEN);
  });

  it("converts device numbers both ways as the kernel and glibc encode them", () => {
    // st_dev 0:40 (a FUSE mount), 254:0 (dm-0), 259:3 (nvme) and a minor above 255
    for (const [major, minor] of [[0, 40], [254, 0], [259, 3], [0, 300]]) {
      const st = BigInt((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12));
      expect(kernelDev(st)).toBe((major << 20) | minor);
      expect(userDev((major << 20) | minor)).toBe(Number(st));
    }
  });

  it("a records file cut inside a record is an error naming the file and the byte", () => {
    const file = join(dir, "cut.bin");
    writeFileSync(file, Buffer.alloc(RECORD_SIZE + 100));
    expect(() => [...captureRecords(file)]).toThrow(CaptureError);
    expect(() => [...captureRecords(file)]).toThrow(`${file}: byte ${RECORD_SIZE}: a record cut short (100 of ${RECORD_SIZE} bytes)`);
  });
});

describe("a kernel-side capture as a trace (a recorded capture, no root needed)", () => {
  // A capture of the per-open build with 4 daemon threads and two parallel readers (test/fixtures): the daemon
  // handed fh 20 to a new open while an open it had answered with fh 20 was still waiting for its opener's
  // verdict (refused, and released meanwhile). Placed by their verdicts, the two opens would share one fh.
  it("an fh handed out again while an earlier open awaits its verdict: every open paired with its own release", async () => {
    const records = join(dir, "per-open-threads.records.bin");
    writeFileSync(records, gunzipSync(readFileSync("test/fixtures/capture-per-open-threads.records.bin.gz")));
    const digests = new Map<string, string>(Object.entries(JSON.parse(readFileSync("test/fixtures/capture-per-open-threads.digests.json", "utf8")) as Record<string, string>)
      );
    const stats = {} as CaptureDecodeStats;
    const trace = join(dir, "per-open-threads.fbt");
    const summary = await writeNativeCapture(daemonRecordsOf(records, digests, stats), trace, {
      source: { format: "fbreplay-capture" }, workload: "fixture", host_kernel: "", recorder: { name: "test", version: "0" },
    });
    expect(summary).toMatchObject({ opens: 52, releases: 52, refused: 3, backing_opens: 52, backing_closes: 52, unknown_verdicts: 0 });
    expect(stats).toMatchObject({ done: true, lost: 0, unpaired_replies: 0, backing_id_offset: 364, preexisting_ids: 0 });
    const o = oracle(trace);
    expect(o.status, o.detail).toBe(0);
    expect(o.runs[0]).toMatchObject({ compared: 52, kernel_refused: 3, mismatches: [], anomalies: 0 });
  });
});

describe("capture: bad input and missing pieces give one line and exit 2", () => {
  it("without --mount, without -o, with an empty command", () => {
    for (const [args, said] of [
      [["capture", "-o", "x.fbt"], "capture needs --mount DIR"],
      [["capture", "--mount", "/tmp"], "capture needs -o TRACE"],
      [["capture", "--mount", "/tmp", "-o", "x.fbt", "--ring-kib", "3"], "--ring-kib 3: expected a power of 2"],
    ] as const) {
      const r = cli([...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(said);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("oracle on a trace without the kernel's verdicts (synthetic): one line naming it, exit 2", () => {
    const trace = join(dir, "synth.fbt");
    expect(cli(["synth", "--events", "1000", "--seed", "1", "-o", trace]).status).toBe(0);
    const r = cli(["oracle", trace]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`fbreplay: ${trace}: the whole trace: no open carries the kernel's verdict (source synth): capture, record --daemon native or a recorder with the kernel's verdicts makes such traces\n`);
  });

  it.skipIf(need("fuse") ?? need("capture"))("a directory that is not a FUSE mount", () => {
    const r = cli(["capture", "--mount", dir, "-o", join(dir, "x.fbt"), "--", "true"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^fbreplay: ${dir}: not a FUSE mount \\(file system type 0x[0-9a-f]+\\)\\n$`));
    expect(existsSync(join(dir, "x.fbt"))).toBe(false);
  });

  it.skipIf(need("fuse") ?? need("capture"))("not root", () => {
    const r = cli(["capture", "--mount", dir, "-o", join(dir, "x.fbt")], undefined, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("fbreplay: capture needs root (it loads BPF programs)\n");
  });

  it.skipIf(need("fuse") ?? need("capture"))("a kernel without BTF (hidden in a mount namespace of this test)", () => {
    const r = cli(["capture", "--mount", dir, "-o", join(dir, "x.fbt")], undefined,
      ["unshare", "-m", "sh", "-c", 'mount -t tmpfs none /sys/kernel/btf && exec "$@"', "sh"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("fbreplay: capture needs a kernel with BTF (/sys/kernel/btf/vmlinux is missing: CONFIG_DEBUG_INFO_BTF)\n");
  });
});

describe.skipIf(captureProblem())("capture on real mounts", () => {
  const mounts: Daemon[] = [];
  afterAll(async () => {
    for (const d of mounts) await unmountDaemon(d);
    for (const d of mounts) expect(mounted(d.mnt)).toBe(false);
  });
  const mount = async (name: string, binary: string, options: string[], underStrace = false) => {
    const d = await mountDaemon(name, binary, options, underStrace);
    mounts.push(d);
    return d;
  };

  it("stock passthrough_hp: every open the workload made, with the id the daemon answered, and the oracle agrees", async () => {
    const d = await mount("stock", STOCK_HP, ["--single"]);
    const c = await captureRun(d, "stock", PARALLEL_READERS);
    expect(c.status, c.stderr).toBe(0);
    expect(c.workloadOpens).toBe(2 * 3 * 8 + 2);
    expect(c.opens).toHaveLength(c.workloadOpens);
    expect(c.opens.every((o) => o.passthrough)).toBe(true);
    expect(sorted(c.opens.map((o) => o.bid))).toEqual(sorted(daemonReplyIds(d.log)));
    expect(c.source).toMatchObject({ format: "fbreplay-capture", complete: true, lost_records: 0, backing_id_offset: 0 });
    expect(c.opens.filter((o) => o.refused)).toHaveLength(0);
    const o = oracle(c.trace);
    expect(o.status, o.detail).toBe(0);
    expect(o.runs).toHaveLength(1);
    expect(o.runs[0]).toMatchObject({ compared: c.opens.length, kernel_refused: 0, mismatches: [], anomalies: 0 });
    expectLogAgrees(fromLog(d.log, "stock"), 0); // its -d log: no EIO either
  });

  it("the per-open build: a second open of a held file is refused, and the oracle agrees on every open", async () => {
    const d = await mount("per-open", TEST_HP, ["--single", "--backing-per-open"], true);
    const c = await captureRun(d, "per-open", `exec 3<f1; cat f1 >/dev/null; exec 3<&-; ${PARALLEL_READERS}`);
    expect(c.status, c.stderr).toBe(0);
    expect(c.opens).toHaveLength(c.workloadOpens);
    expect(sorted(c.opens.map((o) => o.bid))).toEqual(sorted(daemonReplyIds(d.log)));
    expect(new Set(c.opens.map((o) => o.bid)).size).toBe(c.opens.length); // a new id per open
    const refused = c.opens.filter((o) => o.refused).length;
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(refused).toBe(c.workloadEio);
    const o = oracle(c.trace);
    expect(o.status, o.detail).toBe(0);
    expect(o.runs[0]).toMatchObject({ compared: c.opens.length, kernel_refused: refused, mismatches: [], anomalies: 0 });
    expectLogAgrees(fromLog(d.log, "per-open"), refused);
    expectLogAgrees(fromLog(d.log, "per-open-strace", d.strace), refused);
  });

  it("the restart build: files held across a restart, two parallel readers; the kernel's refusals, and the oracle agrees", async () => {
    const d = await mount("restart", TEST_HP, ["--single"], true);
    const script = `exec 3<f1 4<f2; cat f1 f2 >/dev/null; kill -USR1 ${d.pid}; sleep 0.3; ${PARALLEL_READERS}; exec 3<&- 4<&-; cat f1 f2 >/dev/null`;
    const c = await captureRun(d, "restart", script);
    expect(c.status, c.stderr).toBe(0);
    expect(c.opens).toHaveLength(c.workloadOpens);
    expect(sorted(c.opens.map((o) => o.bid))).toEqual(sorted(daemonReplyIds(d.log)));
    const refused = c.opens.filter((o) => o.refused).length;
    // Every open of f1 and f2 between the restart and the closing of fds 3 and 4: 2 readers × 3 rounds × 2 files.
    expect(refused).toBe(12);
    expect(c.workloadEio).toBe(refused);
    const o = oracle(c.trace);
    expect(o.status, o.detail).toBe(0);
    expect(o.runs[0]).toMatchObject({ compared: c.opens.length, kernel_refused: 12, mismatches: [], anomalies: 0 });
    // The mailing-list case: each refused open is a successful OPEN, then a RELEASE with no FLUSH and pid 0. Paired
    // with the held file instead (the oldest open of the inode), the log gave fewer EIO than the kernel.
    const log = fromLog(d.log, "restart");
    expectLogAgrees(log, 12);
    expect(log.eio).toBe(12);
    // With the daemon's own strace (its ioctls and /dev/fuse traffic), the same.
    const withStrace = fromLog(d.log, "restart-strace", d.strace);
    expect(withStrace.stderr).toMatch(/daemon strace: \d+ requests/);
    expect(withStrace.eio).toBe(12);
  });

  it("a multi-threaded daemon: requests and replies paired across threads, every open with its verdict", async () => {
    const d = await mount("threads", TEST_HP, ["--backing-per-open", "--num-threads", "4"], true);
    const c = await captureRun(d, "threads", `exec 3<f1; cat f1 >/dev/null; exec 3<&-; ${PARALLEL_READERS}`);
    expect(c.status, c.stderr).toBe(0);
    expect(c.opens).toHaveLength(c.workloadOpens);
    expect(c.opens.filter((o) => o.refused).length).toBe(c.workloadEio);
    const o = oracle(c.trace);
    expect(o.runs[0]).toMatchObject({ compared: c.opens.length, mismatches: [], anomalies: 0 });
    // Its -d log, where the two readers' opens and releases interleave across the daemon's threads.
    const refused = c.opens.filter((o) => o.refused).length;
    expectLogAgrees(fromLog(d.log, "threads"), refused);
    expectLogAgrees(fromLog(d.log, "threads-strace", d.strace), refused);
  });

  it("without a command: captures until Ctrl-C, and writes the trace of what it saw", async () => {
    const d = await mount("interrupt", STOCK_HP, ["--single"]);
    const trace = join(dir, "interrupt.fbt");
    const child = spawn(process.execPath, [CLI, "capture", "--mount", d.mnt, "-o", trace], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    const ready = new Promise<void>((resolve) => child.stderr.on("data", (s) => { stderr += s; if (stderr.includes("Ctrl-C to stop")) resolve(); }));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await Promise.race([ready, exited]);
    spawnSync("sh", ["-c", "cat f1 f2 f3 >/dev/null"], { cwd: d.mnt });
    child.kill("SIGINT");
    expect(await exited, stderr).toBe(0);
    expect(stderr).toMatch(/wrote .*interrupt\.fbt: \d+ events \(3 opens, 0 refused by the kernel, 3 releases/);
  });

  it("a ring buffer too small for a burst: the loss is counted and the trace marked incomplete", async () => {
    const d = await mount("loss", STOCK_HP, []);
    const trace = join(dir, "loss.fbt");
    const r = cli(["capture", "--mount", d.mnt, "-o", trace, "--ring-kib", "4", "--", "sh", "-c", "for i in $(seq 1 40); do cat f1 f2 f3 f4 f5 f6 f7 f8; done >/dev/null"]);
    expect(r.status, r.stderr).toBe(0);
    const lost = Number(/the ring buffer lost (\d+) records/.exec(r.stderr)?.[1]);
    expect(lost).toBeGreaterThan(0);
    expect((await openTrace(trace)).header.source).toMatchObject({ complete: false, lost_records: lost });
    expect(cli(["oracle", trace]).stdout).toContain(`warning: the capture lost ${lost} records`);
  });

  it("the kernel refuses BPF to a root without capabilities: one line, exit 2", async () => {
    const d = await mount("nocaps", STOCK_HP, ["--single"]);
    const r = cli(["capture", "--mount", d.mnt, "-o", join(dir, "nocaps.fbt"), "--", "true"], { ...process.env, TMPDIR: dir },
      ["setpriv", "--inh-caps=-all", "--bounding-set=-all"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^fbreplay: capture: the kernel refused the BPF programs \(root and tp_btf are needed\): .+\n$/);
    expect(readdirSync(dir).filter((f) => f.startsWith("fbreplay-capture-"))).toEqual([]); // TMPDIR below: no scratch left
  });
});
