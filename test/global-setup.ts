// Runs once before the test files: provisions what they need (scripts/provision.mjs), so `npm test` on a fresh
// machine installs and builds it, and a second run only checks.
import { spawnSync } from "node:child_process";

export default function setup(): void {
  const r = spawnSync(process.execPath, ["scripts/provision.mjs"], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`scripts/provision.mjs failed (status ${r.status ?? r.signal})`);
}
