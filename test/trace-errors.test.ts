// The .fbt reader on bad input: one test per kind of error it reports (traces/FORMAT.md, "What a reader reports"),
// each a one-line TraceError naming the file and the place.
import { readFile, rm, writeFile } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { pack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { OP_RELEASE } from "../src/abi.js";
import { encodeTrailer } from "../src/trace/format.js";
import { TraceError, chunkCrc32, openTrace, type TraceFooter } from "../src/trace/index.js";
import {
  assemble, backingBytes, backingFile, expectTraceError, flipInChunk1, footerFor, headerBytes, rawChunk, rawTrace, readAll,
  sampleTrace, smallChunk, tmpFile, useTmpDir, valuesOf,
} from "./trace-helpers.js";

useTmpDir();

describe("bad input", () => {
  it("reports truncation at every cut point before any replay", async () => {
    const path = await sampleTrace();
    const bytes = await readFile(path);
    const headerEnd = valuesOf(bytes)[0].end;
    for (let cut = 0; cut < bytes.length; cut++) {
      const cutPath = tmpFile();
      await writeFile(cutPath, bytes.subarray(0, cut));
      let err: unknown;
      try {
        await openTrace(cutPath); // fails up front: no items() needed
      } catch (e) {
        err = e;
      }
      expect(err, `cut at ${cut}`).toBeInstanceOf(TraceError);
      const { where, message } = err as TraceError;
      expect(where).toBe(cut < headerEnd ? "byte 0" : "trailer");
      expect(message).toMatch(cut === 0 ? /empty file/ : cut < headerEnd ? /ends inside the header \(truncated\)/ : /truncated/);
      expect(message.startsWith(`${cutPath}: ${where}: `)).toBe(true);
      await rm(cutPath);
    }
  });

  it("reports a flipped byte in a column as a CRC mismatch of that chunk, after yielding the good ones", async () => {
    const { bad, chunk1 } = await flipInChunk1(await sampleTrace(), 3, 0x40); // inside the last column (dt) of chunk 1
    for (const blockBytes of [undefined, 3]) {
      const yielded = await expectTraceError(bad, `chunk 1 (byte ${chunk1.start})`, /CRC-32 of the columns is 0x[0-9a-f]{8}, the chunk says 0x[0-9a-f]{8}/, blockBytes);
      expect(yielded).toEqual([0]);
    }
  });

  it("reports a chunk CRC that differs from the footer's list", async () => {
    const a = smallChunk(3, 0, 2);
    const b = smallChunk(3, 10, 2, 1);
    const footer = footerFor([a, b], 2, { chunk_crc32: [chunkCrc32(a), (chunkCrc32(b) ^ 1) >>> 0] });
    const path = await rawTrace([rawChunk(0, a), rawChunk(1, b)], footer);
    const at = valuesOf(await readFile(path))[3].start;
    expect(await expectTraceError(path, `chunk 1 (byte ${at})`, /CRC-32 0x[0-9a-f]{8} differs from the footer's 0x[0-9a-f]{8} for this chunk/)).toEqual([0]);
  });

  it("reports a corrupt footer through the trailer's CRC", async () => {
    const path = await sampleTrace();
    const bytes = await readFile(path);
    const footer = valuesOf(bytes).at(-1)!;
    bytes[footer.end - 1] ^= 1;
    await writeFile(path, bytes);
    await expectTraceError(path, `footer (byte ${footer.start})`, /CRC-32 of the footer is .* the trailer says .* \(corrupt\)/);
  });

  it("reports a wrong trailer magic, and a file that is not a trace", async () => {
    const path = await sampleTrace();
    const bytes = await readFile(path);
    bytes.write("XXXX", bytes.length - 4, "latin1");
    await writeFile(path, bytes);
    await expectTraceError(path, "trailer", /no "FBTR" trailer at the end of the file \(found "XXXX"\)/);

    const text = tmpFile();
    await writeFile(text, "hello, world\n");
    await expectTraceError(text, "byte 0", /not an fbreplay trace/);

    const other = await rawTrace([], footerFor([], 0), 0, headerBytes({ format: "something-else" }));
    await expectTraceError(other, "byte 0", /not an fbreplay trace: format is "something-else", expected "fbreplay-trace"/);

    const notMap = tmpFile();
    await writeFile(notMap, assemble([pack([1, 2, 3])], footerFor([], 0)));
    await expectTraceError(notMap, "byte 0", /not an fbreplay trace: the first value is not a header map/);
  });

  it("carries the footer's optional ambiguous_releases; a trace without it reads as not saying; a bad one is an error", async () => {
    const a = smallChunk(3, 0, 2);
    const older = await openTrace(await rawTrace([rawChunk(0, a)], footerFor([a], 2)));
    expect(older.footer.ambiguous_releases).toBeUndefined();
    const said = await openTrace(await rawTrace([rawChunk(0, a)], footerFor([a], 2, { ambiguous_releases: 3 })));
    expect(said.footer.ambiguous_releases).toBe(3);
    const bad = await rawTrace([rawChunk(0, a)], footerFor([a], 2, { ambiguous_releases: -1 }));
    const footerAt = valuesOf(await readFile(bad)).at(-1)!.start;
    await expectTraceError(bad, `footer (byte ${footerAt})`, /ambiguous_releases must be a non-negative integer, got -1/);
  });

  it("carries the footer's optional ambiguous_ids (ids given by order) the same way", async () => {
    const a = smallChunk(3, 0, 2);
    expect((await openTrace(await rawTrace([rawChunk(0, a)], footerFor([a], 2)))).footer.ambiguous_ids).toBeUndefined();
    expect((await openTrace(await rawTrace([rawChunk(0, a)], footerFor([a], 2, { ambiguous_ids: 4 })))).footer.ambiguous_ids).toBe(4);
    const bad = await rawTrace([rawChunk(0, a)], footerFor([a], 2, { ambiguous_ids: 1.5 }));
    const footerAt = valuesOf(await readFile(bad)).at(-1)!.start;
    await expectTraceError(bad, `footer (byte ${footerAt})`, /ambiguous_ids must be a non-negative integer, got 1.5/);
  });

  it("reports an unknown version", async () => {
    const path = await rawTrace([], footerFor([], 0), 0, headerBytes({ version: 99 }));
    await expectTraceError(path, "byte 0", /unknown version 99: this reader reads versions 1 and 2/);
  });

  it("reports malformed msgpack and items that are not chunk or backing maps", async () => {
    const footer = footerFor([], 2);
    const bad = await rawTrace([Buffer.from([0xc1])], footer); // 0xc1 is never used in msgpack
    const at = valuesOf(await readFile(await rawTrace([], footer))).at(-1)!.start; // where the item starts
    await expectTraceError(bad, `item at byte ${at}`, /expected a map/);
    const badKey = await rawTrace([Buffer.from([0x81, 0xd4, 0x05, 0x00, 0x01])], footer); // unknown ext type 5
    await expectTraceError(badKey, `item at byte ${at}`, /malformed msgpack: Unknown extension 5/);
    const unknown = await rawTrace([pack({ kind: "comment", text: "hi" })], footer);
    await expectTraceError(unknown, `item at byte ${at}`, /unknown item kind string "comment"/);
    const runsPast = await rawTrace([Buffer.from([0x81, 0xa1, 0x78, 0xc6, 0, 0, 1, 0])], footer); // bin of 256 bytes
    await expectTraceError(runsPast, `item at byte ${at}`, /x: a bin of 256 bytes runs past byte/);
  });

  it("reports inconsistent column lengths and columns of the wrong type", async () => {
    const c = smallChunk(4, 0, 2);
    const footer = footerFor([c], 2);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ nodeid: Buffer.alloc(12) }, /inconsistent column lengths: column nodeid has 12 bytes, expected 4 × 4 rows = 16/],
      [{ op: Buffer.alloc(5) }, /inconsistent column lengths: column op has 5 bytes, expected 1 × 4 rows = 4/],
      [{ length: 5 }, /inconsistent column lengths: column op has 4 bytes, expected 1 × 5 rows = 5/],
      [{ fh: [1, 2, 3, 4] }, /column fh is an array, expected a bin/],
      [{ dt: "abcd" }, /column dt is string "abcd", expected a bin/],
      [{ pid: null }, /column pid is nil, expected a bin/],
      [{ t0: -1 }, /t0 is number -1, expected a non-negative integer/],
      [{ index: 1 }, /index field is 1, expected 0/],
    ];
    for (const [overrides, reason] of cases) {
      const path = await rawTrace([rawChunk(0, c, overrides)], footer);
      const at = valuesOf(await readFile(path))[2].start;
      expect(await expectTraceError(path, `chunk 0 (byte ${at})`, reason)).toEqual([]);
    }
  });

  it("reports a bref beyond the backing table at that point", async () => {
    const c = smallChunk(4, 0, 3); // row 2 opens bref 2
    const path = await rawTrace([rawChunk(0, c)], footerFor([c], 2), 2);
    const at = valuesOf(await readFile(path))[2].start;
    await expectTraceError(path, `chunk 0 (byte ${at})`, /row 2: references backing file 2 but the backing table has 2 entries at this point/);

    // The entry exists, but only after the chunk.
    const late = tmpFile();
    const files = [0, 1, 2].map(backingFile);
    await writeFile(late, assemble([headerBytes(), backingBytes(0, files.slice(0, 2)), rawChunk(0, c), backingBytes(2, files.slice(2))], footerFor([c], 3)));
    await expectTraceError(late, `chunk 0 (byte ${at})`, /references backing file 2/);

    // A backing extension that does not start at the end of the table.
    const gap = tmpFile();
    await writeFile(gap, assemble([headerBytes(), backingBytes(0, files.slice(0, 2)), backingBytes(3, files.slice(2))], footerFor([], 3)));
    await expectTraceError(gap, `backing extension (byte ${at})`, /first is number 3, but the backing table has 2 entries here/);

    // RELEASE rows carry no reference: their bref is not checked.
    const rel = smallChunk(2, 0, 1);
    rel.op.fill(OP_RELEASE);
    rel.bref.fill(77);
    const ok = await rawTrace([rawChunk(0, rel)], footerFor([rel], 0), 0);
    expect((await readAll(ok)).items.length).toBe(1);
  });

  it("reports events out of order", async () => {
    const a = smallChunk(5, 100, 2); // last event at 104
    const b = smallChunk(3, 103, 2);
    const path = await rawTrace([rawChunk(0, a), rawChunk(1, b)], footerFor([a, b], 2));
    const at = valuesOf(await readFile(path))[3].start;
    const yielded = await expectTraceError(path, `chunk 1 (byte ${at})`, /events out of order: t0 103 us is earlier than the previous chunk's last event at 104 us/);
    expect(yielded).toEqual([0]);
  });

  it("reports counts that differ from the footer at the end", async () => {
    const a = smallChunk(3, 0, 2);
    const b = smallChunk(3, 10, 2);
    const cases: [Partial<TraceFooter>, RegExp][] = [
      [{ events: 7 }, /the footer says events = 7 but the file holds 6/],
      [{ backing_files: 3 }, /the footer says backing_files = 3 but the file holds 2/],
      [{ max_fh: 9 }, /the footer says max_fh = 9 but the file holds 2/],
      [{ duration_us: 1 }, /the footer says duration_us = 1 but the file holds 12/],
      [{ chunks: 3, chunk_crc32: [chunkCrc32(a), chunkCrc32(b), 5] }, /the footer says chunks = 3 but the file holds 2/],
    ];
    for (const [overrides, reason] of cases) {
      const path = await rawTrace([rawChunk(0, a), rawChunk(1, b)], footerFor([a, b], 2, overrides));
      const footerAt = valuesOf(await readFile(path)).at(-1)!.start;
      expect(await expectTraceError(path, `footer (byte ${footerAt})`, reason)).toEqual([0, 1]);
    }
    // More chunks than the footer lists: caught at the extra chunk.
    const path = await rawTrace([rawChunk(0, a), rawChunk(1, b)], footerFor([a], 2));
    const at = valuesOf(await readFile(path))[3].start;
    await expectTraceError(path, `chunk 1 (byte ${at})`, /more chunks than the footer's 1/);
    // A footer whose list and count disagree is rejected up front.
    const inconsistent = await rawTrace([rawChunk(0, a)], footerFor([a], 2, { chunks: 2 }));
    await expectTraceError(inconsistent, `footer (byte ${valuesOf(await readFile(inconsistent)).at(-1)!.start})`, /chunk_crc32 lists 1 CRCs for 2 chunks/);
  });

  it("reports trailing garbage and values after the footer", async () => {
    const path = await sampleTrace();
    const bytes = await readFile(path);
    const appended = tmpFile();
    await writeFile(appended, Buffer.concat([bytes, Buffer.from("garbage")]));
    await expectTraceError(appended, "trailer", /truncated, has bytes appended, or is not an fbreplay trace/);

    // A value between the footer and the trailer, the trailer still pointing at the footer.
    const values = valuesOf(bytes);
    const footer = values.at(-1)!;
    const footerBytes = bytes.subarray(footer.start, footer.end);
    const extra = pack({ kind: "chunk" });
    const between = tmpFile();
    const trailer = encodeTrailer({ footerOffset: footer.start, footerLength: footerBytes.length, footerCrc32: crc32(footerBytes) });
    await writeFile(between, Buffer.concat([bytes.subarray(0, footer.end), extra, trailer]));
    await expectTraceError(between, `footer (byte ${footer.start})`, new RegExp(`unexpected values after the footer: ${extra.length} bytes before the trailer`));

    // A footer length that takes in a second value.
    const covering = tmpFile();
    const both = Buffer.concat([footerBytes, extra]);
    await writeFile(covering, Buffer.concat([bytes.subarray(0, footer.start), both, encodeTrailer({ footerOffset: footer.start, footerLength: both.length, footerCrc32: crc32(both) })]));
    await expectTraceError(covering, `footer (byte ${footer.start})`, new RegExp(`unexpected values after the footer: ${extra.length} bytes`));
  });
});

