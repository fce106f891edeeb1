// Trace files for the fuzz targets: a model (header, items, footer) from synth, mutated in its values (the
// serializer then writes valid CRCs: what the CRC cannot catch), in its footer, or in its bytes.
import { crc32 } from "node:zlib";
import { Packr } from "msgpackr";
import { OP_BACKING_CLOSE, OP_BACKING_OPEN, OP_FORGET, OP_LOOKUP, OP_OPEN, OP_RELEASE, OP_RESTART } from "../../dist/abi.js";
import { synth } from "../../dist/synth/index.js";
import { encodeChunk, encodeTrailer, chunkCrc32 } from "../../dist/trace/format.js";
import { interestingU32, mutateBytes } from "./mutate.mjs";

const packr = new Packr({ useRecords: false, variableMapSize: true });

const HEADER = {
  format: "fbreplay-trace", version: 1, source: { format: "synth" }, workload: "fuzz", recorder: { name: "fuzz", version: "1" },
  host_kernel: "", created: "2026-01-01T00:00:00.000Z",
};

/** A small valid trace as a model: synth's stream, optionally with recorded columns as a native capture has. */
function baseTrace(rng, large = rng.chance(0.03)) {
  const events = 1 + rng.int(large ? 5000 : 300);
  const items = [];
  for (const it of synth({ events, seed: rng.int(1e6), inodes: 1 + rng.int(large ? 3000 : 40), maxOpenFiles: 1 + rng.int(large ? 1500 : 16), chunkRows: 1 + rng.int(200), forgetRate: rng.next() * 0.1 })) {
    if (it.backing) items.push({ kind: "backing", files: it.backing });
    if (it.chunk) items.push({ kind: "chunk", chunk: it.chunk });
  }
  const native = rng.chance(0.3);
  if (native) {
    for (const it of items) {
      if (it.kind !== "chunk") continue;
      const c = it.chunk;
      c.bid = new Uint32Array(c.length);
      c.verdict = new Uint8Array(c.length);
      for (let i = 0; i < c.length; i++) {
        if (c.op[i] === OP_OPEN) { c.bid[i] = 1 + rng.int(8); c.verdict[i] = 1 + rng.int(2); }
        if (rng.chance(0.02)) { c.op[i] = rng.chance(0.5) ? OP_BACKING_OPEN : OP_BACKING_CLOSE; c.bid[i] = 1 + rng.int(8); }
      }
    }
  }
  const header = native
    ? { ...HEADER, source: { format: "fbreplay-native", daemon_model: rng.pick(["per-inode", "per-open"]) } }
    : { ...HEADER };
  return { header, items };
}

function footerOf(items) {
  let events = 0, chunks = 0, backing = 0, maxNodeid = -1, maxFh = -1, first = -1, last = 0;
  const crcs = [];
  for (const it of items) {
    if (it.kind === "backing") { backing += it.files.length; continue; }
    const c = it.chunk;
    events += c.length;
    chunks++;
    for (let i = 0; i < c.length; i++) {
      if (c.nodeid[i] > maxNodeid) maxNodeid = c.nodeid[i];
      if (c.fh[i] > maxFh) maxFh = c.fh[i];
    }
    let t = c.t0;
    for (let i = 1; i < c.length; i++) t += c.dt[i];
    if (first < 0) first = c.t0;
    last = t;
    crcs.push(chunkCrc32(c));
  }
  return { kind: "footer", events, chunks, backing_files: backing, max_nodeid: maxNodeid, max_fh: maxFh, duration_us: first < 0 ? 0 : last - first, chunk_crc32: crcs };
}

const COLUMN_NAMES = ["op", "nodeid", "fh", "bref", "oflags", "fopen", "pid", "dt"];

/** Changes values inside the model (the serializer then writes valid CRCs): what the CRC cannot catch. */
function mutateSemantics(rng, model) {
  const chunks = model.items.filter((it) => it.kind === "chunk");
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds && chunks.length > 0; r++) {
    const c = rng.pick(chunks).chunk;
    const row = rng.int(c.length);
    switch (rng.int(10)) {
      case 0: c.nodeid[row] = interestingU32(rng); break;
      case 1: c.fh[row] = interestingU32(rng); break;
      case 2: c.op[row] = rng.chance(0.5) ? rng.int(256) : rng.pick([OP_OPEN, OP_RELEASE, OP_FORGET, OP_LOOKUP, OP_RESTART, OP_BACKING_OPEN, OP_BACKING_CLOSE]); break;
      case 3: c.bref[row] = rng.chance(0.5) ? interestingU32(rng) : rng.int(1000); break;
      case 4: c.dt[row] = interestingU32(rng); break;
      case 5: c.t0 = rng.chance(0.5) ? rng.int(2 ** 20) : rng.pick([0, 2 ** 53 - 1, 2 ** 40]); break;
      case 6: if (c.bid) c.bid[row] = interestingU32(rng); else c.oflags[row] = interestingU32(rng); break;
      case 7: if (c.verdict) c.verdict[row] = rng.int(256); else c.fopen[row] = interestingU32(rng); break;
      case 8: { // all of one column's rows: sparse ids, as a 64-bit daemon's inode pointers cut to 32 bits
        const col = rng.pick(["nodeid", "fh"]);
        for (const it of chunks) for (let i = 0; i < it.chunk.length; i++) it.chunk[col][i] = Math.imul(it.chunk[col][i] + 1, 0x9e3779b1) >>> 0;
        break;
      }
      default: { // an item dropped, duplicated or moved
        const at = rng.int(model.items.length);
        const it = model.items[at];
        const k = rng.int(3);
        if (k === 0) model.items.splice(at, 1);
        else if (k === 1) model.items.splice(at, 0, it);
        else model.items.splice(rng.int(model.items.length), 0, model.items.splice(at, 1)[0]);
      }
    }
  }
}

/** Footer values changed after they were computed (its CRC is written for the changed bytes). */
function mutateFooter(rng, footer) {
  const key = rng.pick(["max_nodeid", "max_fh", "events", "chunks", "backing_files", "duration_us", "chunk_crc32", "max_nodeid", "max_fh"]);
  if (key === "chunk_crc32") {
    if (footer.chunk_crc32.length > 0) footer.chunk_crc32[rng.int(footer.chunk_crc32.length)] = interestingU32(rng);
    else footer.chunk_crc32.push(0);
  } else if (rng.chance(0.5)) {
    footer[key] = interestingU32(rng);
  } else {
    footer[key] = Math.max(key.startsWith("max_") ? -1 : 0, footer[key] + rng.pick([-1, 1, 2, -2, 1000]));
  }
}

function serializeTrace(model, footerOverride) {
  const parts = [packr.pack(model.header)];
  let backing = 0;
  let index = 0;
  for (const it of model.items) {
    if (it.kind === "backing") {
      parts.push(packr.pack({ kind: "backing", first: backing, files: it.files }));
      backing += it.files.length;
    } else {
      parts.push(...encodeChunk(index++, it.chunk, chunkCrc32(it.chunk)));
    }
  }
  const footer = footerOverride ?? footerOf(model.items);
  const footerBytes = packr.pack(footer);
  const body = Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  return Buffer.concat([body, footerBytes, encodeTrailer({ footerOffset: body.length, footerLength: footerBytes.length, footerCrc32: crc32(footerBytes) })]);
}

/** A valid small trace, and one whose values are wrong under valid CRCs. */
export function validTraceBytes(rng) {
  return serializeTrace(baseTrace(rng));
}
export function brokenTraceBytes(rng) {
  const model = baseTrace(rng);
  const c = model.items.find((it) => it.kind === "chunk").chunk;
  c.nodeid[0] = 0xffffffff;
  const footer = footerOf(model.items);
  footer.max_nodeid = 3;
  return serializeTrace(model, footer);
}

/** Copies of a model's chunks with nodeids and fhs renamed one to one (sparse 32-bit values): the same workload. */
function renamedTwin(rng, model) {
  const salt = (rng.next() * 0x100000000) >>> 0 | 1;
  const rename = (v) => (Math.imul(v + 1, 0x9e3779b1) ^ salt) >>> 0; // odd multiplier, then xor: one to one on u32
  const items = model.items.map((it) => {
    if (it.kind !== "chunk") return it;
    const c = it.chunk;
    return { kind: "chunk", chunk: { ...c, nodeid: c.nodeid.map(rename), fh: c.fh.map(rename) } };
  });
  return { header: model.header, items };
}

/** The kinds of trace makeTrace makes. */
export const TRACE_KINDS = ["valid", "twin", "semantic", "footer", "bytes"];

/** A trace file: valid (sometimes), semantically mutated with valid CRCs (mostly), or with damaged bytes. */
export function makeTrace(rng) {
  const kind = rng.int(10);
  const model = baseTrace(rng, kind === 0 ? rng.chance(0.5) : undefined);
  if (kind === 0) {
    // half the valid ones come with a twin whose ids are renamed: both must replay and inspect alike
    return rng.chance(0.5) ? { bytes: serializeTrace(model), kind: "twin", twin: serializeTrace(renamedTwin(rng, model)) } : { bytes: serializeTrace(model), kind: "valid" };
  }
  if (kind <= 5) {
    mutateSemantics(rng, model);
    return { bytes: serializeTrace(model), kind: "semantic" };
  }
  if (kind <= 7) {
    const footer = footerOf(model.items);
    mutateFooter(rng, footer);
    if (rng.chance(0.3)) mutateSemantics(rng, model);
    return { bytes: serializeTrace(model, footer), kind: "footer" };
  }
  return { bytes: mutateBytes(rng, serializeTrace(model)), kind: "bytes" };
}
