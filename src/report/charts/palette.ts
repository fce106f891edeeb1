// Colours of the charts: the Okabe–Ito palette (distinguishable with the common colour-vision deficiencies).

export const POLICY_COLORS: Record<string, string> = {
  ptr: "#0072b2",
  inode: "#e69f00",
  digest: "#009e73",
  reuse: "#cc79a7",
  lookup: "#d55e00",
};

const SPARE = ["#56b4e9", "#f0e442", "#000000", "#999999"];

/** The colour of a policy, or a spare one for names outside POLICIES. */
export function policyColor(policy: string, fallbackIndex = 0): string {
  return POLICY_COLORS[policy] ?? SPARE[fallbackIndex % SPARE.length];
}

/** Colours for a small set of other series (engines, regimes): dark blue, orange, green, grey. */
export const SERIES_COLORS = ["#1f4e79", "#e69f00", "#009e73", "#999999"];
