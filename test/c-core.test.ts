// The native C build of the core (bench/c-core) against the wasm core: the same events, the same counters, for
// every policy, both modelled daemons and a capture's recorded ids; and the cost-per-check entry points. The C
// compiler is provisioned (scripts/install-cc.sh); skipped, with the reason printed, only where it cannot be.
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildNative, runNative, runNativeCheck, writeNativeDump } from "../bench/c-core/index.mjs";
import {
  DAEMON_PER_INODE, FOPEN_DIRECT_IO, FOPEN_PASSTHROUGH, ID_MAX_DEFAULT, OP_BACKING_CLOSE, OP_BACKING_OPEN, OP_FORGET,
  OP_OPEN, OP_RELEASE, OP_RESTART, RESTART_CLOSE_ALL,
} from "../src/abi.js";
import {
  Injector, MODELLED_DAEMONS, POLICIES, POLICY_CODE, WasmReplaySession, backingFiles, coreModule, emptyColumns, eventColumns, type EventRow,
  type BackingFile, type DaemonModel, type EventColumns, type InjectOptions, type Outcomes, type SessionOptions,
} from "../src/replay/index.js";
import { sfc32 } from "../src/rng.js";
import { synth, synthLimits, type SynthOptions } from "../src/synth/index.js";
import { openTrace } from "../src/trace/index.js";
import { WORLD_BACKING, WORLD_FILES, WORLD_INODES, closeAll, eventSequence } from "./arbitraries.js";
import { need } from "./provision.js";

const noCompiler = need("cc");
const built = noCompiler === null ? buildNative() : { skipped: noCompiler };
if (noCompiler === null && "skipped" in built) throw new Error(`provisioned, yet: ${built.skipped}`);
const binary = "skipped" in built ? "" : built.path;

const dir = mkdtempSync(join(tmpdir(), "fbreplay-native-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a session is fed, in order: backing extensions and event chunks (each chunk its own copy). */
type Item = { backing: readonly BackingFile[] } | { chunk: EventColumns };
type SourceItem = { backing?: readonly BackingFile[]; chunk?: EventColumns } | { kind: "backing"; files: BackingFile[] } | { kind: "chunk"; chunk: EventColumns };

function copyColumns(ev: EventColumns): EventColumns {
  const c = emptyColumns(ev.length);
  c.op.set(ev.op); c.nodeid.set(ev.nodeid); c.fh.set(ev.fh); c.bref.set(ev.bref); c.oflags.set(ev.oflags); c.fopen.set(ev.fopen);
  return c;
}

/** A synth() stream or a trace's items through an Injector, as replayTrace applies it. */
async function injected(source: Iterable<SourceItem> | AsyncIterable<SourceItem>, inject: InjectOptions): Promise<Item[]> {
  const injector = new Injector(inject);
  const items: Item[] = [];
  for await (const item of source) {
    const files = "kind" in item ? (item.kind === "backing" ? item.files : undefined) : item.backing;
    const chunk = "kind" in item ? (item.kind === "chunk" ? item.chunk : undefined) : item.chunk;
    if (files !== undefined) items.push({ backing: injector.addTraceBacking(files) });
    if (chunk !== undefined) {
      const { backing, events } = injector.rewrite(chunk);
      if (backing.count > 0) items.push({ backing: backingFiles(backing) }); // the injector reuses its table
      items.push({ chunk: copyColumns(events) });
    }
  }
  return items;
}

interface Case {
  items: Item[];
  maxInodes: number;
  maxFiles: number;
  idMax?: number;
  chunkRows: number;
}

let dumps = 0;

/** Replays a case on the wasm core and on the native build; both must give the same counters for every policy. */
async function agree(c: Case, daemon: DaemonModel): Promise<Record<string, Outcomes>> {
  const options: SessionOptions = { policies: POLICIES, daemon, maxInodes: c.maxInodes, maxFiles: c.maxFiles, idMax: c.idMax };
  const wasm = new WasmReplaySession([], options, "release", c.chunkRows);
  for (const item of c.items) {
    if ("backing" in item) wasm.addBacking(item.backing);
    else wasm.feed(item.chunk);
  }
  const file = join(dir, `dump-${dumps++}.bin`);
  await writeNativeDump(file, { columns: c.items, ...options, chunkRows: c.chunkRows });
  const native = await runNative(binary, file);
  rmSync(file);
  const expected = wasm.outcomes();
  expect(native.outcomes).toEqual(expected);
  expect(native.events).toBe(expected.ptr!.events);
  for (const p of POLICIES) {
    // With every file closed the core's invariants hold (replayTrace checks the same on the wasm core).
    if (expected[p]!.open_at_end === 0) expect(native.policies[p]!.violations, p).toBe(0);
    expect(native.policies[p]!.ns).toBeGreaterThan(0);
  }
  return expected as Record<string, Outcomes>;
}

async function synthCase(options: SynthOptions, inject: InjectOptions = {}, extra: Partial<Case> = {}): Promise<Case> {
  const K = inject.scale ?? 1;
  const limits = synthLimits(options);
  return {
    items: await injected(synth(options), inject),
    maxInodes: limits.maxInodes * K,
    maxFiles: limits.maxFiles * K,
    chunkRows: 1 << 16,
    ...extra,
  };
}

const sum = (out: Record<string, Outcomes>, key: keyof Outcomes) => Object.values(out).reduce((n, o) => n + o[key], 0);

describe.skipIf(binary === "")("the native C build of the core agrees with the wasm core", () => {
  it("is built by the system cc with -O2, warning-free under -Wall -Wextra", () => {
    expect(built).toMatchObject({ cc: "cc", flags: ["-O2"] });
    const sources = ["core.c", "main.c", "check.c"].map((f) => `bench/c-core/${f}`);
    const r = spawnSync("cc", ["-O2", "-Wall", "-Wextra", "-Werror", "-o", join(dir, "warnings"), ...sources], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  // The modelled daemons decide the backing ids themselves; the recorded daemon replays a capture's (below).
  for (const daemon of MODELLED_DAEMONS) {
    describe(`daemon ${daemon}`, () => {
      it("on a synthetic trace with the default workload", async () => {
        const out = await agree(await synthCase({ events: 200_000, seed: 1, inodes: 5_000 }), daemon);
        expect(out.ptr.accepted).toBeGreaterThan(0);
        expect(sum(out, "forgets")).toBeGreaterThan(0);
      });

      it("with direct-io and cached opens, writers, restarts (CLOSE_ALL), re-downloads and replacements", async () => {
        const c = await synthCase(
          { events: 150_000, seed: 2, inodes: 2_000, directIoFraction: 0.2, cachedFraction: 0.2, writeFraction: 0.3, replaceRate: 0.01 },
          { restartEvery: 15_000, closeAll: true, redownloadRate: 0.01, seed: 5 },
        );
        const out = await agree(c, daemon);
        // per-nodeid keeps a replaced file on the nodeid's old id: its accepts are stale, never diverged under ptr/inode
        for (const key of ["restarts", "direct_opens", "cached_opens", "eio_mode", "etxtbsy", "ebusy", "unsafe", "stale"] as const) {
          if (key === "unsafe" && daemon === "per-nodeid") expect(out.ptr.diverged + out.inode.diverged).toBe(0);
          else expect(sum(out, key), key).toBeGreaterThan(0);
        }
      });

      it("scaled over disjoint namespaces, with restarts that leak ids", async () => {
        const c = await synthCase({ events: 60_000, seed: 3, inodes: 1_000, maxOpenFiles: 512 }, { scale: 3, restartEvery: 10_000, seed: 9 });
        const out = await agree(c, daemon);
        expect(out.ptr.restarts).toBe(17);
        expect(out.ptr.ebusy).toBeGreaterThan(0);
      });

      // stable-id chooses its ids (64-bit, spec §i.2): the cyclic idr and its limit are never used.
      for (const idMax of daemon.startsWith("stable-id") ? [] : [64, 2]) {
        it(`with idMax ${idMax}: ids wrap and BACKING_OPEN runs out (ENOSPC)`, async () => {
          const c = await synthCase(
            { events: 80_000, seed: 4, inodes: 400, maxOpenFiles: 256, meanOpenEvents: 200 },
            { restartEvery: 7_000, seed: 4 },
            { idMax, chunkRows: 4_099 },
          );
          const out = await agree(c, daemon);
          expect(sum(out, "enospc")).toBeGreaterThan(0);
          expect(out.ptr.peak_ids).toBeLessThanOrEqual(idMax);
        });
      }

      it("on generated sequences with anomalies, LOOKUPs, FORGETs of busy inodes and unknown ops", async () => {
        for (const [seed, idMax] of [[11, 0x7fffffff], [12, 2]] as const) {
          const rows = fc.sample(eventSequence, { seed, numRuns: 400 }).flat();
          const c: Case = {
            items: [{ backing: WORLD_BACKING }, { chunk: eventColumns(rows) }, { chunk: eventColumns(closeAll) }],
            maxInodes: WORLD_INODES,
            maxFiles: WORLD_FILES,
            idMax,
            chunkRows: 97,
          };
          const out = await agree(c, daemon);
          for (const key of ["anomaly_unknown_op", "anomaly_nodeid_range", "anomaly_fh_range", "anomaly_bref_range",
            "anomaly_release_unopened", "anomaly_fh_in_use", "anomaly_forget_busy", "einval", "enoent"] as const) {
            expect(sum(out, key), key).toBeGreaterThan(0);
          }
        }
      });

      it("on a bundled trace, scaled, with restarts and re-downloads", async () => {
        const trace = await openTrace("traces/c-build.fbt");
        const inject = { scale: 4, restartEvery: 5_000, redownloadRate: 0.001, seed: 1 };
        const c: Case = {
          items: await injected(trace.items(), inject),
          maxInodes: (trace.footer.max_nodeid + 1) * inject.scale,
          maxFiles: (trace.footer.max_fh + 1) * inject.scale,
          chunkRows: 1 << 15,
        };
        const out = await agree(c, daemon);
        expect(out.ptr.opens).toBeGreaterThan(0);
        expect(out.ptr.anomalies).toBe(0);
        expect(out.ptr.restarts).toBeGreaterThan(0);
      });
    });
  }
});

/**
 * What a capture of a passthrough daemon looks like: each passthrough open preceded by the daemon's BACKING_OPEN
 * (the id the kernel returned in `bid`) and its id on the OPEN row, BACKING_CLOSE after the release; now and then
 * an id the model's idr would not hand out, a close of an unknown id, an open naming a closed id, restarts, FORGETs.
 */
function recordedCapture(seed: number, steps: number): EventColumns {
  const rng = sfc32(seed);
  const pick = (n: number) => Math.floor(rng() * n);
  const rows: EventRow[] = [];
  const bids: number[] = [];
  const push = (row: EventRow, bid = 0) => { rows.push(row); bids.push(bid); };
  const open = new Map<number, number>(); // fh → the id its open carried
  let nextId = 1;
  for (let step = 0; step < steps; step++) {
    const r = rng();
    const fh = pick(WORLD_FILES);
    if (r < 0.5 && !open.has(fh)) {
      const nodeid = pick(WORLD_INODES);
      const bref = pick(WORLD_BACKING.length);
      const kind = rng();
      if (kind < 0.1) { // direct io, no id
        push({ op: OP_OPEN, nodeid, fh, bref, fopen: FOPEN_DIRECT_IO });
        open.set(fh, 0);
        continue;
      }
      let id = kind < 0.85 ? nextId : kind < 0.95 ? 1 + pick(nextId + 2) : 0;
      if (kind < 0.85) {
        const skew = rng() < 0.05 ? 3 : 0; // an id the model's cyclic idr would not hand out
        id += skew;
        push({ op: OP_BACKING_OPEN, bref }, id);
        nextId = id + 1;
      }
      push({ op: OP_OPEN, nodeid, fh, bref, oflags: pick(3), fopen: FOPEN_PASSTHROUGH }, id);
      open.set(fh, id);
    } else if (r < 0.85 && open.has(fh)) {
      push({ op: OP_RELEASE, fh });
      const id = open.get(fh)!;
      open.delete(fh);
      if (id > 0 && rng() < 0.9) push({ op: OP_BACKING_CLOSE }, id);
    } else if (r < 0.9) {
      push({ op: OP_BACKING_CLOSE }, 1 + pick(nextId + 2));
    } else if (r < 0.93) {
      push({ op: OP_RESTART, oflags: rng() < 0.5 ? RESTART_CLOSE_ALL : 0 });
    } else {
      push({ op: OP_FORGET, nodeid: pick(WORLD_INODES) });
    }
  }
  const ev = eventColumns(rows);
  ev.bid = Uint32Array.from(bids);
  return ev;
}

describe.skipIf(binary === "")("the native C build agrees with the wasm core on a capture's recorded ids", () => {
  it("for every policy (registrations, closes and the ids of opens replayed as recorded)", async () => {
    for (const seed of [1, 2, 3]) {
      const c: Case = {
        // A chunk with recorded ids, then a shorter one without (the closing releases).
        items: [{ backing: WORLD_BACKING }, { chunk: recordedCapture(seed, 3_000) }, { chunk: eventColumns(closeAll) }],
        maxInodes: WORLD_INODES,
        maxFiles: WORLD_FILES,
        chunkRows: 251,
      };
      const out = await agree(c, "recorded");
      for (const key of ["accepted", "anomaly_recorded_id", "backing_opens", "backing_closes", "ebusy"] as const) {
        expect(sum(out, key), key).toBeGreaterThan(0);
      }
    }
  });

  it("ignores recorded registrations under a modelled daemon", async () => {
    const c: Case = {
      items: [{ backing: WORLD_BACKING }, { chunk: recordedCapture(4, 2_000) }, { chunk: eventColumns(closeAll) }],
      maxInodes: WORLD_INODES,
      maxFiles: WORLD_FILES,
      chunkRows: 1 << 12,
    };
    const out = await agree(c, "per-inode");
    expect(sum(out, "anomaly_recorded_id")).toBe(0);
  });
});

describe.skipIf(binary === "")("the native driver's input checks", () => {
  const options = { policies: POLICIES, maxInodes: WORLD_INODES, maxFiles: WORLD_FILES, chunkRows: 8 };

  it("rejects a truncated dump, naming the file, with exit status 2", async () => {
    const file = join(dir, "truncated.bin");
    await writeNativeDump(file, { ...options, backing: WORLD_BACKING, columns: [eventColumns(closeAll)] });
    const whole = readFileSync(file);
    // Cut inside the last EVNT record, and inside the header.
    for (const keep of [whole.length - 30, 20]) {
      writeFileSync(file, whole.subarray(0, keep));
      const failure = await runNative(binary, file).then(() => null, (e: Error & { status?: number }) => e);
      expect(failure?.status).toBe(2);
      expect(failure?.message.startsWith(`${file}: truncated`), failure?.message).toBe(true);
      expect(failure?.message.split("\n")).toHaveLength(1);
    }
  });

  it("rejects a file that is not a dump", async () => {
    const file = join(dir, "not-a-dump.bin");
    writeFileSync(file, Buffer.alloc(100, 7));
    await expect(runNative(binary, file)).rejects.toMatchObject({ status: 2, message: `${file}: not a native replay dump (bad magic)` });
    await expect(runNative(binary, join(dir, "missing.bin"))).rejects.toMatchObject({ status: 2, message: expect.stringContaining("cannot open") });
  });

  it("counts an empty replay as zero events", async () => {
    const file = join(dir, "empty.bin");
    await writeNativeDump(file, options);
    const run = await runNative(binary, file);
    expect(run.events).toBe(0);
    expect(Object.keys(run.outcomes)).toEqual([...POLICIES]);
    expect(run.outcomes.lookup!.events).toBe(0);
  });
});

/** The wasm core's cost-per-check exports, set up as bench/suites/check.mjs does: conflicts per batch by policy. */
function wasmCheckConflicts(inodes: number, files: number, batch: number): Record<string, number> {
  type Fn = (...args: number[]) => number;
  const memory = new WebAssembly.Memory({ initial: 1 });
  const core = new WebAssembly.Instance(coreModule(), { env: { memory, abort: () => { throw new Error("abort"); } } }).exports as Record<string, Fn>;
  core.backing_reserve(files * 2, files * 2);
  const sb = core.backing_sb_new(1);
  for (let f = 0; f < files * 2; f++) {
    core.backing_inode_define(f, sb, 1000 + f);
    const digest = core.backing_file_add(f); // may grow memory: take the buffer afterwards
    new DataView(memory.buffer).setUint32(digest, f >> 1, true);
  }
  const at = core.host_alloc(inodes * 4);
  const order = new Uint32Array(memory.buffer, at, inodes);
  for (let i = 0; i < inodes; i++) order[i] = i;
  let x = 0x9e3779b9;
  for (let i = inodes - 1; i > 0; i--) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return Object.fromEntries(POLICIES.map((p) => {
    const ctx = core.ctx_create(POLICY_CODE[p], DAEMON_PER_INODE, inodes, 1, ID_MAX_DEFAULT);
    const candidates = core.check_setup(ctx, inodes);
    return [p, core.check_batch(ctx, candidates, at, inodes - 1, batch)];
  }));
}

describe.skipIf(binary === "")("the native cost-per-check benchmark", () => {
  it("finds as many conflicts per batch as the wasm core, for every policy", async () => {
    for (const [inodes, files, batch] of [[256, 16, 1000], [4096, 300, 5000]]) {
      const native = await runNativeCheck(binary, { inodes, files, batch, reps: 2 });
      const expected = wasmCheckConflicts(inodes, files, batch);
      expect(Object.fromEntries(POLICIES.map((p) => [p, native[p]!.conflicts]))).toEqual(expected);
      expect(new Set(Object.values(expected)).size).toBeGreaterThan(1); // the policies do tell the cases apart
      for (const p of POLICIES) expect(native[p]!.ns_per_check).toHaveLength(2);
    }
  });

  it("refuses an inode count that is not a power of two", async () => {
    await expect(runNativeCheck(binary, { inodes: 100, files: 4, batch: 10, reps: 1 })).rejects.toMatchObject({ status: 2 });
  });
});
