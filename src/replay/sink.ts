// Where the trace reader puts a chunk's columns when the wasm core replays it: two slots of the core's own memory,
// so the column bins land there from the file (no copy through a JS buffer, no JS loop over the rows) and the
// reader's row checks run in the core (assembly/scan.ts). The session replays a placed chunk where it landed.
import type { EventColumns } from "../events.js";
import type { ChunkSink, SinkScan } from "../trace/types.js";
import type { ColumnName, RecordedColumnName } from "../trace/format.js";
import type { RowLimits } from "../trace/checks.js";
import { VERDICT_MAX } from "../trace/types.js";

/** The core's exports the slots need (assembly/index.ts). */
export interface SinkCore {
  host_alloc(bytes: number): number;
  scan_rows(
    op: number, nodeid: number, fh: number, bref: number, bid: number, verdict: number, dt: number, n: number,
    backingFiles: number, maxNodeid: number, maxFh: number, maxVerdict: number,
  ): number;
  scanMaxNodeid: WebAssembly.Global;
  scanMaxFh: WebAssembly.Global;
  scanElapsed: WebAssembly.Global;
}

/** A slot's columns: two u8 columns, then eight u32 ones, each 64-byte aligned. */
const U8_COLUMNS = ["op", "verdict"] as const;
const U32_COLUMNS = ["nodeid", "fh", "bref", "oflags", "fopen", "bid", "pid", "dt"] as const;
type SlotColumn = ColumnName | RecordedColumnName;

/** The addresses of one slot's columns, for the core's replay_columns. */
export interface SlotColumns {
  op: number; nodeid: number; fh: number; bref: number; oflags: number; fopen: number; bid: number;
}

/** One chunk's room: its base address, rows, and the rows of its bid column a chunk with recorded ids wrote. */
interface Slot {
  base: number;
  capacity: number;
  bidRows: number;
}

export class CoreChunkSink implements ChunkSink {
  /** Every slot made; a slot number is an index here, so a chunk's number stays valid when larger slots are made. */
  private readonly slots: Slot[] = [];
  /** The two slots handed out in turn. */
  private pair: [number, number] = [-1, -1];
  private turn = 0;

  constructor(private readonly core: SinkCore, private readonly memory: WebAssembly.Memory) {}

  /**
   * One of two slots of the largest chunk so far, in turn. A larger chunk takes two new slots (the core's heap never
   * frees; a trace's chunks are nearly all one size); one the core cannot make room for goes to the reader's buffers.
   */
  reserve(rows: number): number {
    if (this.pair[0] < 0 || rows > this.slots[this.pair[0]].capacity) {
      const bytes = slotBytes(rows);
      const a = this.core.host_alloc(bytes);
      const b = a === 0 ? 0 : this.core.host_alloc(bytes);
      if (a === 0 || b === 0) return -1;
      this.slots.push({ base: a, capacity: rows, bidRows: 0 }, { base: b, capacity: rows, bidRows: 0 });
      this.pair = [this.slots.length - 2, this.slots.length - 1];
    }
    this.turn ^= 1;
    return this.pair[this.turn];
  }

  column(slot: number, name: SlotColumn, rows: number): Uint8Array {
    if (name === "bid") this.slots[slot].bidRows = Math.max(this.slots[slot].bidRows, rows);
    const size = (U8_COLUMNS as readonly string[]).includes(name) ? 1 : 4;
    return new Uint8Array(this.memory.buffer, this.address(slot, name), rows * size);
  }

  scan(slot: number, rows: number, recorded: { bid: boolean; verdict: boolean }, limits: RowLimits): SinkScan {
    // No row is within maxima of -1 (a footer without events): the reader's own scan words it.
    if (limits.maxNodeid < 0 || limits.maxFh < 0) return { badRow: 0, maxNodeid: -1, maxFh: -1, elapsed: 0 };
    const at = (name: SlotColumn) => this.address(slot, name);
    const badRow = this.core.scan_rows(
      at("op"), at("nodeid"), at("fh"), at("bref"), recorded.bid ? at("bid") : 0, recorded.verdict ? at("verdict") : 0, at("dt"),
      rows, limits.backingFiles, limits.maxNodeid, limits.maxFh, VERDICT_MAX,
    );
    return {
      badRow,
      maxNodeid: Number(this.core.scanMaxNodeid.value),
      maxFh: Number(this.core.scanMaxFh.value),
      elapsed: this.core.scanElapsed.value as number,
    };
  }

  /** A chunk's event columns in `slot`, as views of the memory as it is now (the injector reads them there). */
  events(slot: number, rows: number): EventColumns {
    const buf = this.memory.buffer;
    const u32 = (name: SlotColumn) => new Uint32Array(buf, this.address(slot, name), rows);
    return {
      length: rows, op: new Uint8Array(buf, this.address(slot, "op"), rows), nodeid: u32("nodeid"), fh: u32("fh"), bref: u32("bref"),
      oflags: u32("oflags"), fopen: u32("fopen"),
    };
  }

  /** The columns of `slot` for the core to replay; a chunk without recorded ids gets zeros in the bid column. */
  replayColumns(slot: number, hasBid: boolean): SlotColumns {
    const at = (name: SlotColumn) => this.address(slot, name);
    const s = this.slots[slot];
    if (!hasBid && s.bidRows > 0) {
      new Uint32Array(this.memory.buffer, at("bid"), s.bidRows).fill(0);
      s.bidRows = 0;
    }
    return { op: at("op"), nodeid: at("nodeid"), fh: at("fh"), bref: at("bref"), oflags: at("oflags"), fopen: at("fopen"), bid: at("bid") };
  }

  private address(slot: number, name: SlotColumn): number {
    const { base, capacity } = this.slots[slot];
    const u8 = align64(capacity);
    const k = (U8_COLUMNS as readonly string[]).indexOf(name);
    if (k >= 0) return base + k * u8;
    return base + 2 * u8 + (U32_COLUMNS as readonly string[]).indexOf(name) * align64(capacity * 4);
  }
}

function align64(n: number): number {
  return Math.ceil(n / 64) * 64;
}

function slotBytes(rows: number): number {
  return 2 * align64(rows) + U32_COLUMNS.length * align64(rows * 4);
}
