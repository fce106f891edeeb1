#!/usr/bin/env node
// fbreplay's command line: it parses arguments and wires the stages together, nothing else.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ENGINES, POLICIES, type EngineName, type Policy } from "../replay/index.js";
import { formatScenarioTable, runScenarios } from "../scenarios/index.js";

const HELP = `fbreplay: what each FUSE passthrough conflict policy does to a workload, and what it costs

usage: fbreplay <command> [options]

commands:
  scenarios      replay the conflict scenarios S1–S5 of the kernel spec (§d) under every policy and
                 print the policy × scenario table
  help           this text

options of scenarios:
  --json                 print {"<scenario>": {"<policy>": {result, internal, unsafe, stale}}}
  --engine wasm|js       the AssemblyScript core (default) or the TypeScript reference model
  --policy P,...         policies to run (default: ${POLICIES.join(",")})

policies:
  ptr     mainline: the new open's fuse_backing must be the inode's cached object
  inode   the v2/v3 relaxed check: same backing inode
  digest  same backing inode, or same 32-byte content digest (hypothetical)
  reuse   FOPEN_PASSTHROUGH_INODE_CACHE: reuse the inode's cached backing, ignore the id (RFC 2/2)
  lookup  backing attached at LOOKUP, opens reply with backing id 0 (P4b, Amir's variant)

exit status: 0 on success, 2 on bad usage or bad input, 1 on an internal error.`;

class UsageError extends Error {}

function parseList<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] {
  if (value === undefined) return [...allowed];
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new UsageError(`unknown ${what} '${item}' (one of: ${allowed.join(", ")})`);
  }
  if (items.length === 0) throw new UsageError(`--${what} needs at least one value`);
  return items as T[];
}

function parseEngine(value: string | undefined): EngineName {
  if (value === undefined) return "wasm";
  if (!ENGINES.includes(value as EngineName)) throw new UsageError(`unknown engine '${value}' (one of: ${ENGINES.join(", ")})`);
  return value as EngineName;
}

function scenariosCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: "boolean", default: false },
      engine: { type: "string" },
      policy: { type: "string" },
    },
    strict: true,
  });
  const policies: Policy[] = parseList(values.policy, POLICIES, "policy");
  const run = runScenarios(parseEngine(values.engine), policies);
  if (run.violations.length > 0) {
    throw new Error(`model invariants broken: ${run.violations.join("; ")}`);
  }
  process.stdout.write(values.json ? `${JSON.stringify(run.table, null, 2)}\n` : `${formatScenarioTable(run.table, policies)}\n`);
  return 0;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export function main(argv: string[]): number {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "scenarios": return scenariosCommand(rest);
      case undefined: case "help": case "--help": case "-h":
        process.stdout.write(`${HELP}\n`);
        return 0;
      case "--version": case "version":
        process.stdout.write(`fbreplay ${version()}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command '${command}'; see 'fbreplay --help'`);
    }
  } catch (err) {
    const e = err as Error & { code?: string };
    if (err instanceof UsageError || e.code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`fbreplay: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`fbreplay: ${e.message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
