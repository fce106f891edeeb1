// What a replay's tables cost, checked against a memory budget before anything is allocated. The figures come from
// a validated footer (trace/format.ts checks it against the file's size; the reader holds every row to it) and,
// for a sparse id space, from the compact ids (trace/dense.ts): never from a raw value of the file.
import { totalmem } from "node:os";
import type { EngineName } from "../engine.js";

const MIB = 1 << 20;

/**
 * Default budget: a quarter of the machine's RAM, and never more than the wasm core can address (its heap is one
 * 32-bit linear memory: 4 GiB, of which the tables get at most 3).
 */
export const WASM_TABLE_LIMIT = 3 * 1024 * MIB;
export function defaultMaxMemory(): number {
  return Math.min(Math.floor(totalmem() / 4), WASM_TABLE_LIMIT);
}

/**
 * Bytes per table entry and policy (assembly/layout.ts: fuse inode 64 + daemon inode 16, fuse file 32, backing
 * reference 8 + digest 32 + backing inode 24 + content slot 4; the reference model's objects, measured roughly at
 * several times that).
 */
const COST: Record<EngineName, { inode: number; file: number; backing: number }> = {
  wasm: { inode: 80, file: 32, backing: 72 },
  js: { inode: 320, file: 160, backing: 200 },
};

/** Fixed costs: the core's event buffer (1 Mi rows × 25 bytes) and the injector's output, with headroom. */
const FIXED_BYTES = 96 * MIB;

export interface ReplaySizes {
  /** Table entries per policy, after scaling. */
  inodes: number;
  files: number;
  /** Backing-table entries after scaling (injections add to them as they go). */
  backingFiles: number;
  policies: number;
}

/** The bytes a replay of these sizes needs, about. */
export function replayBytes(engine: EngineName, s: ReplaySizes): number {
  const c = COST[engine];
  return FIXED_BYTES + s.policies * (s.inodes * c.inode + s.files * c.file) + s.backingFiles * c.backing;
}

/** A reason when the replay would exceed `budget` bytes (or what the wasm core can address), else undefined. */
export function overBudget(engine: EngineName, s: ReplaySizes, budget: number): string | undefined {
  const bytes = replayBytes(engine, s);
  const limit = engine === "wasm" ? Math.min(budget, WASM_TABLE_LIMIT) : budget;
  if (bytes <= limit && s.inodes <= 0xffffffff && s.files <= 0xffffffff) return undefined;
  const mib = (n: number) => `${Math.ceil(n / MIB)} MiB`;
  const what = `${s.inodes} inodes and ${s.files} files under ${s.policies} policies, ${s.backingFiles} backing files`;
  return bytes > limit && limit < budget
    ? `replaying ${what} needs about ${mib(bytes)}, more than the wasm core addresses (${mib(limit)}); use a smaller --scale`
    : `replaying ${what} needs about ${mib(bytes)}, more than --max-memory ${mib(limit)}`;
}
