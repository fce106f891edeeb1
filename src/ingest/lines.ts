// Reading a log line by line as a stream: a plain file or, when its name ends in `.gz`, a gzip stream. Nothing
// holds more than one read block and the current partial line, so logs of any length fit in memory, and every
// byte is looked at once: the time is linear in the log, however long its lines.
import { createReadStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { createGunzip } from "node:zlib";

/**
 * Longest line read, in characters. Log lines of libfuse and strace (`-s 256`) are a few hundred characters; a
 * longer one is not a log line of any kind we read, and holding it would cost memory without bound.
 */
export const MAX_LINE_CHARS = 1 << 20;

/** A line longer than MAX_LINE_CHARS: the caller names the file. */
export class LineTooLong extends Error {
  constructor(readonly line: number) {
    super(`line ${line} is longer than ${MAX_LINE_CHARS} characters without a line end: not a log of this kind`);
    this.name = "LineTooLong";
  }
}

/** `\n`, `\r\n`, or a bare `\r` (some tools end lines with it) ends a line. */
const LINE_END = /\r\n?|\n/g;

/**
 * The lines of `path` without their line ends (`\n`, `\r\n` or a bare `\r`). `onBytes` receives the number of file
 * bytes read so far (compressed bytes for a `.gz`), for progress. Read errors, and a truncated or corrupt gzip
 * stream, are thrown from the iteration (readline is not used because it drops its input's errors).
 */
export async function* readLines(path: string, onBytes?: (bytesRead: number) => void): AsyncGenerator<string> {
  const file = createReadStream(path, { highWaterMark: 1 << 16 });
  let bytes = 0;
  file.on("data", (b) => {
    bytes += b.length;
    onBytes?.(bytes);
  });
  let input: NodeJS.ReadableStream & AsyncIterable<Buffer> = file;
  if (path.endsWith(".gz")) {
    const gunzip = createGunzip();
    // pipe() does not forward errors: a read error of the file must end the gunzip stream we iterate.
    file.on("error", (e) => gunzip.destroy(e));
    input = file.pipe(gunzip);
  }
  const decoder = new StringDecoder("utf8");
  // The current line's text so far, in pieces: joined once when its end comes (appending and rescanning one
  // growing string is quadratic in the line's length).
  let pieces: string[] = [];
  let partialChars = 0;
  let lineNo = 0;
  /** The previous block ended in `\r`: a `\n` starting this one belongs to that line end. */
  let skipLf = false;
  const take = (piece: string) => {
    partialChars += piece.length;
    if (partialChars > MAX_LINE_CHARS) throw new LineTooLong(lineNo + 1);
    if (piece.length > 0) pieces.push(piece);
  };
  const finish = (): string => {
    const line = pieces.length === 1 ? pieces[0] : pieces.join("");
    pieces = [];
    partialChars = 0;
    lineNo++;
    return line;
  };
  try {
    for await (const block of input) {
      let text = decoder.write(block);
      if (skipLf && text.startsWith("\n")) text = text.slice(1);
      if (text.length > 0) skipLf = false;
      let start = 0;
      LINE_END.lastIndex = 0;
      for (let m = LINE_END.exec(text); m !== null; m = LINE_END.exec(text)) {
        take(text.slice(start, m.index));
        yield finish();
        start = m.index + m[0].length;
        if (m[0] === "\r" && start === text.length) skipLf = true;
      }
      take(text.slice(start));
    }
    take(decoder.end());
    if (partialChars > 0) yield finish();
  } finally {
    file.destroy();
  }
}
