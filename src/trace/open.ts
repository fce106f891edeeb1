// Opening a .fbt file: the header, trailer and footer are read and checked up front, before any item (FORMAT.md,
// "What a reader reports"); the body is then streamed by TraceReader.items().
import { open } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { ByteSource, DEFAULT_BLOCK_BYTES, MAX_HEADER_BYTES, Malformed, decodeFirst, isMapType, readValue, type Decoded } from "./bytes.js";
import { TRAILER_SIZE, checkFooter, checkHeader, decodeTrailer, footerOf, headerOf, oneLine } from "./format.js";
import { checkFooterFigures } from "./checks.js";
import { TraceReader, hex } from "./reader.js";
import { TraceError } from "./types.js";

export interface OpenTraceOptions {
  /** Read-ahead block size (tests use tiny blocks to cut values at every boundary). */
  blockBytes?: number;
  /**
   * Reuse the buffers of a chunk's columns for later chunks: a yielded chunk's columns are then valid only until the
   * consumer asks for the next item. For consumers that copy them out at once (the replay copies each chunk into
   * the core): a fresh buffer per column and chunk costs page faults and garbage collection, measured as the
   * largest part of reading a trace (bench/README.md). Default false.
   */
  reuseBuffers?: boolean;
}

/** Opens a trace and checks its header, trailer and footer; the body is checked as items() streams it. */
export async function openTrace(path: string, options: OpenTraceOptions = {}): Promise<TraceReader> {
  const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
  const fail = (where: string, reason: string) => new TraceError(path, where, oneLine(reason));
  const fh = await open(path, "r");
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) throw fail("the file", stat.isDirectory() ? "is a directory, not a trace" : "is not a regular file");
    const size = stat.size;

    // Header first: a file that is not a trace at all should say so, not complain about its trailer.
    const src = new ByteSource(fh, 0, size, blockBytes);
    let header: unknown;
    try {
      if (size === 0) throw new Malformed("empty file (truncated, or not an fbreplay trace)");
      await src.fill(1);
      const first = src.window()[0];
      if (!isMapType(first)) throw new Malformed("the first value is not a header map");
      header = await readValue(src, MAX_HEADER_BYTES);
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
      const truncated = e.message.startsWith("a value runs past");
      throw fail("byte 0", truncated ? "the file ends inside the header (truncated)" : `not an fbreplay trace: ${e.message}`);
    }
    const badHeader = checkHeader(header);
    if (badHeader !== undefined) throw fail("byte 0", badHeader);
    const bodyStart = src.pos;

    if (size - bodyStart < TRAILER_SIZE) {
      throw fail("trailer", `the file is ${size} bytes: no room for the ${TRAILER_SIZE}-byte trailer after the header (truncated)`);
    }
    const trailerBytes = Buffer.alloc(TRAILER_SIZE);
    await fh.read(trailerBytes, 0, TRAILER_SIZE, size - TRAILER_SIZE);
    const trailer = decodeTrailer(trailerBytes);
    if (typeof trailer === "string") throw fail("trailer", trailer);
    const { footerOffset, footerLength } = trailer;
    const footerEnd = footerOffset + footerLength;
    if (footerOffset < bodyStart || footerEnd > size - TRAILER_SIZE) {
      throw fail("trailer", `footer at byte ${footerOffset} of ${footerLength} bytes lies outside the body (bytes ${bodyStart}–${size - TRAILER_SIZE})`);
    }
    const where = `footer (byte ${footerOffset})`;
    if (footerEnd < size - TRAILER_SIZE) {
      throw fail(where, `unexpected values after the footer: ${size - TRAILER_SIZE - footerEnd} bytes before the trailer`);
    }
    const footerBytes = Buffer.alloc(footerLength);
    await fh.read(footerBytes, 0, footerLength, footerOffset);
    if (crc32(footerBytes) !== trailer.footerCrc32) {
      throw fail(where, `CRC-32 of the footer is ${hex(crc32(footerBytes))}, the trailer says ${hex(trailer.footerCrc32)} (corrupt)`);
    }
    let decoded: Decoded;
    try {
      decoded = decodeFirst(footerBytes);
    } catch (e) {
      throw e instanceof Malformed ? fail(where, e.message) : e;
    }
    if (decoded === "incomplete") throw fail(where, "the footer value is cut short");
    if (decoded.end < footerLength) throw fail(where, `unexpected values after the footer: ${footerLength - decoded.end} bytes`);
    const badFooter = checkFooter(decoded.value);
    if (badFooter !== undefined) throw fail(where, badFooter);
    const footer = footerOf(decoded.value as Record<string, unknown>);
    const badFigures = checkFooterFigures(footer, footerOffset - bodyStart);
    if (badFigures !== undefined) throw fail(where, badFigures);
    return new TraceReader(
      path, size, headerOf(header as Record<string, unknown>), footer, bodyStart, footerOffset, blockBytes, options.reuseBuffers ?? false,
    );
  } finally {
    await fh.close();
  }
}
