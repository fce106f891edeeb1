// Backing ids and backing files as a real passthrough daemon used them: libfuse 3.17.2's passthrough_hp, its
// `--debug` lines and its own strace (test/fixtures/passthrough_hp-3.17.2.*, recorded with
// `fbreplay record --daemon passthrough_hp`), ingested into a trace that `replay --ids recorded` replays with the
// daemon's ids. Then the same on a live mount, where this machine has passthrough_hp and FUSE.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FOPEN_PASSTHROUGH, OP_BACKING_CLOSE, OP_BACKING_OPEN, OP_OPEN } from "../src/abi.js";
import { makedev } from "../src/ingest/daemon-files.js";
import { readDaemonStrace } from "../src/ingest/daemon-strace.js";
import { splitArgs, stringArg } from "../src/ingest/strace-syntax.js";
import { IngestError, ingestLibfuseDebug, type IngestSummary } from "../src/ingest/index.js";
import { openTrace, type TraceBackingFile } from "../src/trace/index.js";
import { interruptRecording, recorderMounts } from "./fuse-env.js";
import { need } from "./provision.js";

const CLI = "dist/cli/bin.js";
const LOG = "test/fixtures/passthrough_hp-3.17.2.log";
const STRACE = "test/fixtures/passthrough_hp-3.17.2.strace.gz";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fbreplay-hp-test-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Row { op: number; nodeid: number; bref: number; fopen: number; bid: number }

async function ingest(name: string, log: string, daemonStrace?: string): Promise<{ summary: IngestSummary; rows: Row[]; backing: TraceBackingFile[]; output: string }> {
  const output = join(dir, `${name}.fbt`);
  const summary = await ingestLibfuseDebug({ log, daemonStrace, output, strict: true });
  const reader = await openTrace(output);
  const backing: TraceBackingFile[] = [];
  const rows: Row[] = [];
  for await (const item of reader.items()) {
    if (item.kind === "backing") backing.push(...item.files);
    else {
      const c = item.chunk;
      for (let i = 0; i < c.length; i++) rows.push({ op: c.op[i], nodeid: c.nodeid[i], bref: c.bref[i], fopen: c.fopen[i], bid: c.bid?.[i] ?? 0 });
    }
  }
  return { summary, rows, backing, output };
}

/** What passthrough_hp's lines say, read here on their own: the id each open got, and the ids set up and closed. */
function hpLines(text: string) {
  const replies: number[] = [];
  const setups: number[] = [];
  const closes: number[] = [];
  for (const line of text.split("\n")) {
    const m = /^DEBUG: (setup shared|reusing shared|closed) backing file (\d+) for inode \d+$/.exec(line);
    if (!m) continue;
    const id = Number(m[2]);
    if (m[1] === "closed") closes.push(id);
    else replies.push(id);
    if (m[1] === "setup shared") setups.push(id);
  }
  return { replies, setups, closes };
}

function replayRecorded(trace: string) {
  const r = spawnSync(process.execPath, [CLI, "replay", trace, "--ids", "recorded", "--policy", "ptr,inode", "--json"], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout).policies as Record<string, Record<string, number>>;
}

describe("passthrough_hp (libfuse 3.17.2) capture", () => {
  const text = readFileSync(LOG, "utf8");
  const hp = hpLines(text);
  const opensInLog = text.split("\n").filter((l) => /opcode: (OPEN|CREATE) /.test(l)).length;

  it("from its --debug lines: each open carries the id passthrough_hp named, each setup and close is a row", async () => {
    const { summary, rows } = await ingest("log", LOG);
    expect(hp.replies.length).toBe(opensInLog); // every open of this capture was passed through
    expect(rows.filter((r) => r.op === OP_OPEN).map((r) => r.bid)).toEqual(hp.replies);
    expect(rows.filter((r) => r.op === OP_BACKING_OPEN).map((r) => r.bid)).toEqual(hp.setups);
    expect(rows.filter((r) => r.op === OP_BACKING_CLOSE).map((r) => r.bid)).toEqual(hp.closes);
    expect(summary).toMatchObject({ opens: opensInLog, recordedOpens: opensInLog, backingOpens: hp.setups.length, backingCloses: hp.closes.length, unknownBackingCloses: 0 });
    // Each registration comes before the open that names it, and names that open's backing file.
    rows.forEach((r, i) => {
      if (r.op === OP_BACKING_OPEN) expect(rows[i + 1]).toMatchObject({ op: OP_OPEN, bid: r.bid, bref: r.bref });
    });
  });

  it("replays under --ids recorded with the daemon's own ids: the model's idr hands out the same, nothing refused", async () => {
    const { output } = await ingest("log-replay", LOG);
    const policies = replayRecorded(output);
    expect(policies.ptr).toMatchObject({ opens: opensInLog, accepted: opensInLog, ebusy: 0, eio: 0, anomalies: 0, anomaly_recorded_id: 0 });
    expect(policies.inode).toMatchObject({ accepted: opensInLog, anomaly_recorded_id: 0 });
  });

  it("from the daemon's strace alone: the same ids, from its ioctls and open replies; closes counted, their ids unknown", async () => {
    const bare = join(dir, "no-debug-lines.log");
    writeFileSync(bare, text.split("\n").filter((l) => !l.startsWith("DEBUG:")).join("\n"));
    const { summary, rows } = await ingest("strace", bare, STRACE);
    expect(rows.filter((r) => r.op === OP_OPEN).map((r) => r.bid)).toEqual(hp.replies);
    expect(rows.filter((r) => r.op === OP_BACKING_OPEN).map((r) => r.bid)).toEqual(hp.setups);
    expect(rows.filter((r) => r.op === OP_BACKING_CLOSE)).toEqual([]);
    expect(summary).toMatchObject({ recordedOpens: opensInLog, backingCloses: 0, unknownBackingCloses: hp.closes.length, notInDaemonStrace: 0 });
    expect(summary.daemonStrace).toMatchObject({ malformed: 0, truncatedOpenReplies: 0, backingOpens: hp.setups.length, backingCloses: hp.closes.length });
  });

  it("identifies each open's backing file as the daemon's stats showed it: a rename carries the inode, a reused inode number is another file", async () => {
    const { rows, backing } = await ingest("both", LOG, STRACE);
    expect(rows.filter((r) => r.op === OP_OPEN).map((r) => r.bid)).toEqual(hp.replies);
    expect(rows.filter((r) => r.op === OP_BACKING_CLOSE).map((r) => r.bid)).toEqual(hp.closes);
    const strace = gunzipSync(readFileSync(STRACE)).toString("utf8");
    // The inode numbers the daemon's stats showed for the source files, read here on their own.
    const inoOf = (name: string) => [...strace.matchAll(new RegExp(`/src/${name}>, "", \\{st_dev=makedev\\(0xfe, 0\\), st_ino=(\\d+)`, "g"))].map((m) => Number(m[1]));
    const aIno = inoOf("a.txt")[0];
    const cIno = inoOf("c.txt")[0];
    const files = rows.filter((r) => r.op === OP_OPEN).map((r) => backing[r.bref]);
    expect(files.every((f) => f.dev === makedev(0xfe, 0))).toBe(true);
    // Opens 1–4 read a.txt; open 5 creates c.txt; `mv c.txt a.txt`, and open 6 reads a.txt: c.txt's inode.
    expect(files.slice(0, 4).map((f) => f.ino)).toEqual([aIno, aIno, aIno, aIno]);
    expect(files[4].ino).toBe(cIno);
    expect(files[5].ino).toBe(cIno);
    expect(files[5]).toBe(files[4]); // one file, one backing entry
    // `mv` freed a.txt's first inode; the file system gave its number to sqlite's first journal: another file.
    const journals = files.filter((f) => f.path.endsWith("/db-journal"));
    expect(journals.length).toBe(2);
    expect(journals[0].ino).toBe(aIno);
    expect(journals[0]).not.toBe(files[0]);
    expect(Buffer.from(journals[0].digest).equals(Buffer.from(files[0].digest))).toBe(false);
    expect(journals[1].ino).not.toBe(journals[0].ino);
  });

  it("counts malformed strace lines, and --strict names the file and line", async () => {
    const bad = join(dir, "bad.strace");
    const lines = gunzipSync(readFileSync(STRACE)).toString("utf8").split("\n");
    lines.splice(40, 0, "27889 00:48:52.607135 ioctl(4</dev/fuse>, _IOC(_IOC_WRITE, 0xe5, 0x1, 0x10), 0x7ff"); // cut off
    writeFileSync(bad, lines.join("\n"));
    const read = await readDaemonStrace(bad, { strict: false, fail: (l, r) => new Error(`${l}: ${r}`) });
    expect(read.counts.malformed).toBe(1);
    expect(read.counts.firstMalformed).toMatchObject({ line: 41, reason: "unbalanced arguments" });
    await expect(ingestLibfuseDebug({ log: LOG, daemonStrace: bad, output: join(dir, "strict.fbt"), strict: true }))
      .rejects.toThrow(new IngestError(`${bad}:41: unbalanced arguments`));
    expect(existsSync(join(dir, "strict.fbt"))).toBe(false);
    await expect(ingestLibfuseDebug({ log: LOG, daemonStrace: join(dir, "missing.strace"), output: join(dir, "m.fbt") }))
      .rejects.toThrow(/missing\.strace: cannot read the daemon strace/);
  });

  it("from the CLI: --daemon-strace, and the summary says what the capture recorded", () => {
    const out = join(dir, "cli.fbt");
    const r = spawnSync(process.execPath, [CLI, "ingest", "--from", "libfuse-debug", LOG, "--daemon-strace", STRACE, "-o", out], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`recorded backing ids: ${opensInLog} of ${opensInLog} opens, ${hp.setups.length} registrations, ${hp.closes.length} closes`);
    const s = spawnSync(process.execPath, [CLI, "ingest", "--from", "strace", "--mount", "/m", LOG, "--daemon-strace", STRACE, "-o", out], { encoding: "utf8" });
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/--daemon-strace goes with --from libfuse-debug/);
  });
});

describe("bindfs (libfuse 2.9.9, no passthrough) under strace", () => {
  it("identifies each open's backing file from the daemon's relative lstat calls; no ids: every open stays a what-if passthrough", async () => {
    const { summary, rows, backing } = await ingest("bindfs", "test/fixtures/bindfs-straced.log", "test/fixtures/bindfs-straced.strace.gz");
    const opens = rows.filter((r) => r.op === OP_OPEN);
    expect(opens.length).toBe(8);
    expect(summary).toMatchObject({ recordedOpens: 0, backingOpens: 0, notInDaemonStrace: 0 });
    expect(opens.every((r) => r.fopen === FOPEN_PASSTHROUGH && r.bid === 0)).toBe(true);
    const strace = gunzipSync(readFileSync("test/fixtures/bindfs-straced.strace.gz")).toString("utf8");
    // bindfs chdirs into its source and lstats relative names; the loader's openat shows the directory.
    const inoOf = (name: string) => Number(new RegExp(`lstat\\("${name}", \\{st_dev=makedev\\(0xfe, 0\\), st_ino=(\\d+)`).exec(strace)![1]);
    const files = opens.map((r) => backing[r.bref]);
    // cat a.txt; a.txt held while cat reads it; cp a.txt c.txt (a.txt, c.txt); mv c.txt a.txt; cat a.txt;
    // rm b.txt; echo new > b.txt; cat b.txt.
    expect(files.map((f) => f.ino)).toEqual([...Array(4).fill(inoOf("a.txt")), inoOf("c.txt"), inoOf("c.txt"), inoOf("a.txt"), inoOf("a.txt")]);
    // The new b.txt got the inode number a.txt had before the mv freed it: another file.
    expect(files[6]).not.toBe(files[0]);
    expect(Buffer.from(files[6].digest).equals(Buffer.from(files[0].digest))).toBe(false);
  });
});

describe("strace's notation", () => {
  it("decodes C escapes: octal of one to three digits, hex, and the named ones", () => {
    expect(Array.from(stringArg('"0\\0\\0\\0\\16\\0\\250\\n\\t\\"\\\\\\x41"...')!)).toEqual([0x30, 0, 0, 0, 14, 0, 0o250, 10, 9, 34, 92, 0x41]);
  });

  it("splits arguments outside strings, brackets and fd annotations", () => {
    expect(splitArgs('4</dev/fuse>, [{iov_base="a, b", iov_len=3}], 2')).toEqual(["4</dev/fuse>", '[{iov_base="a, b", iov_len=3}]', "2"]);
    expect(splitArgs('3</tmp/a, b>, "x"')).toEqual(["3</tmp/a, b>", '"x"']);
  });

  it("makedev is glibc's (major 12 bits then 20 of minor split around it)", () => {
    expect(makedev(0xfe, 0)).toBe(0xfe00);
    expect(makedev(8, 1)).toBe(0x801);
    expect(makedev(0x123, 0x45678)).toBe(0x45612378);
  });

  it("joins an unfinished call with its resumption, per thread", async () => {
    const f = join(dir, "resumed.strace");
    writeFileSync(f, [
      '10 00:00:00.000001 read(4</dev/fuse>,  <unfinished ...>',
      '11 00:00:00.000002 openat(AT_FDCWD</>, "/proc/self/fd/7", O_RDONLY) = 9</src/x>',
      // fuse_in_header of an OPEN (opcode 14), unique 6, nodeid 2
      '10 00:00:00.000003 <... read resumed>"0\\0\\0\\0\\16\\0\\0\\0\\6\\0\\0\\0\\0\\0\\0\\0\\2\\0\\0\\0\\0\\0\\0\\0"..., 4198400) = 48',
      '10 00:00:00.000004 openat(AT_FDCWD</>, "/proc/self/fd/7", O_RDONLY) = 8</src/x>',
      '10 00:00:00.000005 ioctl(4</dev/fuse>, _IOC(_IOC_WRITE, 0xe5, 0x1, 0x10), 0x7ffe) = 3',
      // fuse_out_header (len 32, error 0, unique 6) and fuse_open_out (fh 8, open_flags 0x80, backing_id 3)
      '10 00:00:00.000006 writev(4</dev/fuse>, [{iov_base=" \\0\\0\\0\\0\\0\\0\\0\\6\\0\\0\\0\\0\\0\\0\\0", iov_len=16}, {iov_base="\\10\\0\\0\\0\\0\\0\\0\\0\\200\\0\\0\\0\\3\\0\\0\\0", iov_len=16}], 2) = 32',
    ].join("\n"));
    const read = await readDaemonStrace(f, { strict: true, fail: (l, r) => new Error(`${l}: ${r}`) });
    expect(read.counts).toMatchObject({ malformed: 0, requests: 1, replies: 1, backingOpens: 1 });
    expect(read.requests.get("6")).toMatchObject({ opcode: 14, error: 0, fh: 8n, openFlags: 0x80, backingId: 3, registered: [3], file: { path: "/src/x" } });
  });

  it("gives a registration made before any request (a start-up probe) to the thread's next request, so the ids stay in step", async () => {
    const f = join(dir, "probe.strace");
    writeFileSync(f, [
      '10 00:00:00.000001 ioctl(4</dev/fuse>, _IOC(_IOC_WRITE, 0xe5, 0x1, 0x10), 0x7ffe) = 1',
      '10 00:00:00.000002 ioctl(4</dev/fuse>, _IOC(_IOC_WRITE, 0xe5, 0x2, 0x4), 0x7ffe) = 0',
      // fuse_in_header of an INIT (opcode 26), unique 2
      '10 00:00:00.000003 read(4</dev/fuse>, "0\\0\\0\\0\\32\\0\\0\\0\\2\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0"..., 4198400) = 104',
    ].join("\n"));
    const read = await readDaemonStrace(f, { strict: true, fail: (l, r) => new Error(`${l}: ${r}`) });
    expect(read.counts).toMatchObject({ malformed: 0, backingOutsideRequests: 2, backingOpens: 1, backingCloses: 1 });
    expect(read.requests.get("2")).toMatchObject({ opcode: 26, registered: [1], closes: 1 });
  });
});

// A live capture, on a real mount of the passthrough_hp that provisioning built.
const live = need("fuse") ?? need("passthrough_hp");

describe.skipIf(live !== null)("fbreplay record --daemon passthrough_hp (real kernel passthrough)", () => {
  it("records a workload whose opens carry passthrough_hp's ids, which replay as the kernel gave them; no mount is left", async (ctx) => {
    const src = join(dir, "live-src");
    mkdirSync(src);
    writeFileSync(join(src, "a.txt"), "alpha\n");
    const keep = join(dir, "live-keep");
    const out = join(dir, "live.fbt");
    const r = spawnSync(process.execPath, [CLI, "record", "--daemon", "passthrough_hp", "--src", src, "--keep", keep, "-o", out, "--",
      "sh", "-c", "exec 3<a.txt; cat a.txt >/dev/null; exec 3<&-; cp a.txt b.txt; cat b.txt a.txt >/dev/null"], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(recorderMounts(dir)).toEqual([]);
    expect(r.stderr).toMatch(/; the workload saw 0 opens fail with EIO$/m);
    const log = readFileSync(join(keep, "daemon.log"), "utf8");
    if (/fuse_passthrough_open failed/.test(log)) {
      console.log("live passthrough_hp test skipped: the kernel refused FUSE_DEV_IOC_BACKING_OPEN (no passthrough)");
      ctx.skip();
    }
    const hp = hpLines(log);
    const { rows } = await ingest("live-reingest", join(keep, "daemon.log"), join(keep, "daemon.strace"));
    expect(hp.replies.length).toBe(6); // a.txt held, a.txt by cat, a.txt and b.txt by cp, b.txt and a.txt by cat
    expect(hp.replies[1]).toBe(hp.replies[0]); // the held file's id, reused
    expect(rows.filter((x) => x.op === OP_OPEN).map((x) => x.bid)).toEqual(hp.replies);
    const policies = replayRecorded(out);
    expect(policies.ptr).toMatchObject({ opens: 6, accepted: 6, eio: 0, anomalies: 0, anomaly_recorded_id: 0 });
  });

  /** `record --daemon passthrough_hp` of a held file read again, copied and read: the trace, its header, the summary line. */
  async function recordHp(name: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    const src = join(dir, `${name}-src`);
    mkdirSync(src);
    writeFileSync(join(src, "a.txt"), "alpha\n");
    const out = join(dir, `${name}.fbt`);
    const r = spawnSync(process.execPath, [CLI, "record", "--daemon", "passthrough_hp", ...args, "--src", src, "-o", out, "--",
      "sh", "-c", "exec 3<a.txt; cat a.txt >/dev/null; exec 3<&-; cp a.txt b.txt; cat b.txt a.txt >/dev/null"], { encoding: "utf8", timeout: 60_000, env });
    expect(r.status, r.stderr).toBe(0);
    expect(recorderMounts(dir)).toEqual([]);
    return { stderr: r.stderr, out, source: (await openTrace(out)).header.source };
  }

  it.skipIf(need("capture"))("records from the kernel capture where it can: every open with the kernel's id and verdict (oracle: 0 mismatches)", async () => {
    const { stderr, out, source } = await recordHp("live-kernel", []);
    expect(stderr).toMatch(/^wrote .*: \d+ events \(6 opens, 0 refused by the kernel, .*; from the kernel capture \(BPF/m);
    expect(source.format).toBe("fbreplay-capture");
    expect(source.recorded_by).toBe("fbreplay record --daemon passthrough_hp");
    const oracle = spawnSync(process.execPath, [CLI, "oracle", out, "--json"], { encoding: "utf8" });
    expect(oracle.status, oracle.stderr).toBe(0);
    const run = (JSON.parse(oracle.stdout) as { runs: { compared: number; agree: number; mismatches: unknown[]; verdicts: boolean }[] }).runs[0];
    expect(run).toMatchObject({ compared: 6, agree: 6, mismatches: [], verdicts: true });
    expect(replayRecorded(out).ptr).toMatchObject({ opens: 6, accepted: 6, eio: 0, anomalies: 0 });
  });

  it("falls back to the debug log and strace when the kernel capture cannot run, or with --no-capture, and says which", async () => {
    const missing = await recordHp("live-noloader", [], { ...process.env, FBREPLAY_CAPTURE_LOADER: join(dir, "no-such-loader") });
    expect(missing.stderr).toMatch(/; from passthrough_hp's debug log and strace \(no kernel capture: .*\); the workload saw 0 opens fail with EIO$/m);
    expect(missing.source.format).toBe("libfuse-debug");
    expect(replayRecorded(missing.out).ptr).toMatchObject({ opens: 6, accepted: 6, eio: 0, anomalies: 0 });
    const forced = await recordHp("live-nocapture", ["--no-capture"]);
    expect(forced.stderr).toMatch(/; from passthrough_hp's debug log and strace \(--no-capture\)/);
    expect(forced.source.format).toBe("libfuse-debug");
  });

  it("takes the mount down when interrupted, and leaves no daemon behind", async () => {
    const scratch = join(dir, "live-int");
    mkdirSync(scratch);
    const out = join(dir, "live-int.fbt");
    const { status, stderr, mountsBefore } = await interruptRecording(["--daemon", "passthrough_hp"], out, scratch);
    expect(mountsBefore).toBe(1);
    expect(status).toBe(130);
    expect(stderr).toMatch(/interrupted: the mount is down, no trace written/);
    expect(existsSync(out)).toBe(false);
    expect(recorderMounts(scratch)).toEqual([]);
    const daemons = spawnSync("pgrep", ["-f", `passthrough_hp .*${scratch}`], { encoding: "utf8" }).stdout.trim();
    expect(daemons).toBe("");
  });

  it("takes the mount down and writes no trace when the command fails", () => {
    const out = join(dir, "live-fails.fbt");
    const r = spawnSync(process.execPath, [CLI, "record", "--daemon", "passthrough_hp", "--keep", join(dir, "live-fails"), "-o", out, "--",
      "sh", "-c", "echo x > f; cat f; exit 4"], { encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/exited with status 4: the mount is down, no trace written/);
    expect(existsSync(out)).toBe(false);
    expect(recorderMounts(dir)).toEqual([]);
  });
});
