import { describe, expect, it } from "vitest";
import { FOPEN_DIRECT_IO, FOPEN_PASSTHROUGH, O_ACCMODE, OP_FORGET, OP_LOOKUP, OP_OPEN, OP_RELEASE } from "../src/abi.js";
import { POLICIES, ReferenceSession } from "../src/replay/index.js";
import { BACKING_DEV, PID_BASE, synth, synthLimits, validateSynthOptions, type SynthOptions } from "../src/synth/index.js";
import { Xoshiro128 } from "../src/rng.js";
import { ZipfSampler } from "../src/synth/zipf.js";
import type { TraceBackingFile, TraceChunk } from "../src/trace/types.js";

interface Collected {
  /** The backing table: every `backing` item, concatenated. */
  table: TraceBackingFile[];
  chunks: TraceChunk[];
  /** Backing table length when each chunk arrived. */
  tableAtChunk: number[];
  /** How the stream started: "backing" or "chunk". */
  first: string;
}

function collect(options: SynthOptions): Collected {
  const out: Collected = { table: [], chunks: [], tableAtChunk: [], first: "" };
  for (const item of synth(options)) {
    expect((item.backing === undefined) !== (item.chunk === undefined)).toBe(true);
    out.first ||= item.backing ? "backing" : "chunk";
    if (item.backing) out.table.push(...item.backing);
    else {
      out.chunks.push(item.chunk!);
      out.tableAtChunk.push(out.table.length);
    }
  }
  return out;
}

/** Every event as a row object: fine for the tens of thousands of events of these tests. */
function* rows(chunks: TraceChunk[]) {
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) {
      yield { op: c.op[i], nodeid: c.nodeid[i], fh: c.fh[i], bref: c.bref[i], oflags: c.oflags[i], fopen: c.fopen[i], pid: c.pid[i], dt: c.dt[i] };
    }
  }
}

/** Every column of every chunk, as one buffer (comparing typed arrays with toEqual is slow). */
function bytes(chunks: TraceChunk[]): Buffer {
  const columns = chunks.flatMap((c) => [c.op, c.nodeid, c.fh, c.bref, c.oflags, c.fopen, c.pid, c.dt]);
  return Buffer.concat(columns.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
}

/** Small enough for the reference model, busy enough for forgets, reuse and version changes to happen. */
const SMALL: SynthOptions = { events: 60_000, seed: 11, inodes: 500, chunkRows: 7_000, replaceRate: 0.01, redownloadRate: 0.01, forgetRate: 0.02 };

describe("synth: determinism", () => {
  it("gives identical output for the same options and seed", () => {
    const a = collect(SMALL);
    const b = collect(SMALL);
    expect(b.table).toEqual(a.table);
    expect(b.chunks.map((c) => c.t0)).toEqual(a.chunks.map((c) => c.t0));
    expect(bytes(b.chunks).equals(bytes(a.chunks))).toBe(true);
  });

  it("gives different output for another seed, with the same shape", () => {
    const a = collect(SMALL);
    const b = collect({ ...SMALL, seed: 12 });
    expect(b.chunks.map((c) => c.length)).toEqual(a.chunks.map((c) => c.length));
    expect(bytes(b.chunks).equals(bytes(a.chunks))).toBe(false);
    expect(b.chunks[0].nodeid).not.toEqual(a.chunks[0].nodeid);
    expect(b.table[0].digest).not.toEqual(a.table[0].digest);
  });
});

describe("synth: the stream's shape", () => {
  it.each([1, 2, 3, 7, 999, 1_000, 1_001, 4_096, 12_345])("emits exactly %i events, in chunks of chunkRows, and closes every file", (events) => {
    const chunkRows = 1_000;
    const { chunks, first } = collect({ events, seed: events, inodes: 300, chunkRows });
    expect(first).toBe("backing");
    expect(chunks.map((c) => c.length)).toEqual(
      Array.from({ length: Math.ceil(events / chunkRows) }, (_, k) => Math.min(chunkRows, events - k * chunkRows)),
    );
    const open = new Set<number>();
    for (const r of rows(chunks)) {
      if (r.op === OP_OPEN) open.add(r.fh);
      if (r.op === OP_RELEASE) expect(open.delete(r.fh)).toBe(true);
    }
    expect(open.size).toBe(0);
  });

  it("ends a one-event trace with a bare LOOKUP, the only valid event that leaves nothing open", () => {
    const { chunks } = collect({ events: 1, seed: 3 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0].op[0]).toBe(OP_LOOKUP);
  });

  it("keeps every column in range and the clock consistent", () => {
    const options = { ...SMALL, maxOpenFiles: 40, concurrentOpeners: 5, directIoFraction: 0.1, cachedFraction: 0.1 };
    const { chunks, tableAtChunk } = collect(options);
    const { maxInodes } = synthLimits(options);
    const problems: string[] = []; // one expect at the end: per-row expects are slow
    const check = (ok: boolean, what: string) => { if (!ok && problems.length < 10) problems.push(what); };
    let now = 0;
    let row = 0;
    chunks.forEach((c, k) => {
      for (let i = 0; i < c.length; i++, row++) {
        if (row === 0) check(c.dt[i] === 0, "first dt is not 0");
        now += c.dt[i];
        if (i === 0) check(c.t0 === now, `chunk ${k}: t0 ${c.t0}, clock ${now}`);
        const op = c.op[i];
        check(op === OP_OPEN || op === OP_RELEASE || op === OP_FORGET, `row ${row}: op ${op}`);
        check(c.nodeid[i] < maxInodes, `row ${row}: nodeid ${c.nodeid[i]}`);
        if (op === OP_FORGET) continue;
        check(c.fh[i] < 40, `row ${row}: fh ${c.fh[i]}`);
        check(c.pid[i] >= PID_BASE && c.pid[i] < PID_BASE + 5, `row ${row}: pid ${c.pid[i]}`);
        if (op !== OP_OPEN) continue;
        check(c.bref[i] < tableAtChunk[k], `row ${row}: bref ${c.bref[i]} before its backing item`);
        check([FOPEN_PASSTHROUGH, FOPEN_DIRECT_IO, 0].includes(c.fopen[i]), `row ${row}: fopen ${c.fopen[i]}`);
      }
    });
    expect(problems).toEqual([]);
  });

  it("describes its initial backing files plausibly and distinctly", () => {
    const { table } = collect({ events: 10, seed: 5, inodes: 2_000 });
    expect(table).toHaveLength(2_000);
    expect(table[42].path).toBe("/data/f000042");
    expect(new Set(table.map((f) => f.ino)).size).toBe(2_000);
    expect(new Set(table.map((f) => Buffer.from(f.digest).toString("hex"))).size).toBe(2_000);
    for (const f of table) {
      expect(f.dev).toBe(BACKING_DEV);
      expect(f.digest).toBeInstanceOf(Uint8Array);
      expect(f.digest.length).toBe(32);
      expect(f.size).toBeGreaterThanOrEqual(1024);
      expect(f.size).toBeLessThanOrEqual(2 ** 30);
    }
  });
});

describe("synth: the reference model accepts the stream", () => {
  const configs: [string, SynthOptions][] = [
    ["defaults, few inodes", { events: 40_000, seed: 1, inodes: 2_000, chunkRows: 9_999 }],
    ["busy: forgets, replacements, re-downloads", SMALL],
    ["mixed replies, few fh slots", { ...SMALL, seed: 2, maxOpenFiles: 24, directIoFraction: 0.2, cachedFraction: 0.2, writeFraction: 0.5 }],
    ["long-lived opens, heavy skew", { ...SMALL, seed: 3, meanOpenEvents: 2_000, skew: 1.4, maxOpenFiles: 300 }],
    ["every idle inode forgotten at once", { ...SMALL, seed: 4, forgetRate: 1, events: 5_001 }],
  ];

  it.each(configs)("%s: zero anomalies, nothing open at the end, invariants hold", (_, options) => {
    const { maxInodes, maxFiles } = synthLimits(options);
    let session: ReferenceSession | undefined;
    for (const item of synth(options)) {
      // Streamed as a consumer would: the first item builds the table, later ones extend it before their chunk.
      if (item.backing && !session) session = new ReferenceSession(item.backing, { policies: ["ptr", "inode"], daemon: "per-inode", maxInodes, maxFiles });
      else if (item.backing) session!.addBacking(item.backing);
      else session!.feed(item.chunk!);
    }
    const outcomes = session!.outcomes();
    for (const policy of ["ptr", "inode"] as const) {
      const o = outcomes[policy]!;
      expect(o.events).toBe(options.events);
      expect(o.anomalies).toBe(0);
      expect(o.open_at_end).toBe(0);
      expect(o.releases).toBe(o.opens);
      expect(o.restarts).toBe(0);
    }
    expect(outcomes.ptr!.forgets).toBeGreaterThan(0);
    expect(session!.invariantViolations()).toEqual([]);
  });

  it("replays with zero anomalies under every policy", () => {
    const { table, chunks } = collect(SMALL);
    const session = new ReferenceSession(table, { policies: POLICIES, daemon: "per-inode", ...synthLimits(SMALL) });
    for (const c of chunks) session.feed(c);
    for (const o of Object.values(session.outcomes())) {
      expect(o.anomalies).toBe(0);
      expect(o.open_at_end).toBe(0);
    }
  });
});

describe("synth: the workload has the features that matter", () => {
  it("reuses a forgotten nodeid for another file", () => {
    const { table, chunks } = collect(SMALL);
    const fileOf = new Map<number, string>(); // nodeid → path of the file it names
    const forgotten = new Map<number, string>(); // nodeid → path it named when forgotten
    let byOther = 0;
    let bySame = 0;
    for (const r of rows(chunks)) {
      if (r.op === OP_FORGET) {
        forgotten.set(r.nodeid, fileOf.get(r.nodeid)!);
        fileOf.delete(r.nodeid);
      } else if (r.op === OP_OPEN) {
        const path = table[r.bref].path;
        const was = fileOf.get(r.nodeid);
        if (was !== undefined) expect(path).toBe(was); // a looked-up nodeid names one file
        if (forgotten.has(r.nodeid)) {
          if (forgotten.get(r.nodeid) === path) bySame++;
          else byOther++;
          forgotten.delete(r.nodeid);
        }
        fileOf.set(r.nodeid, path);
      }
    }
    expect(byOther).toBeGreaterThan(100);
    expect(bySame).toBe(0);
  });

  it("opens popular inodes several times at once", () => {
    const { chunks } = collect({ events: 50_000, seed: 8 });
    const openOn = new Map<number, number>();
    const fhNode = new Map<number, number>();
    let opens = 0;
    let overlapping = 0;
    let maxAtOnce = 0;
    for (const r of rows(chunks)) {
      if (r.op === OP_OPEN) {
        const n = openOn.get(r.nodeid) ?? 0;
        opens++;
        if (n > 0) overlapping++;
        openOn.set(r.nodeid, n + 1);
        maxAtOnce = Math.max(maxAtOnce, n + 1);
        fhNode.set(r.fh, r.nodeid);
      } else if (r.op === OP_RELEASE) {
        const nodeid = fhNode.get(r.fh)!;
        expect(r.nodeid).toBe(nodeid);
        openOn.set(nodeid, openOn.get(nodeid)! - 1);
      }
    }
    expect(overlapping / opens).toBeGreaterThan(0.02);
    expect(maxAtOnce).toBeGreaterThanOrEqual(3);
  });

  /** Backing entries after the initial table, each with the entry its file had before (by path). */
  function laterVersions(options: SynthOptions) {
    const { table, chunks } = collect(options);
    const initial = options.inodes!;
    const latest = new Map<string, TraceBackingFile>(table.slice(0, initial).map((f) => [f.path, f]));
    const inos = new Set(table.slice(0, initial).map((f) => f.ino));
    const pairs: { before: TraceBackingFile; after: TraceBackingFile; newIno: boolean }[] = [];
    for (const f of table.slice(initial)) {
      pairs.push({ before: latest.get(f.path)!, after: f, newIno: !inos.has(f.ino) });
      inos.add(f.ino);
      latest.set(f.path, f);
    }
    // The generation that made a version also opens it: each new bref is named by an open.
    const named = new Set<number>();
    for (const r of rows(chunks)) if (r.op === OP_OPEN) named.add(r.bref);
    for (let b = initial; b < table.length; b++) expect(named.has(b)).toBe(true);
    return pairs;
  }

  it("a replacement is a new backing inode with a new digest", () => {
    const pairs = laterVersions({ ...SMALL, replaceRate: 0.02, redownloadRate: 0 });
    expect(pairs.length).toBeGreaterThan(100);
    const seen = new Set<string>();
    for (const { before, after, newIno } of pairs) {
      expect(before).toBeDefined();
      expect(newIno).toBe(true);
      expect(after.digest).not.toEqual(before.digest);
      const hex = Buffer.from(after.digest).toString("hex");
      expect(seen.has(hex)).toBe(false); // every replacement is new content
      seen.add(hex);
    }
  });

  it("a re-download is a new backing inode with the same digest", () => {
    const pairs = laterVersions({ ...SMALL, replaceRate: 0, redownloadRate: 0.02 });
    expect(pairs.length).toBeGreaterThan(100);
    for (const { before, after, newIno } of pairs) {
      expect(newIno).toBe(true);
      expect(after.digest).toEqual(before.digest);
      expect(after.size).toBe(before.size);
    }
  });

  it("follows its knobs: lifetimes, gaps, writers, reply flags", () => {
    const options: SynthOptions = { events: 200_000, seed: 9, inodes: 5_000, meanOpenEvents: 40, meanGapUs: 7, writeFraction: 0.25, directIoFraction: 0.1, cachedFraction: 0.05, forgetRate: 0 };
    const { chunks } = collect(options);
    const openedAt = new Map<number, number>();
    let index = 0;
    let lifetimes = 0;
    let releases = 0;
    let opens = 0;
    let writers = 0;
    let direct = 0;
    let cached = 0;
    let gaps = 0;
    for (const r of rows(chunks)) {
      gaps += r.dt;
      if (r.op === OP_OPEN) {
        opens++;
        openedAt.set(r.fh, index);
        if ((r.oflags & O_ACCMODE) !== 0) writers++;
        if (r.fopen === FOPEN_DIRECT_IO) direct++;
        if (r.fopen === 0) cached++;
      } else if (r.op === OP_RELEASE) {
        releases++;
        lifetimes += index - openedAt.get(r.fh)!;
      }
      index++;
    }
    expect(lifetimes / releases).toBeGreaterThan(40 * 0.9);
    expect(lifetimes / releases).toBeLessThan(40 * 1.1);
    expect(gaps / (options.events - 1)).toBeGreaterThan(7 * 0.97);
    expect(gaps / (options.events - 1)).toBeLessThan(7 * 1.03);
    expect(writers / opens).toBeCloseTo(0.25, 1);
    expect(direct / opens).toBeCloseTo(0.1, 1);
    expect(cached / opens).toBeCloseTo(0.05, 1);
  });
});

describe("synth: the Zipf sampler", () => {
  it("draws ranks with probability ∝ (k+1)^-s", () => {
    const n = 50;
    const s = 1.1;
    const z = new ZipfSampler(n, s);
    const rng = new Xoshiro128(123);
    const draws = 1_000_000;
    const counts = new Float64Array(n);
    for (let i = 0; i < draws; i++) counts[z.sample(rng)]++;
    let norm = 0;
    for (let k = 0; k < n; k++) norm += Math.pow(k + 1, -s);
    for (let k = 0; k < n; k++) {
      const expected = (draws * Math.pow(k + 1, -s)) / norm;
      expect(Math.abs(counts[k] - expected)).toBeLessThan(5 * Math.sqrt(expected) + 1); // 5 sigma
    }
  });

  it("is uniform at skew 0", () => {
    const z = new ZipfSampler(10, 0);
    const rng = new Xoshiro128(5);
    const counts = new Float64Array(10);
    for (let i = 0; i < 100_000; i++) counts[z.sample(rng)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });
});

describe("synth: option checks", () => {
  const good: SynthOptions = { events: 10, seed: 1 };
  const bad: [string, Record<string, unknown>][] = [
    ["events", { events: 0 }],
    ["events", { events: -5 }],
    ["events", { events: 1.5 }],
    ["events", { events: Number.NaN }],
    ["events", { events: undefined }],
    ["seed", { seed: Number.NaN }],
    ["seed", { seed: 0.5 }],
    ["inodes", { inodes: 0 }],
    ["inodes", { inodes: -1 }],
    ["skew", { skew: -0.1 }],
    ["skew", { skew: Number.POSITIVE_INFINITY }],
    ["meanOpenEvents", { meanOpenEvents: 0.5 }],
    ["maxOpenFiles", { maxOpenFiles: 0 }],
    ["concurrentOpeners", { concurrentOpeners: 2.5 }],
    ["writeFraction", { writeFraction: 1.5 }],
    ["replaceRate", { replaceRate: -0.001 }],
    ["redownloadRate", { redownloadRate: Number.NaN }],
    ["forgetRate", { forgetRate: 2 }],
    ["directIoFraction", { directIoFraction: 1.01 }],
    ["cachedFraction", { cachedFraction: -1 }],
    ["directIoFraction", { directIoFraction: 0.6, cachedFraction: 0.6 }],
    ["replaceRate", { replaceRate: 0.7, redownloadRate: 0.7 }],
    ["chunkRows", { chunkRows: 0 }],
    ["meanGapUs", { meanGapUs: -1 }],
    ["inodes", { inodes: "100" }],
    ["bogus", { bogus: 1 }],
  ];

  it.each(bad)("rejects a bad %s with one line naming it", (name, change) => {
    const options = { ...good, ...change } as SynthOptions;
    const problem = validateSynthOptions(options);
    expect(problem).toContain(`"${name}"`);
    expect(problem).not.toContain("\n");
    expect(() => synth(options)).toThrow(RangeError);
  });

  it("accepts good options, edge values included", () => {
    expect(validateSynthOptions(good)).toBeNull();
    expect(validateSynthOptions({ ...good, seed: -7, skew: 0, writeFraction: 1, forgetRate: 1, directIoFraction: 0.5, cachedFraction: 0.5, meanGapUs: 0 })).toBeNull();
  });
});
