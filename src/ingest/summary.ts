// The one line an ingest ends with: what the trace holds, what could not be read, what the captures said.
import type { IngestSummary } from "./errors.js";

export function ingestSummaryLine(output: string, s: IngestSummary): string {
  const malformed = s.malformed > 0 && s.firstMalformed
    ? `; ${s.malformed} malformed lines, first at line ${s.firstMalformed.line}: ${s.firstMalformed.reason}`
    : "";
  const ids = s.recordedOpens + s.backingOpens > 0
    ? `; recorded backing ids: ${s.recordedOpens} of ${s.opens} opens, ${s.backingOpens} registrations, ${s.backingCloses} closes` +
      (s.unknownBackingCloses > 0 ? ` (${s.unknownBackingCloses} more closes whose id the capture does not show)` : "")
    : "";
  const d = s.daemonStrace;
  const strace = d === undefined ? "" : `; daemon strace: ${d.requests} requests, ${d.lines} lines` +
    (s.notInDaemonStrace > 0 ? `, ${s.notInDaemonStrace} opens not in it` : "") +
    (d.truncatedOpenReplies > 0 ? `, ${d.truncatedOpenReplies} open replies cut off (strace -s 256 shows them)` : "") +
    (d.malformed > 0 && d.firstMalformed ? `, ${d.malformed} malformed lines, first at line ${d.firstMalformed.line}: ${d.firstMalformed.reason}` : "");
  const ambiguous = (s.ambiguousReleases ?? 0) > 0
    ? `; ${s.ambiguousReleases} releases (no fh in the log) could be more than one open file: paired by the kernel's behaviour, not certain`
    : "";
  const atClose = (s.releasedAtClose ?? 0) > 0
    ? `; ${s.releasedAtClose} files released at their close, before their RELEASE (an open of the same inode came in between): right unless another descriptor still held them, not certain`
    : "";
  const garbled = (s.guessedIds ?? 0) > 0
    ? `; ${s.guessedIds} opens whose backing id the log does not tell for certain (${s.garbledLines ?? 0} DEBUG lines written into by other daemon threads; id lines while several opens of the inode were in flight): given by the inode's registrations, not certain`
    : "";
  const o = s.idsByOrder;
  const byOrder = o === undefined ? ""
    : o.undecided !== undefined ? `; no /dev/fuse traffic in the daemon strace, and ids by order not given: ${o.undecided}`
    : `; ids by order (no /dev/fuse traffic in the daemon strace): ${o.certain} certain` +
      (o.ambiguous > 0 ? `, ${o.ambiguous} opens in flight at once that the order cannot tell apart: given in the first pairing that fits, not certain` : "");
  const notSent = (s.opathOpens ?? 0) + (s.directoryOpens ?? 0) > 0
    ? `; not opens the daemon receives: ${s.opathOpens ?? 0} O_PATH, ${s.directoryOpens ?? 0} of directories (OPENDIR)`
    : "";
  return `wrote ${output}: ${s.events} events (${s.opens} opens, ${s.releases} releases, ${s.forgets} forgets), ` +
    `${s.backingFiles} backing files from ${s.lines} log lines${malformed}${ids}${strace}${byOrder}${garbled}${ambiguous}${atClose}${notSent}`;
}
