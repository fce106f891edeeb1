import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Installs or builds what the tests need (scripts/provision.mjs), once per run.
    globalSetup: ["test/global-setup.ts"],
    // The JSON report is what .ci/run counts; the default reporter is what people read.
    reporters: ["default", ["json", { outputFile: "build/test-results.json" }]],
    testTimeout: 120_000,
  },
});
