// The page's style sheet: plain, printable, tables first.
export const STYLE = `
:root { --fg: #1d1d1f; --muted: #6b6b70; --line: #d9d9de; --bg-alt: #f5f5f7; --bad: #b3261e; --bad-bg: #fbe9e7; --warn-bg: #fff4d6; --good: #1b6e3a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); margin: 0 auto; padding: 16px 24px 40px; max-width: 1440px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 0 0 6px; padding-top: 6px; border-top: 2px solid var(--fg); }
h3 { font-size: 15px; margin: 18px 0 4px; }
h4 { font-size: 14px; margin: 12px 0 4px; }
section { margin: 28px 0; }
p { margin: 4px 0 8px; max-width: 110ch; }
.intro, .note, .workload, .muted, footer { color: var(--muted); }
.absent { font-style: italic; color: var(--muted); border-left: 3px solid var(--line); padding-left: 8px; }
.warning { background: var(--warn-bg); padding: 6px 10px; border-radius: 4px; }
code, .hash { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; }
nav ul { list-style: none; padding: 0; margin: 8px 0; display: flex; flex-wrap: wrap; gap: 4px 14px; }
nav a { color: #0b57d0; text-decoration: none; }
table { border-collapse: collapse; margin: 6px 0 12px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 2px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid var(--fg); font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even) { background: var(--bg-alt); }
tbody th { font-weight: 600; white-space: nowrap; }
.num { text-align: right; white-space: nowrap; }
td.bad { color: var(--bad); background: var(--bad-bg); font-weight: 600; }
td.warn { background: var(--warn-bg); }
td.good { color: var(--good); }
td.muted { color: var(--muted); }
.ci { display: block; font-size: 11px; color: var(--muted); font-weight: 400; }
.total { font-weight: 600; border-top: 1px solid var(--fg); }
table.scenarios td, table.scenarios thead th { text-align: center; white-space: nowrap; }
table.scenarios thead th:first-child, table.scenarios thead th:last-child { text-align: left; }
table.scenarios td:last-child { text-align: left; color: var(--muted); white-space: normal; }
.mark { font-size: 11px; text-transform: uppercase; letter-spacing: 0.03em; background: #f2c94c; color: #3d2e00; border-radius: 3px; padding: 0 4px; }
td.diff { white-space: normal; text-align: left; font-size: 12px; max-width: 46ch; }
table.workloads td:last-child { font-size: 12px; color: var(--muted); }
table.kv th { color: var(--muted); font-weight: 500; }
ul.options { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 2px 12px; }
.pair { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 8px 28px; }
.pair-table { flex: 0 1 auto; max-width: 100%; overflow-x: auto; }
.pair-chart { flex: 0 0 auto; margin: 6px 0 12px; }
svg.chart { display: block; background: #fff; border: 1px solid var(--line); border-radius: 4px; }
svg.chart text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: var(--fg); }
svg.chart .chart-title { font-weight: 600; font-size: 12px; }
svg.chart .grid { stroke: #ececf0; }
svg.chart .axis-line, svg.chart .tick-mark { stroke: #555; }
svg.chart .tick-y { text-anchor: end; fill: var(--muted); }
svg.chart .tick-x, svg.chart .axis-label { text-anchor: middle; }
svg.chart .axis-label { fill: var(--muted); }
svg.chart .na { text-anchor: middle; font-size: 9px; fill: var(--muted); }
svg.chart .err { stroke: #111; stroke-width: 1.3; fill: none; }
svg.chart .line { fill: none; stroke-width: 2; }
svg.chart .point { stroke: #fff; stroke-width: 1; }
svg.chart .flag { fill: none; stroke: var(--bad); stroke-width: 2; }
details summary { cursor: pointer; color: var(--muted); }
footer { margin-top: 36px; border-top: 1px solid var(--line); padding-top: 8px; font-size: 12px; }
@media print { .pair { display: block; } section { break-inside: avoid-page; } }
`;
