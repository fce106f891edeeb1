// The conflict scenarios of spec §d as small built-in traces. In each, a first passthrough file F1 (opened
// read-write, so a second page cache would be unsafe) is still open when the scenario's open F2 arrives;
// the scenario's outcome is F2's.
import { FOPEN_PASSTHROUGH, OP_FORGET, OP_OPEN, OP_RELEASE, OP_RESTART } from "../abi.js";
import { textTable } from "../table.js";
import {
  POLICIES, createSession, eventColumns,
  type BackingFile, type DaemonModel, type EngineName, type EventRow, type Outcomes, type Policy,
} from "../replay/index.js";

const O_RDWR = 2;

function digest(fill: number): Uint8Array {
  return new Uint8Array(32).fill(fill);
}

/** The backing files the scenarios name, by bref. */
export const SCENARIO_BACKING: readonly BackingFile[] = [
  { dev: 8, ino: 100, digest: digest(0xa1) }, // 0: A
  { dev: 8, ino: 101, digest: digest(0xa1) }, // 1: A re-downloaded: new inode, same bytes
  { dev: 8, ino: 102, digest: digest(0xc3) }, // 2: C: another file, other bytes
  { dev: 8, ino: 100, digest: digest(0xa2) }, // 3: A rewritten in place: same inode, new bytes
];
const A = 0, A_REDOWNLOADED = 1, C = 2, A_REWRITTEN = 3;

export interface Scenario {
  name: string;
  description: string;
  daemon: DaemonModel;
  /** What happens between F1's open and F2's. */
  between: EventRow[];
  /** The backing file F2's open names. */
  f2: number;
}

export const SCENARIOS: readonly Scenario[] = [
  { name: "S1", description: "normal re-open, same daemon, same id", daemon: "per-inode", between: [], f2: A },
  { name: "S1′", description: "same file registered twice, different ids, same daemon", daemon: "per-open", between: [], f2: A },
  { name: "S2", description: "daemon restart, same backing file, new id", daemon: "per-inode", between: [{ op: OP_RESTART }], f2: A },
  { name: "S3", description: "backing deleted and re-downloaded, identical content (new inode)", daemon: "per-inode", between: [], f2: A_REDOWNLOADED },
  { name: "S4a", description: "replaced by different content, new inode", daemon: "per-inode", between: [], f2: C },
  // The daemon registers the rewritten file anew: passthrough_hp would reuse its id for the same inode.
  { name: "S4b", description: "rewritten in place (same inode), new id", daemon: "per-open", between: [], f2: A_REWRITTEN },
  { name: "S5", description: "two different files on the same fuse inode at the same time", daemon: "per-open", between: [], f2: C },
];

export function scenarioEvents(s: Scenario): EventRow[] {
  return [
    { op: OP_OPEN, nodeid: 1, fh: 0, bref: A, oflags: O_RDWR, fopen: FOPEN_PASSTHROUGH },
    ...s.between,
    { op: OP_OPEN, nodeid: 1, fh: 1, bref: s.f2, fopen: FOPEN_PASSTHROUGH },
    { op: OP_RELEASE, fh: 1 },
    { op: OP_RELEASE, fh: 0 },
    { op: OP_FORGET, nodeid: 1 },
  ];
}

export interface ScenarioCell {
  result: "ok" | "EIO";
  /** The kernel's internal error behind the EIO, or null when the open succeeded. */
  internal: "EBUSY" | "ETXTBSY" | "EINVAL" | "ENOENT" | "EIO" | null;
  /** F2 reaches another backing inode than the inode's cached one while a writer is open (two page caches). */
  unsafe: boolean;
  /** F2 is served a backing file other than the one the daemon named, with other content. */
  stale: boolean;
}

export type ScenarioTable = Record<string, Record<Policy, ScenarioCell>>;

function cell(o: Outcomes): ScenarioCell {
  const internal = o.ebusy ? "EBUSY" : o.etxtbsy ? "ETXTBSY" : o.einval ? "EINVAL" : o.enoent ? "ENOENT" : o.eio_mode ? "EIO" : null;
  return { result: o.eio > 0 ? "EIO" : "ok", internal, unsafe: o.unsafe > 0, stale: o.stale > 0 };
}

export interface ScenarioRun {
  table: ScenarioTable;
  /** Broken invariants after each scenario (expected: none). */
  violations: string[];
}

export function runScenarios(engine: EngineName, policies: readonly Policy[] = POLICIES): ScenarioRun {
  const table: ScenarioTable = {};
  const violations: string[] = [];
  for (const s of SCENARIOS) {
    const session = createSession(engine, SCENARIO_BACKING, {
      policies, daemon: s.daemon, maxInodes: 4, maxFiles: 4,
    });
    session.feed(eventColumns(scenarioEvents(s)));
    violations.push(...session.invariantViolations().map((v) => `${s.name} ${v}`));
    const outcomes = session.outcomes();
    table[s.name] = Object.fromEntries(policies.map((p) => [p, cell(outcomes[p]!)])) as Record<Policy, ScenarioCell>;
  }
  return { table, violations };
}

export function formatScenarioTable(table: ScenarioTable, policies: readonly Policy[] = POLICIES): string {
  const text = (c: ScenarioCell) =>
    c.result === "ok" ? ["ok", c.unsafe ? "unsafe" : "", c.stale ? "stale" : ""].filter(Boolean).join(" ") : `${c.internal}→EIO`;
  const rows = [["scenario", ...policies], ...Object.entries(table).map(([name, cells]) => [name, ...policies.map((p) => text(cells[p]))])];
  const legend = SCENARIOS.map((s) => `  ${s.name.padEnd(4)} ${s.description}`).join("\n");
  return [...textTable(rows, { left: "all" }), "", legend].join("\n");
}
