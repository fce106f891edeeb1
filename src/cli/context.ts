// What every command may need from the process: the package's version, and Ctrl-C.
import { readFileSync } from "node:fs";

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** What Ctrl-C prints (scripts/fuzz tells it from a command's own lines by this text). */
export const INTERRUPT_NOTICE = "fbreplay: interrupted, stopping at the next chunk (Ctrl-C again to quit now)";

/** Ctrl-C stops at the next chunk boundary; a second Ctrl-C exits at once. */
export function onInterrupt(): () => boolean {
  let interrupted = false;
  process.once("SIGINT", () => {
    interrupted = true;
    process.stderr.write(`\n${INTERRUPT_NOTICE}\n`);
    process.once("SIGINT", () => process.exit(130));
  });
  return () => interrupted;
}
