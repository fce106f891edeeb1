// fbreplay synth: a seeded synthetic trace.
import { SYNTH_DEFAULTS, describeSynth, synth as synthesize, validateSynthOptions, type SynthOptions } from "../../synth/index.js";
import { TraceWriter } from "../../trace/index.js";
import type { Command } from "../command.js";
import { onInterrupt, version } from "../context.js";
import { UsageError, checkOutput, count, parseNumber, rate, seed } from "../options.js";
import { Progress } from "../progress.js";

const d = SYNTH_DEFAULTS;

export const synth: Command = {
  name: "synth",
  usage: "synth --events N --seed S -o FILE [options]",
  summary: "write a seeded synthetic trace",
  options: {
    events: { type: "string", value: "N", required: true, help: "events to write" },
    seed: { type: "string", value: "S", required: true, help: "seed; same options and seed = identical trace" },
    output: { type: "string", short: "o", value: "FILE", required: true, help: "the trace file to write" },
    inodes: { type: "string", value: "N", default: d.inodes, help: "distinct files" },
    skew: { type: "string", value: "X", default: d.skew, help: "Zipf exponent of file popularity (0: uniform)" },
    "max-open": { type: "string", value: "N", default: d.maxOpenFiles, help: "concurrent open files" },
    "write-fraction": { type: "string", value: "P", default: d.writeFraction, help: "opens that may write" },
    "replace-rate": { type: "string", value: "P", default: d.replaceRate, help: "per open: replaced since its last open" },
    "redownload-rate": { type: "string", value: "P", default: d.redownloadRate, help: "per open: deleted and re-downloaded" },
    "forget-rate": { type: "string", value: "P", default: d.forgetRate, help: "per event: FORGET of an idle inode, its nodeid reused" },
  },
  async run({ values: v }) {
    const values = v as Record<string, string | undefined>;
    if (values.events === undefined || values.seed === undefined || values.output === undefined) {
      throw new UsageError("synth needs --events N, --seed S and -o FILE");
    }
    const options: SynthOptions = {
      events: count(values.events, "events")!,
      seed: seed(values.seed, "seed")!,
      inodes: count(values.inodes, "inodes"),
      // The range is the library's (validateSynthOptions); the parser only wants a number.
      skew: parseNumber(values.skew, "skew", () => true, "a number"),
      maxOpenFiles: count(values["max-open"], "max-open"),
      writeFraction: rate(values["write-fraction"], "write-fraction"),
      replaceRate: rate(values["replace-rate"], "replace-rate"),
      redownloadRate: rate(values["redownload-rate"], "redownload-rate"),
      forgetRate: rate(values["forget-rate"], "forget-rate"),
    };
    for (const key of Object.keys(options) as (keyof SynthOptions)[]) if (options[key] === undefined) delete options[key];
    const problem = validateSynthOptions(options);
    if (problem !== null) throw new UsageError(problem);
    const output = values.output;
    checkOutput(output, []);
    const writer = await TraceWriter.create(output, {
      source: { format: "synth", options },
      workload: describeSynth(options),
      recorder: { name: "fbreplay synth", version: version() },
      host_kernel: "",
      created: new Date().toISOString(),
    });
    const interrupted = onInterrupt();
    const progress = new Progress(`synth ${output}`, options.events);
    let written = 0;
    try {
      for (const item of synthesize(options)) {
        if (interrupted()) {
          await writer.abort();
          process.stderr.write(`fbreplay: interrupted: ${output} not written\n`);
          return 130;
        }
        if (item.backing) writer.addBacking(item.backing);
        if (item.chunk) {
          await writer.writeChunk(item.chunk);
          written += item.chunk.length;
          progress.update(written);
        }
      }
      const footer = await writer.close();
      progress.done();
      process.stderr.write(`wrote ${output}: ${footer.events} events, ${footer.backing_files} backing files\n`);
      return 0;
    } catch (err) {
      progress.done();
      await writer.abort();
      throw err;
    }
  },
};
