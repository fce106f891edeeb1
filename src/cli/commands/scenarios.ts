// fbreplay scenarios: the policy × scenario table of spec §d.
import { ENGINES, POLICIES, type EngineName, type Policy } from "../../replay/index.js";
import { formatScenarioTable, runScenarios } from "../../scenarios/index.js";
import type { Command } from "../command.js";
import { parseChoice, parseList } from "../options.js";

export const scenarios: Command = {
  name: "scenarios",
  usage: "scenarios [--policy P,...] [--engine wasm|js] [--json]",
  summary: "replay the conflict scenarios S1–S5 of the kernel spec (§d) under every policy and print the policy × scenario table",
  options: {
    policy: { type: "string", value: "P,...", default: POLICIES.join(","), help: "policies to run" },
    engine: { type: "string", value: "wasm|js", default: "wasm", help: "the AssemblyScript core or the TypeScript reference model" },
    json: { type: "boolean", help: 'print {"<scenario>": {"<policy>": {result, internal, unsafe, stale}}}' },
  },
  run({ values }) {
    const policies: Policy[] = parseList(values.policy as string | undefined, POLICIES, "policy");
    const run = runScenarios(parseChoice<EngineName>(values.engine as string | undefined, ENGINES, "engine", "wasm"), policies);
    if (run.violations.length > 0) throw new Error(`model invariants broken: ${run.violations.join("; ")}`);
    process.stdout.write(values.json ? `${JSON.stringify(run.table, null, 2)}\n` : `${formatScenarioTable(run.table, policies)}\n`);
    return 0;
  },
};
