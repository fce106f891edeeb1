// fbreplay record: a workload on a FUSE mount, recorded into a trace (the pipeline is src/record/pipeline.ts).
import { LIVE_DAEMON_MODELS } from "../../fuse/index.js";
import { RECORDERS, recordTrace, type Recorder } from "../../record/pipeline.js";
import type { Command } from "../command.js";
import { version } from "../context.js";
import { UsageError, checkOutput, count, isDirectory, parseChoice } from "../options.js";

const MODELS = LIVE_DAEMON_MODELS;
const NATIVE_ONLY = ["ids", "restart-every", "restart-before-open", "close-ids", "redownload-every"];

export const record: Command = {
  name: "record",
  usage: "record [--daemon bindfs|passthrough_hp|native] [--src DIR] [--keep DIR] -o TRACE -- CMD ARGS...",
  summary: "run a command on a FUSE mount (bindfs, libfuse's passthrough_hp, or fbreplay's own passthrough daemon) and record its opens into a trace",
  takesCommand: true,
  options: {
    daemon: {
      type: "string", value: RECORDERS.join("|"), default: "bindfs",
      help: "bindfs: bindfs -d, CMD under strace: no passthrough, backing ids modelled at replay; each\nopen's backing file taken as it happens.\n" +
        "passthrough_hp: libfuse's passthrough_hp (3.16+, real kernel passthrough, one shared backing id per\ninode) under strace: its --debug lines give each open's backing id, its strace each backing file.\n" +
        "native: fbreplay's own daemon on /dev/fuse with real kernel passthrough (Linux 6.9+): the trace\ncarries the backing id of every open and the kernel's verdict on it (see oracle). Needs the native addon",
    },
    src: { type: "string", value: "DIR", help: "copied into the scratch source before mounting (default: start empty)" },
    ids: { type: "string", value: MODELS.join("|"), default: "per-inode", help: "native: how the daemon hands out backing ids (per-inode: like passthrough_hp; per-nodeid: like\nmergerfs, a replaced file keeps its nodeid's id), as replay --ids" },
    "restart-every": {
      type: "string", value: "N", default: "none",
      help: "native: the daemon forgets its ids after every N opens, as after a restart (the kernel\nconnection stays, so the kernel's conflict check judges the opens that follow)",
    },
    "restart-before-open": {
      type: "string", value: "K,...", default: "none",
      help: "native: the daemon restarts just before the K-th open it receives, numbered from 1 (the\nfirst open is 1), for each K; replay --restart-before-open counts the same way, so the same K lands\nbefore the same open of the same workload. (--restart-at K, deprecated, is this option.)",
    },
    "close-ids": { type: "boolean", help: "native: restarts close the old ids first (default: they leak, as after a crash)" },
    "redownload-every": {
      type: "string", value: "N", default: "none",
      help: "native: before every N-th OPEN the daemon deletes and rewrites that file in its source (same\nbytes, a new backing inode) behind the kernel's back, keeping the nodeid: the file replaced under\na nodeid the kernel may hold (what sets per-nodeid apart from per-inode)",
    },
    "no-capture": {
      type: "boolean",
      help: "record from the daemon's own side even where the kernel capture (BPF, as fbreplay capture) can\n" +
        "run. By default the kernel capture records every daemon where it can (root, BTF, BPF allowed,\n" +
        "scripts/build-capture.sh built): each request paired with its reply by the kernel's unique, every\n" +
        "open's backing id and the kernel's verdict on it (see oracle); bindfs's identities and the native\n" +
        "daemon's restarts, which the kernel cannot see, are merged in. Without it: bindfs -d and its\n" +
        "identities, passthrough_hp's debug log and strace, the native daemon's records. The summary line\n" +
        "says which was used, and why not the capture",
    },
    keep: {
      type: "string", value: "DIR", default: "none: removed",
      help: "keep the raw captures (bindfs: daemon.log, identities.jsonl, workload.strace; passthrough_hp:\ndaemon.log, daemon.strace, workload.strace; native: records.jsonl, workload.strace; and from the kernel\ncapture records.bin, digests.json) in DIR",
    },
    output: { type: "string", short: "o", value: "FILE", required: true, help: "the trace to write" },
  },
  notes: "CMD runs with the mount as its working directory. Needs root and /dev/fuse (bindfs: also bindfs, fusermount3,\n" +
    "strace; scripts/install-fuse.sh installs them; passthrough_hp: scripts/build-passthrough-hp.sh builds it). The\n" +
    "mount is always taken down, also when CMD fails or on Ctrl-C; no trace is written then.",
  deprecated: { model: "ids", "restart-at": "restart-before-open" },
  async run({ values: v, rest: command }) {
    const values = v as Record<string, string | undefined> & { "close-ids": boolean; "no-capture": boolean };
    if (command.length === 0) throw new UsageError("record needs the command after --: fbreplay record -o TRACE -- CMD ARGS...");
    if (values.output === undefined) throw new UsageError("record needs -o TRACE");
    checkOutput(values.output, [values.src]);
    if (values.src !== undefined && !isDirectory(values.src)) throw new UsageError(`--src ${values.src}: not a directory`);
    const daemon = parseChoice<Recorder>(values.daemon, RECORDERS, "daemon", "bindfs");
    if (daemon !== "native") {
      const nativeOnly = NATIVE_ONLY.filter((k) => values[k]);
      if (nativeOnly.length > 0) throw new UsageError(`--${nativeOnly[0]} needs --daemon native`);
    }
    const result = await recordTrace({
      daemon, src: values.src, keep: values.keep, output: values.output, command, version: version(),
      model: parseChoice(values.ids, MODELS, "--ids", "per-inode"),
      restartEvery: count(values["restart-every"], "restart-every"),
      restartBeforeOpen: values["restart-before-open"]?.split(",").map((x) => count(x, "restart-before-open")!),
      closeIds: values["close-ids"], redownloadEvery: count(values["redownload-every"], "redownload-every"),
      kernelCapture: !values["no-capture"],
    });
    if (result.kind === "interrupted") {
      process.stderr.write("fbreplay: interrupted: the mount is down, no trace written\n");
      return 130;
    }
    if (result.kind === "failed") {
      process.stderr.write(`fbreplay: ${command[0]} exited with status ${result.exitCode}: the mount is down, no trace written\n`);
      return 1;
    }
    for (const line of result.lines) process.stderr.write(`${line}\n`);
    return 0;
  },
};
