// The host side of the AssemblyScript core: builds the backing-file table and one context per policy in the
// core's linear memory, then copies each chunk of event columns in once and replays it under every policy.
import { readFileSync } from "node:fs";
import { COUNTER_SLOTS, ID_MAX_DEFAULT } from "../abi.js";
import { DAEMON_CODE, POLICY_CODE, ReplayMemoryError, outcomesFromCounters, type OutcomesByPolicy, type Policy, type ReplaySession, type SessionOptions } from "../engine.js";
import { type BackingFile, type BackingTable, type EventColumns } from "../events.js";
import { InodeIndex } from "./inode-index.js";
import { CoreChunkSink, type SinkCore } from "./sink.js";

interface CoreExports extends SinkCore {
  backing_reserve(inodes: number, files: number): number;
  backing_sb_new(dev: number): number;
  backing_inode_define(index: number, sb: number, ino: number): void;
  backing_file_add(index: number): number;
  backing_file_share(index: number, digest: number): number;
  events_create(capacity: number): number;
  events_column(k: number): number;
  ctx_create(policy: number, daemon: number, maxInodes: number, maxFiles: number, idMax: number): number;
  ctx_counters(ctx: number): number;
  replay(ctx: number, n: number): number;
  ctx_finish(ctx: number): void;
  ctx_unmount(ctx: number): void;
  ctx_violations(ctx: number): number;
  replay_columns(ctx: number, op: number, nodeid: number, fh: number, bref: number, oflags: number, fopen: number, bid: number, n: number): number;
  firstViolation: WebAssembly.Global;
}

/** release and debug: one thread. shared: the threaded build, on a shared memory that workers instantiate too. */
export type WasmBuild = "release" | "debug" | "shared";

const BUILD_FILES: Record<WasmBuild, string> = {
  release: "../../build/fbreplay.wasm",
  debug: "../../build/fbreplay.debug.wasm",
  shared: "../../build/fbreplay.shared.wasm",
};

/** The shared build's maximum memory in 64 KiB pages: asconfig.json's `maximumMemory` (2 GiB). */
export const SHARED_MAX_PAGES = 32768;

const modules = new Map<WasmBuild, WebAssembly.Module>();

/** The compiled core (compiled once per process). */
export function coreModule(build: WasmBuild = "release"): WebAssembly.Module {
  let mod = modules.get(build);
  if (mod === undefined) {
    const file = new URL(BUILD_FILES[build], import.meta.url);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      throw new Error(`${file.pathname}: the wasm core is not built; run \`npm run build\``);
    }
    mod = new WebAssembly.Module(new Uint8Array(bytes));
    modules.set(build, mod);
  }
  return mod;
}

/**
 * Events copied into wasm memory per call: large enough that per-call cost vanishes (perf notes: ~2.5 ns a call
 * against ~50 ns an event), small enough that the buffer (25 B a row) and the injector's output stay a few MB.
 */
export const CORE_EVENT_ROWS = 1 << 17;

export class WasmReplaySession implements ReplaySession {
  readonly engine = "wasm" as const;
  readonly policies: readonly Policy[];
  private readonly core: CoreExports;
  private readonly memory: WebAssembly.Memory;
  private readonly contexts: number[] = [];
  private readonly elapsed: number[] = [];
  private readonly capacity: number;
  /** Backing-table interning: a super_block pointer per st_dev, an inode index per (st_dev, st_ino). */
  private readonly superBlocks = new Map<number, number>();
  private readonly inodeIndex: InodeIndex;
  private inodeCapacity = 0;
  private brefCount = 0;
  /** Where a digest's bytes already are in the core (0: not yet), by the files' `content` key: the injector keys
   * every scaled copy and re-download of a trace version alike, so they share one 32-byte slot. */
  private digestAt = new Uint32Array(0);
  private brefCapacity = 0;
  /** Rows of the bid column holding recorded ids of an earlier chunk, to clear before a chunk without them. */
  private bidRows = 0;
  private sink: CoreChunkSink | undefined;
  /** A view of the whole memory, made again when the memory grows. */
  private bytes = new Uint8Array(0);

  constructor(table: readonly BackingFile[], private readonly options: SessionOptions, build: WasmBuild = "release", chunkRows = CORE_EVENT_ROWS) {
    this.policies = options.policies;
    // The budget is a hard ceiling: injected re-downloads and replacements grow the tables as the replay goes,
    // past any estimate made up front (./budget.ts), and a grow beyond it fails in the core like any other.
    const budgetPages = options.maxBytes === undefined ? undefined : Math.max(1, Math.floor(options.maxBytes / 65536));
    this.memory = build === "shared"
      ? new WebAssembly.Memory({ initial: 1, maximum: Math.min(SHARED_MAX_PAGES, budgetPages ?? SHARED_MAX_PAGES), shared: true })
      : new WebAssembly.Memory(budgetPages === undefined ? { initial: 1 } : { initial: 1, maximum: Math.min(65536, budgetPages) });
    const abort = (message: number, file: number, line: number, column: number) => {
      throw new Error(`wasm core assertion failed: ${this.readString(message)} at ${this.readString(file)}:${line}:${column}`);
    };
    const instance = new WebAssembly.Instance(coreModule(build), { env: { memory: this.memory, abort } });
    this.core = instance.exports as unknown as CoreExports;
    this.capacity = chunkRows;
    const idMax = options.idMax ?? ID_MAX_DEFAULT;
    for (const policy of this.policies) {
      const ctx = this.core.ctx_create(POLICY_CODE[policy], DAEMON_CODE[options.daemon], options.maxInodes, options.maxFiles, idMax);
      if (ctx === 0) throw new ReplayMemoryError(`the ${policy} context for ${options.maxInodes} inodes and ${options.maxFiles} files`);
      this.contexts.push(ctx);
      this.elapsed.push(0);
    }
    if (this.core.events_create(this.capacity) === 0) throw new ReplayMemoryError(`${this.capacity} event rows`);
    const expected = Math.max(table.length, options.expectedFiles ?? 0);
    this.inodeIndex = new InodeIndex(expected);
    // An eighth more: how many files injected re-downloads and replacements add is only known as they go.
    if (expected > 0) this.reserve(expected + (expected >> 3), expected + (expected >> 3));
    this.addBacking(table);
  }

  /** An AssemblyScript string (UTF-16, byte length stored just before it), for assertion messages. */
  private readString(ptr: number): string {
    if (ptr === 0) return "?";
    const at = ptr >>> 0;
    const bytes = new Uint32Array(this.memory.buffer, at - 4, 1)[0];
    return String.fromCharCode(...new Uint16Array(this.memory.buffer, at, bytes >>> 1));
  }

  addBacking(files: readonly BackingFile[]): void {
    this.reserve(this.inodeIndex.size + files.length, this.brefCount + files.length);
    for (const f of files) this.addFile(f.dev, f.ino, f.digest, 0, f.content ?? -1);
  }

  /** Files as columns (a trace's backing extension), without an object per file: the same table as addBacking. */
  addBackingTable(t: BackingTable): void {
    this.reserve(this.inodeIndex.size + t.count, this.brefCount + t.count);
    const content = t.content;
    for (let i = 0; i < t.count; i++) this.addFile(t.dev[i], t.ino[i], t.digest, i * 32, content === undefined ? -1 : content[i]);
  }

  /**
   * One file version: its backing inode interned by (st_dev, st_ino), its digest copied from digests[at..at+32),
   * or shared with the earlier file of the same `content` key (-1: none).
   */
  private addFile(dev: number, ino: number, digests: Uint8Array, at: number, content: number): void {
    const core = this.core;
    let sb = this.superBlocks.get(dev);
    if (sb === undefined) {
      sb = core.backing_sb_new(dev);
      if (sb === 0) throw new ReplayMemoryError(`super_block of device ${dev}`);
      this.superBlocks.set(dev, sb);
    }
    const inodes = this.inodeIndex.size;
    const index = this.inodeIndex.intern(dev, ino);
    if (index === inodes) core.backing_inode_define(index, sb, ino);
    const known = content >= 0 && content < this.digestAt.length ? this.digestAt[content] : 0;
    const digest = known === 0 ? core.backing_file_add(index) : core.backing_file_share(index, known);
    if (digest === 0) throw new ReplayMemoryError(`backing file ${this.brefCount}`);
    if (known === 0) {
      // One view of the memory while it does not grow (a view per file was most of this function's cost).
      if (this.bytes.buffer !== this.memory.buffer) this.bytes = new Uint8Array(this.memory.buffer);
      this.bytes.set(digests.subarray(at, at + 32), digest >>> 0);
      if (content >= 0) this.shareDigest(content, digest >>> 0);
    }
    this.brefCount++;
  }

  private shareDigest(content: number, digest: number): void {
    if (content >= this.digestAt.length) {
      const grown = new Uint32Array(Math.max(content + 1, this.digestAt.length * 2, 1024));
      grown.set(this.digestAt);
      this.digestAt = grown;
    }
    this.digestAt[content] = digest;
  }

  /** Room in the core's tables, grown by doubling so a trace that extends its table often stays cheap. */
  private reserve(inodes: number, files: number): void {
    if (inodes <= this.inodeCapacity && files <= this.brefCapacity) return;
    const grow = (need: number, have: number) => (need <= have ? have : Math.max(need, have * 2, 1024));
    this.inodeCapacity = grow(inodes, this.inodeCapacity);
    this.brefCapacity = grow(files, this.brefCapacity);
    if (!this.core.backing_reserve(this.inodeCapacity, this.brefCapacity)) {
      throw new ReplayMemoryError(`a backing table of ${this.brefCapacity} files`);
    }
  }

  feed(ev: EventColumns): void {
    for (let start = 0; start < ev.length; start += this.capacity) {
      const n = Math.min(this.capacity, ev.length - start);
      this.copyIn(ev, start, n);
      this.replayEach(n, (ctx) => this.core.replay(ctx, n));
    }
  }

  /** Slots of this memory for the trace reader to read chunks into (ItemsOptions.sink), made at the first call. */
  chunkSink(): CoreChunkSink {
    this.sink ??= new CoreChunkSink(this.core, this.memory);
    return this.sink;
  }

  /** Replays a chunk of `rows` rows the reader put in slot `slot` of chunkSink(), where it is. */
  feedSlot(slot: number, rows: number, hasBid: boolean): void {
    const c = this.chunkSink().replayColumns(slot, hasBid);
    this.replayEach(rows, (ctx) => this.core.replay_columns(ctx, c.op, c.nodeid, c.fh, c.bref, c.oflags, c.fopen, c.bid, rows));
  }

  /** n rows under every policy in turn, each timed. */
  private replayEach(n: number, replay: (ctx: number) => number): void {
    this.contexts.forEach((ctx, i) => {
      const begin = process.hrtime.bigint();
      const done = replay(ctx);
      this.elapsed[i] += Number(process.hrtime.bigint() - begin);
      if (done !== n) throw new ReplayMemoryError("fuse_backing objects and ids");
    });
  }

  private copyIn(ev: EventColumns, start: number, n: number): void {
    const buf = this.memory.buffer;
    const core = this.core;
    const end = start + n;
    // Pointers past 2 GiB: the core's usize is u32, an export's i32 reads negative here.
    const column = (k: number) => core.events_column(k) >>> 0;
    new Uint8Array(buf, column(0), n).set(ev.op.subarray(start, end));
    new Uint32Array(buf, column(1), n).set(ev.nodeid.subarray(start, end));
    new Uint32Array(buf, column(2), n).set(ev.fh.subarray(start, end));
    new Uint32Array(buf, column(3), n).set(ev.bref.subarray(start, end));
    new Uint32Array(buf, column(4), n).set(ev.oflags.subarray(start, end));
    new Uint32Array(buf, column(5), n).set(ev.fopen.subarray(start, end));
    if (ev.bid !== undefined) {
      new Uint32Array(buf, column(6), n).set(ev.bid.subarray(start, end));
      this.bidRows = Math.max(this.bidRows, n);
    } else if (this.bidRows > 0) {
      // Most traces carry no recorded ids: the column stays as fresh memory left it, zero, unless a chunk wrote some.
      new Uint32Array(buf, column(6), this.bidRows).fill(0);
      this.bidRows = 0;
    }
  }

  /** The core's memory and the context replaying `policy`: for workers of the shared build (bench/). */
  get coreMemory(): WebAssembly.Memory {
    return this.memory;
  }

  contextOf(policy: Policy): number {
    const i = this.policies.indexOf(policy);
    if (i < 0) throw new Error(`no ${policy} context in this session`);
    return this.contexts[i];
  }

  private counters(ctx: number): BigInt64Array {
    return new BigInt64Array(this.memory.buffer, this.core.ctx_counters(ctx) >>> 0, COUNTER_SLOTS);
  }

  outcomes(): OutcomesByPolicy {
    const out: OutcomesByPolicy = {};
    this.policies.forEach((policy, i) => {
      this.core.ctx_finish(this.contexts[i]);
      out[policy] = outcomesFromCounters(this.counters(this.contexts[i]));
    });
    return out;
  }

  elapsedNs(): Partial<Record<Policy, number>> {
    return Object.fromEntries(this.policies.map((p, i) => [p, this.elapsed[i]]));
  }

  unmount(): void {
    for (const ctx of this.contexts) this.core.ctx_unmount(ctx);
  }

  invariantViolations(): string[] {
    const lines: string[] = [];
    this.policies.forEach((policy, i) => {
      const broken = this.core.ctx_violations(this.contexts[i]);
      if (broken > 0) lines.push(`${policy}: ${broken} invariant violations (first at nodeid ${this.core.firstViolation.value})`);
    });
    return lines;
  }
}

