// The help is made from the commands' own option specs: every command answers --help with every option it parses
// and that option's default, and `fbreplay --help` holds them all. In-process, through main().
import { afterEach, describe, expect, it, vi } from "vitest";
import { COMMANDS, main } from "../src/cli/main.js";
import { parseCommand } from "../src/cli/command.js";

function stdoutOf(argv: string[]): Promise<{ status: number; out: string }> {
  let out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => { out += String(chunk); return true; });
  return main(argv).then((status) => ({ status, out }));
}

afterEach(() => vi.restoreAllMocks());

describe("help", () => {
  for (const command of COMMANDS) {
    it(`fbreplay ${command.name} --help lists every option with its default`, async () => {
      const { status, out } = await stdoutOf([command.name, "--help"]);
      expect(status).toBe(0);
      expect(out).toContain(`usage: fbreplay ${command.name}`);
      for (const [name, spec] of Object.entries(command.options)) {
        expect(out, name).toMatch(new RegExp(`--${name}\\b`));
        if (spec.default !== undefined) expect(out.replace(/\s+/g, " "), name).toContain(`(default ${spec.default})`);
      }
    });
  }

  it("fbreplay --help holds every command's options", async () => {
    const { status, out } = await stdoutOf(["--help"]);
    expect(status).toBe(0);
    for (const command of COMMANDS) {
      expect(out).toContain(`usage: fbreplay ${command.name}`);
      for (const name of Object.keys(command.options)) expect(out).toContain(`--${name}`);
    }
  });

  it("parses exactly the options the help lists", () => {
    const replay = COMMANDS.find((c) => c.name === "replay")!;
    expect(parseCommand(replay, ["t.fbt", "--scale", "2", "--json"]).values).toMatchObject({ scale: "2", json: true });
    expect(() => parseCommand(replay, ["t.fbt", "--no-such-option"])).toThrow(/Unknown option '--no-such-option'/);
  });
});
