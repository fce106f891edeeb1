// Seeded generators and mutators shared by the fuzz targets: numbers worth trying, and byte and line mutations.
import { sfc32 } from "../../dist/rng.js";

/** A seeded source of choices. */
export class Rng {
  constructor(seed) {
    this.next = sfc32(seed >>> 0);
  }
  /** Integer in [0, n). */
  int(n) {
    return Math.floor(this.next() * n);
  }
  chance(p) {
    return this.next() < p;
  }
  pick(list) {
    return list[this.int(list.length)];
  }
}

/** u32 values that find off-by-ones and overflows. */
export const INTERESTING_U32 = [0, 1, 2, 7, 8, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

export function interestingU32(rng) {
  return rng.chance(0.7) ? rng.pick(INTERESTING_U32) : (rng.next() * 0x100000000) >>> 0;
}

/** Number-ish strings for log fields and option values. */
export const INTERESTING_TEXT = [
  "-1", "0", "1", "2", "3", "-0", "0.5", "1.5", "1e9", "1e400", "4294967295", "4294967296", "4294967297",
  "18446744073709551615", "18446744073709551616", "9007199254740993", "NaN", "Infinity", "-Infinity", "0x10", "",
  " ", "abc", "99999999999999999999999999", "-9223372036854775808",
];

/** Byte-level damage: flips, truncation, insertion, deletion, duplication of a span. */
export function mutateBytes(rng, bytes) {
  let b = Buffer.from(bytes);
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds && b.length > 0; r++) {
    const at = rng.int(b.length);
    switch (rng.int(7)) {
      case 0: b[at] ^= 1 << rng.int(8); break;
      case 1: b[at] = rng.int(256); break;
      case 2: b = b.subarray(0, at); break;
      case 3: b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + rng.int(16) }, () => rng.int(256))), b.subarray(at)]); break;
      case 4: b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(64)))]); break;
      case 5: { const len = Math.min(b.length - at, 1 + rng.int(256)); b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]); break; }
      default: { // an interesting u32 written little-endian somewhere
        if (at + 4 <= b.length) b.writeUInt32LE(interestingU32(rng), at);
      }
    }
  }
  return b;
}

/** Line-level damage of a text log; returns the new text. */
export function mutateLines(rng, text) {
  let lines = text.split("\n");
  const rounds = 1 + rng.int(5);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(Math.max(1, lines.length));
    switch (rng.int(12)) {
      case 0: lines.splice(at, 1); break;
      case 1: lines.splice(at, 0, lines[at] ?? ""); break;
      case 2: if (at + 1 < lines.length) [lines[at], lines[at + 1]] = [lines[at + 1], lines[at]]; break;
      case 3: case 4: case 5: { // a number in the line replaced
        const line = lines[at] ?? "";
        const nums = [...line.matchAll(/-?\d+/g)];
        if (nums.length > 0) {
          const m = rng.pick(nums);
          lines[at] = line.slice(0, m.index) + rng.pick(INTERESTING_TEXT) + line.slice(m.index + m[0].length);
        }
        break;
      }
      case 6: lines[at] = (lines[at] ?? "").slice(0, rng.int((lines[at] ?? "").length + 1)); break;
      case 7: lines.splice(at, 0, Buffer.from(Array.from({ length: rng.int(40) }, () => rng.int(256))).toString("latin1")); break;
      case 8: { // a line from elsewhere in the log
        lines.splice(at, 0, lines[rng.int(lines.length)] ?? "");
        break;
      }
      case 9: { // a long line (bounded: the fuzz must stay fast; the tests take the megabyte ones)
        lines.splice(at, 0, "x".repeat(rng.chance(0.1) ? 1 << 20 | rng.int(4096) : rng.int(70000)));
        break;
      }
      case 10: { // requests whose replies never come
        const n = 1 + rng.int(2000);
        const base = 1_000_000 + rng.int(1_000_000);
        lines.splice(at, 0, ...Array.from({ length: n }, (_, i) => `unique: ${base + i}, opcode: OPEN (14), nodeid: ${2 + (i % 7)}, insize: 48, pid: 1`));
        break;
      }
      default: lines = lines.slice(0, at); // truncated log
    }
  }
  let out = lines.join("\n");
  if (rng.chance(0.05)) out = out.replace(/\n/g, "\r");
  else if (rng.chance(0.05)) out = out.replace(/\n/g, "\r\n");
  return out;
}
