// The options that change what a trace's events are before they are replayed (src/replay/inject.ts), and the
// memory budget, as replay and advise both take them: one spec, one parser, checked by the library's own rule.
import { validateInjectOptions, type InjectOptions } from "../replay/index.js";
import type { OptionSpec } from "./command.js";
import { UsageError, count, parseBytes, rate, seed } from "./options.js";

/** Specs of the shared options; `redownloadRate` is the command's default rate (replay 0, advise npm start's). */
export function injectionOptions(redownloadRate: number): Record<string, OptionSpec> {
  return {
    "close-ids": { type: "boolean", help: "restarts close every old id first, with BACKING_CLOSE_ALL (otherwise old ids stay registered, as after a crash)" },
    "redownload-rate": { type: "string", value: "P", default: redownloadRate, help: "per open, probability the file was deleted and re-downloaded (new inode, same bytes)" },
    "replace-rate": { type: "string", value: "P", default: 0, help: "per open, probability the file was replaced by new content (new inode)" },
    scale: { type: "string", value: "K", default: 1, help: "replay K copies over disjoint inode namespaces, interleaved" },
    seed: { type: "string", value: "S", default: 1, help: "seed of the injections: same trace + options + seed = same counts" },
    "max-memory": {
      type: "string", value: "SIZE", default: "a quarter of the RAM, at most 3G",
      help: "memory the replays running at once may take, e.g. 512M or 2G: a trace whose policies do not fit together is replayed in policy groups that do, and a policy that alone does not fit is refused before it starts",
    },
  };
}

export type Injection = InjectOptions & { seed: number; maxMemory?: number };

/**
 * The shared options' values, with the command's own restarts (`restarts`) and default rate, checked as the library
 * checks them (one line, exit 2).
 */
export function parseInjection(values: Record<string, unknown>, restarts: Pick<InjectOptions, "restartEvery" | "restartAt" | "restartBeforeOpen">, redownloadRate?: number): Injection {
  const text = (k: string) => values[k] as string | undefined;
  const injection: Injection = {
    ...restarts,
    closeAll: values["close-ids"] as boolean | undefined,
    redownloadRate: rate(text("redownload-rate"), "redownload-rate") ?? redownloadRate,
    replaceRate: rate(text("replace-rate"), "replace-rate"),
    scale: count(text("scale"), "scale"),
    seed: seed(text("seed"), "seed") ?? 1,
    maxMemory: parseBytes(text("max-memory"), "max-memory"),
  };
  const bad = validateInjectOptions(injection);
  if (bad !== undefined) throw new UsageError(bad);
  return injection;
}
