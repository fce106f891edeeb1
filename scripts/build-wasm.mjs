// Builds the three cores (asconfig.json targets release, debug, shared), then gives release and shared a second
// binaryen pass that inlines more than asc's -O3 does (functions with loops, and larger ones with one caller):
// measured 6–12% fewer ns per event on the synthetic replay, interleaved A/B (bench/README.md). The debug build
// keeps asc's output so its assertions map to the source.
//
// Nothing is rebuilt when the inputs are those of the last build (a hash of them is kept beside the cores): `npm
// start` and `npm test` build first, and three optimised builds take a minute and ~300 MB.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
const run = (cmd, args) => execFileSync(process.execPath, [cmd, ...args], { cwd: root, stdio: "inherit" });
const asc = "node_modules/assemblyscript/bin/asc.js";
const wasmOpt = "node_modules/binaryen/bin/wasm-opt";
const FEATURES = ["--enable-threads", "--enable-simd", "--enable-bulk-memory", "--enable-sign-ext", "--enable-mutable-globals", "--enable-nontrapping-float-to-int"];
const INLINING = ["-O3", "--inline-functions-with-loops", "--one-caller-inline-max-function-size", "400", "--flexible-inline-max-function-size", "100", "--always-inline-max-function-size", "20"];
const OUTPUTS = ["build/fbreplay.wasm", "build/fbreplay.debug.wasm", "build/fbreplay.shared.wasm"];
const STAMP = "build/fbreplay.wasm.inputs";

/** The sources (the core imports src/abi.ts), the build's configuration and this script, and the compilers' versions. */
function inputsHash() {
  const hash = createHash("sha256");
  const files = [
    ...readdirSync(`${root}assembly`).filter((f) => f.endsWith(".ts") || f.endsWith(".json")).sort().map((f) => `assembly/${f}`),
    "src/abi.ts", "asconfig.json", "scripts/build-wasm.mjs",
    "node_modules/assemblyscript/package.json", "node_modules/binaryen/package.json",
  ];
  for (const f of files) hash.update(`${f}\0`).update(readFileSync(`${root}${f}`)).update("\0");
  return hash.digest("hex");
}

const want = inputsHash();
const have = existsSync(`${root}${STAMP}`) ? readFileSync(`${root}${STAMP}`, "utf8").trim() : "";
if (want === have && OUTPUTS.every((f) => existsSync(`${root}${f}`))) {
  console.log("wasm cores up to date");
} else {
  for (const target of ["release", "debug", "shared"]) {
    run(asc, ["assembly/index.ts", "--target", target]);
    if (target === "debug") continue;
    const file = target === "release" ? "build/fbreplay.wasm" : "build/fbreplay.shared.wasm";
    run(wasmOpt, [file, ...FEATURES, ...INLINING, "-o", file]);
  }
  writeFileSync(`${root}${STAMP}`, `${want}\n`);
}
