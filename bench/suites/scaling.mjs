// Scaling curves of the wasm core: cost per event as the trace grows (it must stay flat: nothing in the core grows
// with the trace's length), and as the number of inodes grows (where the working set leaves the caches). Synthetic
// events are generated and fed chunk by chunk, so a 100M-event run holds a few MB of events at a time.
import { synth, synthLimits } from "../../dist/synth/index.js";
import { WasmReplaySession } from "../../dist/replay/wasm.js";
import { median, round } from "../lib/stats.mjs";

const POLICIES = ["ptr", "inode", "digest"];

function replayStreamed(options, policies) {
  const items = synth(options);
  const first = items.next().value;
  const session = new WasmReplaySession(first.backing, { policies, daemon: "per-inode", ...synthLimits(options) });
  for (const item of items) {
    if (item.backing) session.addBacking(item.backing);
    else session.feed(item.chunk);
  }
  return session.elapsedNs();
}

function curve(points, label, optionsOf, reps, log) {
  return points.map((x) => {
    const options = optionsOf(x);
    const ns = Object.fromEntries(POLICIES.map((p) => [p, []]));
    for (let rep = 0; rep < reps; rep++) {
      log(`scaling: ${label} ${x}, rep ${rep + 1}/${reps}`);
      const elapsed = replayStreamed(options, POLICIES);
      for (const p of POLICIES) ns[p].push(elapsed[p] / options.events);
    }
    return {
      [label]: x,
      events: options.events,
      ns_per_event: Object.fromEntries(POLICIES.map((p) => [p, round(median(ns[p]), 2)])),
      samples_ns_per_event: Object.fromEntries(POLICIES.map((p) => [p, ns[p].map((v) => round(v, 3))])),
    };
  });
}

/** Largest / smallest cost per event along the events curve, per policy: 1.15 is the flatness target. */
function flatness(rows) {
  return Object.fromEntries(POLICIES.map((p) => {
    const v = rows.map((r) => r.ns_per_event[p]);
    return [p, round(Math.max(...v) / Math.min(...v), 3)];
  }));
}

export function scalingSuite({ quick, log }) {
  const eventPoints = quick ? [1e6, 3e6] : [1e6, 3e6, 1e7, 3e7, 1e8];
  const inodePoints = quick ? [1e3, 1e5] : [1e3, 1e4, 1e5, 1e6];
  const byEvents = curve(eventPoints, "events", (events) => ({ events, seed: 1 }), quick ? 1 : 3, log);
  const byInodes = curve(inodePoints, "inodes", (inodes) => ({ events: quick ? 1e6 : 1e7, seed: 1, inodes }), quick ? 1 : 3, log);
  return { policies: POLICIES, by_events: byEvents, flatness: flatness(byEvents), by_inodes: byInodes };
}
