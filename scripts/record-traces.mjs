// Records the bundled real traces with `fbreplay record` (bindfs on a real FUSE mount, fbreplay's own daemon with
// real kernel passthrough, or libfuse's passthrough_hp) and writes their provenance into traces/README.md. Run as
// root after `npm run build`, `npm run build:native`, scripts/install-fuse.sh and scripts/build-passthrough-hp.sh:
//   node scripts/record-traces.mjs [NAME ...]      (no NAME: all; --provenance-only: rewrite README/provenance only)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const cli = join(root, "dist/cli/bin.js");
const traces = join(root, "traces");

function sh(cmd) {
  return execFileSync("sh", ["-c", cmd], { encoding: "utf8" }).trim();
}

/** A C project: many units sharing headers, built with make -j2, then rebuilt after touching a few files. */
function cProject(dir) {
  mkdirSync(join(dir, "include"), { recursive: true });
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "include/common.h"), "#pragma once\n#include \"config.h\"\nint unit_value(int);\n");
  writeFileSync(join(dir, "include/config.h"), "#pragma once\n#define SCALE 3\n");
  const units = 500;
  for (let i = 0; i < units; i++) {
    writeFileSync(join(dir, `src/u${i}.c`), `#include "common.h"\nint f${i}(int x) { return x * SCALE + ${i}; }\n`);
  }
  writeFileSync(join(dir, "src/main.c"), `#include <stdio.h>\n#include "common.h"\n${Array.from({ length: units }, (_, i) => `int f${i}(int);`).join("\n")}\nint main(void) { int s = 0; ${Array.from({ length: units }, (_, i) => `s += f${i}(${i});`).join(" ")} printf("%d\\n", s); return 0; }\n`);
  writeFileSync(join(dir, "Makefile"), [
    "SRC := $(wildcard src/*.c)", "OBJ := $(SRC:.c=.o)", "CFLAGS := -O1 -Iinclude -MMD",
    "app: $(OBJ)\n\t$(CC) -o $@ $^", "%.o: %.c\n\t$(CC) $(CFLAGS) -c -o $@ $<", "-include $(OBJ:.o=.d)", "",
  ].join("\n"));
}

/** Small files of text an editor rewrites atomically (write to a temp file, fsync, rename over). */
function editProject(dir) {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 40; i++) writeFileSync(join(dir, `note${i}.md`), `# note ${i}\n${"line\n".repeat(50 + i)}`);
  writeFileSync(join(dir, "edit.mjs"), `
import { openSync, readFileSync, writeFileSync, fsyncSync, closeSync, renameSync } from "node:fs";
// An editor session: every round reads a note, saves it through a temp file renamed over the original, while
// a "viewer" keeps a few notes open for reading across saves (those fds keep the old inode).
// node edit.mjs [ROUNDS]: 30000 rounds by default. A read the kernel refuses (EIO, after a daemon restart while
// the viewer holds the note) is retried at the next round, as an editor would report it and go on.
const rounds = Number(process.argv[2] ?? 30000);
const held = [];
let refused = 0;
const read = (name) => { try { return readFileSync(name, "utf8"); } catch (e) { if (e.code !== "EIO") throw e; refused++; return null; } };
for (let round = 0; round < rounds; round++) {
  const n = (round * 7) % 40;
  const name = "note" + n + ".md";
  if (round % 50 === 0) { try { held.push(openSync(name, "r")); } catch (e) { if (e.code !== "EIO") throw e; refused++; } if (held.length > 4) closeSync(held.shift()); }
  const old = read(name);
  if (old === null) continue;
  const text = old + "edit " + round + "\\n";
  const fd = openSync(name + ".tmp", "w");
  writeFileSync(fd, text);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(name + ".tmp", name);
}
held.forEach(closeSync);
if (refused > 0) console.error(refused + " opens refused with EIO");
`);
}

/** A small npm project whose dependencies are already in the npm cache of this machine. */
function npmProject(dir) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({
    name: "fbreplay-npm-workload", version: "1.0.0", private: true,
    dependencies: { "fast-check": "^4", msgpackr: "^2", tinybench: "^6", typescript: "~5.9", vitest: "^4", assemblyscript: "^0.28" },
    // The registry lacks msgpackr-extract 3.0.7 for some platforms, which `npm ci` refuses (as in our own package.json).
    overrides: { "msgpackr-extract": "3.0.4" },
  }, null, 2));
}

/** Text files from this project's node_modules (small ones), packed as a tarball to extract and put under git. */
function gitProject(dir) {
  mkdirSync(dir, { recursive: true });
  sh(`cd ${root} && find node_modules -type f -size -200k -not -path '*/.bin/*' | head -900 | tar czf ${join(dir, "tree.tar.gz")} -T -`);
}

const WORKLOADS = {
  "git-import": {
    prepare: gitProject,
    command: "tar xzf tree.tar.gz && rm tree.tar.gz && git init -q && git add -A && git -c user.name=fb -c user.email=fb@example.invalid commit -qm import && " +
      "for i in $(seq 1 20); do find node_modules -name '*.json' | head -150 | xargs sed -i \"1s/^/ /\" && git add -A && git -c user.name=fb -c user.email=fb@example.invalid commit -qm round$i && git status --short | wc -l; done && " +
      "git gc -q && git checkout -q HEAD~10 && git checkout -q - && git status --short | wc -l",
    what: "extract ~900 package files, git init/add/commit, 20 rounds of editing 150 files + add/commit/status, gc, checkout back and forth",
  },
  "c-build": {
    prepare: cProject,
    command: "make -s -j2 app && ./app && touch include/config.h && make -s -j2 app && touch src/u7.c src/u99.c && make -s -j2 app && ./app",
    what: "C build of 501 units with make -j2, a full rebuild after a header change, an incremental rebuild",
  },
  "sqlite-journal": {
    prepare: (dir) => mkdirSync(dir, { recursive: true }),
    command: "sqlite3 db 'PRAGMA journal_mode=DELETE; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);' && for i in $(seq 1 4000); do sqlite3 db \"BEGIN; INSERT INTO t(v) VALUES(hex(randomblob(64))); UPDATE t SET v = v || 'x' WHERE k % 7 = $i % 7; COMMIT;\"; done && sqlite3 db 'BEGIN; DELETE FROM t WHERE k % 2 = 0; ROLLBACK; SELECT count(*) FROM t;'",
    what: "4,000 sqlite3 processes, each one transaction in rollback-journal mode, then a rolled-back delete",
  },
  "npm-install": {
    prepare: npmProject,
    command: "npm install --offline --no-audit --no-fund --ignore-scripts --loglevel=error && node -e \"require('fast-check'); require('msgpackr')\" && rm -rf node_modules && npm ci --offline --no-audit --no-fund --ignore-scripts --loglevel=error && npm ls --depth=0 >/dev/null",
    what: "npm install --offline of 6 dependencies from the machine's npm cache, loading two, then npm ci from the lockfile",
  },
  "atomic-edit": {
    prepare: editProject,
    command: "node edit.mjs",
    what: "30,000 editor saves: read, write a temp file, fsync, rename over; a viewer holds some notes open",
  },
  // Native captures: fbreplay's own daemon with real kernel passthrough, restarted for real while files are open.
  "atomic-edit-native": {
    prepare: editProject,
    record: ["--daemon", "native", "--restart-every", "300"],
    command: "node edit.mjs 3000",
    what: "3,000 editor saves as in atomic-edit, on the native passthrough daemon restarted every 300 opens (ids leak)",
  },
  "sqlite-held-native": {
    prepare: (dir) => mkdirSync(dir, { recursive: true }),
    record: ["--daemon", "native", "--restart-every", "100", "--close-ids"],
    command: "sqlite3 db 'PRAGMA journal_mode=DELETE; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);' && exec 3<db && for i in $(seq 1 300); do sqlite3 db \"BEGIN; INSERT INTO t(v) VALUES(hex(randomblob(64))); COMMIT;\" 2>/dev/null || echo refused; done | sort | uniq -c",
    what: "300 sqlite3 transactions while a reader holds the database open, on the native passthrough daemon restarted every 100 opens (closing its ids)",
  },
  // libfuse's passthrough_hp: a real passthrough daemon sharing one backing id per inode (no restarts: libfuse has none).
  "sqlite-held-hp": {
    prepare: (dir) => mkdirSync(dir, { recursive: true }),
    record: ["--daemon", "passthrough_hp"],
    command: "sqlite3 db 'PRAGMA journal_mode=DELETE; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);' && exec 3<db && for i in $(seq 1 300); do sqlite3 db \"BEGIN; INSERT INTO t(v) VALUES(hex(randomblob(64))); COMMIT;\"; done && sqlite3 db 'SELECT count(*) FROM t;'",
    what: "300 sqlite3 transactions while a reader holds the database open, on libfuse's passthrough_hp (its ids recorded)",
  },
};

function version(cmd) {
  const r = spawnSync("sh", ["-c", `${cmd} 2>&1 | head -1`], { encoding: "utf8" });
  return r.stdout.trim();
}

const args = process.argv.slice(2);
const provenanceOnly = args.includes("--provenance-only");
const named = args.filter((a) => !a.startsWith("--"));
const names = provenanceOnly ? [] : named.length > 0 ? named : Object.keys(WORKLOADS);
for (const name of names) {
  const w = WORKLOADS[name];
  if (!w) throw new Error(`unknown workload ${name} (known: ${Object.keys(WORKLOADS).join(", ")})`);
  const src = mkdtempSync(join(tmpdir(), `fbreplay-${name}-`));
  w.prepare(src);
  const out = join(traces, `${name}.fbt`);
  execFileSync(process.execPath, [cli, "record", ...(w.record ?? []), "--src", src, "-o", out, "--", "sh", "-c", w.command], { stdio: ["ignore", "ignore", "inherit"] });
  rmSync(src, { recursive: true, force: true });
  console.log(`recorded ${name}`);
}

// The provenance of every bundled trace, from the files themselves (recording a subset keeps the others).
const rows = [];
for (const [name, w] of Object.entries(WORKLOADS)) {
  const out = join(traces, `${name}.fbt`);
  if (!existsSync(out)) continue;
  const stats = JSON.parse(execFileSync(process.execPath, [cli, "inspect", out, "--json"], { encoding: "utf8" }));
  rows.push({ name, what: w.what, command: w.command, bytes: statSync(out).size, recorded: stats.created, host_kernel: stats.host_kernel, stats });
}

const tools = [
  ["kernel", release()], ["bindfs", version("bindfs --version")], ["libfuse (bindfs's)", version("dpkg-query -W -f='${Version}' libfuse2")],
  ["strace", version("strace -V")], ["git", version("git --version")], ["gcc", version("gcc --version")],
  ["make", version("make --version")], ["sqlite3", version("sqlite3 --version")], ["node", process.version],
  ["npm", version("npm --version")],
  ["passthrough_hp", version(`cat ${join(root, "build/passthrough_hp/VERSION")}`)],
];
const all = rows;
const toolsObject = Object.fromEntries(tools);
writeFileSync(join(traces, "provenance.json"), `${JSON.stringify({ tools: toolsObject, traces: all }, null, 2)}\n`);

const table = all.map((r) => `| \`${r.name}.fbt\` | ${r.what} | ${r.stats.opens} | ${r.stats.releases} | ${r.stats.events} | ${r.stats.overlapping_opens} | ${r.stats.nodeid_reuse} | ${r.stats.backing_inodes} | ${r.stats.digests} | ${(r.bytes / 1e6).toFixed(2)} MB | ${r.recorded.slice(0, 10)}, kernel ${r.host_kernel} |`);
const commands = all.map((r) => `- \`${r.name}\`: \`fbreplay record ${[...(WORKLOADS[r.name].record ?? []), ""].join(" ")}--src DIR -o traces/${r.name}.fbt -- sh -c "$CMD"\`, DIR prepared by the script, CMD:\n  \`\`\`sh\n  ${r.command}\n  \`\`\``);
const total = all.reduce((n, r) => n + r.stats.opens, 0);
writeFileSync(join(traces, "README.md"), `# Bundled traces

Real workloads recorded on the project's machine with \`fbreplay record\` over a scratch copy of a prepared
directory, each open's backing inode and sha256 taken as the open happened: with bindfs \`-d\` on a real FUSE mount
(no passthrough: backing ids are modelled at replay), or, for the \`-native\` traces, with fbreplay's own daemon on
real kernel passthrough, restarted for real while files were open. Native traces also carry the backing id of
every open and the kernel's verdict on it: \`fbreplay oracle\` compares the model with the kernel on them (the
tests require zero mismatches). The \`-hp\` traces ran on libfuse's passthrough_hp (real kernel passthrough, one
shared backing id per inode) under strace: they carry its backing ids, the backing inode of each open as the
daemon's stats showed it, and the sha256 of that file as the run left it (its bytes at open time are not known).
Recorded by \`node scripts/record-traces.mjs\` (which also prepares each source
directory; see the script), which rewrote this file and \`provenance.json\`. The counts are
\`fbreplay inspect --json\` of each file, checked by the tests. The trace format is in \`FORMAT.md\`.

| trace | workload | opens | releases | events | overlapping opens | nodeid reuse | backing inodes | digests | size | recorded |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|
${table.join("\n")}

${total} opens in all.

Exact commands (CMD runs inside the mount):

${commands.join("\n")}

Tools: ${tools.map(([k, v]) => `${k} ${v}`).join("; ")}.
`);
