// Types of targets.mjs for test/fuzz.test.ts.
export const FUZZ_MAX_MEMORY: number;
export const TARGETS: Record<string, { shapes: string[]; cleanErrors: string[] }>;
