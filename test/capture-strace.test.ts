// `capture --workload-strace`: each open's verdict from the workload's strace (paired by thread and time, no BPF
// state), cross-checked with BPF's (the opener's syscall return). On records made by hand (the pairing, strace's
// split calls, errno names), and on a real mount where the kernel refuses opens (the patched passthrough_hp with a
// new id per open, four daemon threads, two parallel readers): both witnesses give the same verdict to every open.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OP_OPEN } from "../src/abi.js";
import { FIELDS, FUSE, KIND, RECORD_SIZE } from "../src/capture/layout.js";
import { straceVerdicts, withStraceVerdicts } from "../src/capture/strace.js";
import { daemonRecordsOf } from "../src/ingest/capture.js";
import { writeNativeCapture } from "../src/ingest/native.js";
import { openTrace } from "../src/trace/index.js";
import { need } from "./provision.js";

const CLI = "dist/cli/bin.js";
const dir = mkdtempSync(join(tmpdir(), "fbreplay-capture-strace-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function record(f: Partial<Record<keyof typeof FIELDS, number>>): Buffer {
  const b = Buffer.alloc(RECORD_SIZE);
  for (const [k, v] of Object.entries(f)) {
    const [at, size, signed] = FIELDS[k as keyof typeof FIELDS];
    if (size === 8) b.writeBigUInt64LE(BigInt(v), at);
    else if (signed) b.writeInt32LE(v, at);
    else b.writeUInt32LE(v, at);
  }
  return b;
}

describe("verdicts from a workload's strace (records made by hand)", () => {
  // The wall clock is the monotonic one + 1000 s at READY, running 10 ppm fast by DONE.
  const REAL = 1_000_000_000_000;
  const real = (mono: number) => REAL + mono + Math.round((mono - 1e9) * 1e-5);
  const secs = (mono: number) => (real(mono) / 1e9).toFixed(6);
  const bin = join(dir, "records.bin");
  writeFileSync(bin, Buffer.concat([
    record({ kind: KIND.READY, t_ns: 1e9, generation: real(1e9) }),
    // Thread 7 opens f1 (accepted), then f2 (refused: EIO); thread 8 opens f1 while 7 is inside its second call.
    record({ kind: KIND.SEND, opcode: FUSE.OPEN, unique: 2, pid: 7, t_ns: 2e9 + 5_000 }),
    record({ kind: KIND.VERDICT, unique: 2, error: 3, t_ns: 2e9 + 9_000 }),
    record({ kind: KIND.SEND, opcode: FUSE.OPEN, unique: 4, pid: 7, t_ns: 3e9 + 4_000 }),
    record({ kind: KIND.SEND, opcode: FUSE.OPEN, unique: 6, pid: 8, t_ns: 3e9 + 6_000 }),
    record({ kind: KIND.VERDICT, unique: 6, error: 4, t_ns: 3e9 + 8_000 }),
    record({ kind: KIND.VERDICT, unique: 4, error: -5, t_ns: 3e9 + 9_000 }),
    // Sent by a process strace did not follow: BPF's verdict stays.
    record({ kind: KIND.SEND, opcode: FUSE.OPEN, unique: 8, pid: 99, t_ns: 4e9 }),
    record({ kind: KIND.DONE, t_ns: 5e9, generation: real(5e9) }),
  ]));
  const strace = join(dir, "workload.strace");
  writeFileSync(strace, [
    `7 ${secs(2e9)} openat(AT_FDCWD</mnt>, "/lib/libc.so.6", O_RDONLY|O_CLOEXEC) = 3</lib/libc.so.6> <0.000004>`,
    `7 ${secs(2e9 + 3_000)} openat(AT_FDCWD</mnt>, "f1", O_RDONLY) = 3</mnt/f1> <0.000007>`,
    `7 ${secs(3e9 + 2_000)} openat(AT_FDCWD</mnt>, "f2", O_RDONLY <unfinished ...>`,
    `8 ${secs(3e9 + 5_000)} openat(AT_FDCWD</mnt>, "f1", O_RDONLY) = 4</mnt/f1> <0.000004>`,
    `7 ${secs(3e9 + 8_000)} <... openat resumed>) = -1 EIO (Input/output error) <0.000008>`,
    `7 ${secs(3e9 + 20_000)} +++ exited with 1 +++`,
    "",
  ].join("\n"));

  it("pairs each send with its thread's call by time, across a call strace split in two; another process's stays BPF's", async () => {
    const { verdicts, stats } = await straceVerdicts(bin, strace, "/");
    expect([...verdicts]).toEqual([[2, 3], [4, -5], [6, 4]]);
    expect(stats).toEqual({ fromStrace: 3, fromBpf: 1, disagree: 0, disagreements: [] });
  });

  it("a verdict that differs from BPF's is counted and named", async () => {
    const lying = join(dir, "lying.strace");
    writeFileSync(lying, readFileSync(strace, "utf8").replace("= 4</mnt/f1>", "= -1 EIO (Input/output error)"));
    const { stats } = await straceVerdicts(bin, lying, "/");
    expect(stats).toMatchObject({ fromStrace: 3, disagree: 1, disagreements: ["6: -5 vs 4"] });
  });

  it("puts strace's verdict right after each open, ahead of BPF's", () => {
    const open = { seq: 0, op: "open", unique: 4, error: 0 } as never;
    const bpf = { seq: 1, op: "verdict", unique: 4, error: 0 } as never;
    const out = [...withStraceVerdicts(() => [open, bpf], new Map([[4, -5]]))()];
    expect(out.map((r) => [r.seq, r.op, r.error])).toEqual([[0, "open", 0], [1, "verdict", -5], [2, "verdict", 0]]);
  });
});

const problem = need("fuse") ?? need("capture") ?? need("test-daemons");

describe.skipIf(problem)("capture --workload-strace on a real mount", () => {
  it("the workload's strace and BPF give every open the same verdict, refusals included, and oracle agrees", async () => {
    const src = join(dir, "src");
    const mnt = join(dir, "mnt");
    mkdirSync(src);
    mkdirSync(mnt);
    for (let i = 1; i <= 8; i++) writeFileSync(join(src, `f${i}`), `content ${i}\n`.repeat(i));
    const daemon = spawn("build/passthrough_hp-fbreplay/passthrough_hp", ["--foreground", "--backing-per-open", "--num-threads", "4", src, mnt], { stdio: "ignore" });
    const exited = new Promise<void>((resolve) => daemon.on("exit", () => resolve()));
    try {
      const mounted = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === mnt);
      for (let i = 0; i < 500 && !mounted(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(mounted()).toBe(true);
      const keep = join(dir, "keep");
      const trace = join(dir, "strace.fbt");
      const readers = "(for r in 1 2 3; do cat f1 f2 f3 f4 f5 f6 f7 f8 >/dev/null; done) & (for r in 1 2 3; do cat f8 f7 f6 f5 f4 f3 f2 f1 >/dev/null; done) & wait";
      const r = spawnSync(process.execPath, [CLI, "capture", "--mount", mnt, "-o", trace, "--keep", keep, "--workload-strace", "--", "sh", "-c", `exec 3<f1; cat f1 >/dev/null; exec 3<&-; ${readers}; true`], { encoding: "utf8", timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      const said = /\((\d+) opens, (\d+) refused by the kernel, .*; verdicts of (\d+) opens from the workload's strace, 0 differing from BPF's$/m.exec(r.stderr);
      expect(said, r.stderr).not.toBeNull();
      const [opens, refused, fromStrace] = said!.slice(1).map(Number);
      expect(fromStrace).toBe(opens);
      expect(refused).toBeGreaterThan(0);
      // The same capture written with BPF's verdicts only: open by open, the same verdicts.
      const digests = new Map(Object.entries(JSON.parse(readFileSync(join(keep, "digests.json"), "utf8")) as Record<string, string>));
      const bpfOnly = join(dir, "bpf.fbt");
      await writeNativeCapture(daemonRecordsOf(join(keep, "records.bin"), digests), bpfOnly, { source: { format: "fbreplay-capture" }, workload: "w", host_kernel: "", recorder: { name: "test", version: "0" } });
      const verdictsOf = async (path: string) => {
        const out: number[] = [];
        for await (const item of (await openTrace(path)).items()) {
          if (item.kind === "chunk") for (let i = 0; i < item.chunk.length; i++) if (item.chunk.op[i] === OP_OPEN) out.push(item.chunk.verdict![i]);
        }
        return out;
      };
      const [withStrace, withBpf] = [await verdictsOf(trace), await verdictsOf(bpfOnly)];
      expect(withStrace).toHaveLength(opens);
      expect(withStrace).toEqual(withBpf);
      const oracle = spawnSync(process.execPath, [CLI, "oracle", trace, "--json"], { encoding: "utf8" });
      expect(oracle.status, oracle.stdout).toBe(0);
      expect(JSON.parse(oracle.stdout).runs[0]).toMatchObject({ compared: opens, kernel_refused: refused, mismatches: [], anomalies: 0 });
    } finally {
      spawnSync("fusermount3", ["-u", mnt]);
      if (daemon.exitCode === null) daemon.kill("SIGTERM");
      await exited;
    }
  });

  it("without a command: one line, exit 2", () => {
    const r = spawnSync(process.execPath, [CLI, "capture", "--mount", dir, "-o", join(dir, "x.fbt"), "--workload-strace"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("fbreplay: --workload-strace needs the command after --: capture --mount DIR -o TRACE --workload-strace -- CMD\n");
  });
});
