// The help is made from the commands' own option specs: every command answers --help with every option it parses
// and that option's default, and `fbreplay --help` holds them all. In-process, through main().
import { afterEach, describe, expect, it, vi } from "vitest";
import { COMMANDS, main } from "../src/cli/main.js";
import { flushNotices, parseCommand } from "../src/cli/command.js";

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
        if (spec.required) expect(out.replace(/\s+/g, " "), name).toMatch(new RegExp(`--${name}\\b[^]*?\\(required\\)`));
        // A value option says what it is when absent: a default ("none" when off), required, or a default in its text.
        if (spec.type === "string") expect(spec.default !== undefined || spec.required || /\(default[: ]/.test(spec.help), `--${name} states no default`).toBe(true);
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

describe("one name per concept", () => {
  it("replay --ids and record --ids name the daemon model; the old spellings still work for one release, saying so", async () => {
    const errs: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => { errs.push(String(chunk)); return true; });
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const replay = COMMANDS.find((c) => c.name === "replay")!;
    expect(parseCommand(replay, ["t.fbt", "--daemon", "per-open", "--close-all"]).values).toMatchObject({ ids: "per-open", "close-ids": true });
    expect(parseCommand(replay, ["t.fbt", "--daemon=recorded"]).values).toMatchObject({ ids: "recorded" });
    expect(errs).toEqual([]); // said once the command has run (flushNotices), so that a failure stays one line
    flushNotices();
    expect(errs.join("")).toMatch(/replay --daemon is deprecated .* use --ids\n.*replay --close-all is deprecated .* use --close-ids\n/s);
    const record = COMMANDS.find((c) => c.name === "record")!;
    expect(parseCommand(record, ["--model", "per-open", "-o", "x", "--", "sh", "--model"]).values).toMatchObject({ ids: "per-open" });
    expect(parseCommand(record, ["-o", "x", "--", "sh", "--model"]).rest).toEqual(["sh", "--model"]);
    expect(await main(["replay", "traces/c-build.fbt", "--ids", "per-open", "--policy", "ptr", "--json"])).toBe(0);
  });
});
