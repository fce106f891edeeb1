// Reading a log line by line as a stream: a plain file or, when its name ends in `.gz`, a gzip stream. Nothing
// holds more than one read block and the current partial line, so logs of any length fit in memory.
import { createReadStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { createGunzip } from "node:zlib";

/**
 * The lines of `path` without their `\n` (and a trailing `\r`). `onBytes` receives the number of file bytes read
 * so far (compressed bytes for a `.gz`), for progress. Read errors, and a truncated or corrupt gzip stream, are
 * thrown from the iteration (readline is not used because it drops its input's errors).
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
  let partial = "";
  try {
    for await (const block of input) {
      const text = partial + decoder.write(block);
      let start = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
        yield stripCr(text.slice(start, nl));
        start = nl + 1;
      }
      partial = text.slice(start);
    }
    const rest = partial + decoder.end();
    if (rest.length > 0) yield stripCr(rest);
  } finally {
    file.destroy();
  }
}

function stripCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}
