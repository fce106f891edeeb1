// Shared by the ingest tests: a temporary directory per test file, the trace an ingest wrote as rows, its replay
// under every policy with the reference model, and independent checks of a log against the trace.
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { OP_OPEN, OP_RELEASE } from "../src/abi.js";
import { ingestLibfuseDebug, type IngestOptions, type IngestSummary } from "../src/ingest/index.js";
import { POLICIES, ReferenceSession } from "../src/replay/index.js";
import { openTrace, type TraceBackingFile } from "../src/trace/index.js";

const FIXTURES = join(import.meta.dirname, "fixtures");
export const fixture = (name: string) => join(FIXTURES, name);

/** A temporary directory made before the calling file's tests and removed after them. */
export class TmpDir {
  dir = "";
  private n = 0;
  constructor(prefix: string) {
    beforeAll(async () => { this.dir = await mkdtemp(join(tmpdir(), prefix)); });
    afterAll(async () => { await rm(this.dir, { recursive: true, force: true }); });
  }
  /** A fresh file name in it. */
  file(suffix: string): string {
    return join(this.dir, `f${this.n++}${suffix}`);
  }
}

export interface Row { op: number; nodeid: number; fh: number; bref: number; oflags: number; fopen: number; pid: number }
export interface Trace { rows: Row[]; backing: TraceBackingFile[]; chunks: number }

export async function readTrace(path: string): Promise<Trace> {
  const reader = await openTrace(path);
  const rows: Row[] = [];
  const backing: TraceBackingFile[] = [];
  let chunks = 0;
  for await (const item of reader.items()) {
    if (item.kind === "backing") {
      // Each extension comes before the first chunk naming its entries (the reader checks it too).
      expect(item.first).toBe(backing.length);
      backing.push(...item.files);
      continue;
    }
    chunks++;
    const c = item.chunk;
    for (let i = 0; i < c.length; i++) {
      rows.push({ op: c.op[i], nodeid: c.nodeid[i], fh: c.fh[i], bref: c.bref[i], oflags: c.oflags[i], fopen: c.fopen[i], pid: c.pid[i] });
    }
  }
  return { rows, backing, chunks };
}

/** Replays the trace under every policy with the reference model; returns the anomalies and files left open. */
export async function replay(path: string): Promise<{ anomalies: number; openAtEnd: number; violations: string[] }> {
  const reader = await openTrace(path);
  const session = new ReferenceSession([], {
    policies: POLICIES, daemon: "per-inode",
    maxInodes: reader.footer.max_nodeid + 1, maxFiles: reader.footer.max_fh + 1,
  });
  for await (const item of reader.items()) {
    if (item.kind === "backing") session.addBacking(item.files);
    else session.feed(item.chunk);
  }
  const outcomes = Object.values(session.outcomes());
  return {
    anomalies: outcomes.reduce((sum, o) => sum + o.anomalies, 0),
    openAtEnd: outcomes.reduce((sum, o) => sum + o.open_at_end, 0),
    violations: session.invariantViolations(),
  };
}

/** Ingests `log` into `output` and reads the trace back. */
export async function ingestTo(output: string, log: string, extra: Partial<IngestOptions> = {}): Promise<{ summary: IngestSummary; trace: Trace; output: string }> {
  const summary = await ingestLibfuseDebug({ log, output, ...extra });
  return { summary, trace: await readTrace(output), output };
}

/** Independent count of what the log says: request headers and successful / failed OPEN+CREATE replies. */
export function scanLog(text: string): { requests: number; opens: number; failedOpens: number } {
  const opcodes = new Map<string, string>();
  let requests = 0, opens = 0, failedOpens = 0;
  for (const line of text.split("\n")) {
    const req = /^(?:dev )?unique: (\d+), opcode: (\S+)/.exec(line);
    if (req) {
      requests++;
      opcodes.set(req[1], req[2]);
      continue;
    }
    const rep = /^\s*(?:dev )?unique: (\d+), (success|error)/.exec(line);
    if (rep && (opcodes.get(rep[1]) === "OPEN" || opcodes.get(rep[1]) === "CREATE")) {
      if (rep[2] === "success") opens++;
      else failedOpens++;
    }
  }
  return { requests, opens, failedOpens };
}

/** Every OPEN's fh slot is free when it opens and released exactly once afterwards; no row names a free slot. */
export function checkPairing(rows: Row[]): void {
  const open = new Set<number>();
  for (const r of rows) {
    if (r.op === OP_OPEN) {
      expect(open.has(r.fh)).toBe(false);
      open.add(r.fh);
    } else if (r.op === OP_RELEASE) {
      expect(open.delete(r.fh)).toBe(true);
    }
  }
  expect(open.size).toBe(0);
}

export const count = (rows: Row[], op: number) => rows.filter((r) => r.op === op).length;
export const sha256 = (s: string) => new Uint8Array(createHash("sha256").update(s).digest());
