// Types of cli.mjs for the tests (test/fuzz.test.ts, test/robust-replay.test.ts).
export interface CliRun { status: number; stdout: string; stderr: string; interrupted: boolean }
export const CLI_MAX_MEMORY: string;
export function cliCommands(): string[];
/** main(argv) with stdout and stderr captured, and a Ctrl-C emitted after `interruptMs` once the command listens. */
export function runCli(argv: string[], interruptMs?: number): Promise<CliRun>;
