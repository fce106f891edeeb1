// Facts written once: the C port's header of constants and layouts is generated from src/abi.ts and
// assembly/layout.ts, and the committed copy must be exactly what the generator makes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script, no type declarations
import { HEADER, generate, translate } from "../scripts/gen-c-abi.mjs";

describe("bench/c-core/abi.h", () => {
  it("is what scripts/gen-c-abi.mjs makes from src/abi.ts and assembly/layout.ts", () => {
    expect(readFileSync(HEADER as string, "utf8"), "run node scripts/gen-c-abi.mjs").toBe((generate as () => string)());
  });

  it("follows a changed constant, and names what the C side must rename or cannot take", () => {
    const t = translate as (source: string, ts: string) => string;
    const abi = readFileSync("src/abi.ts", "utf8");
    expect(t("src/abi.ts", abi)).toContain("#define C_EIO 11\n");
    expect(t("src/abi.ts", abi.replace("export const C_EIO = 11;", "export const C_EIO = 12;"))).toContain("#define C_EIO 12\n");
    expect(t("src/abi.ts", abi)).toContain("#define EBUSY_ 16\n"); // libc's EBUSY is a macro
    expect(t("assembly/layout.ts", "export const FI_SIZE: usize = 64;\nexport const UNTRACKED: i32 = -1;\n"))
      .toBe("/* ==== assembly/layout.ts ==== */\n#define FI_SIZE 64u\n#define UNTRACKED (-1)");
    expect(() => t("src/abi.ts", "export const A = 1;\nexport const POLICIES = [1, 2];\n")).toThrow(/src\/abi\.ts:2: not a constant/);
  });
});
