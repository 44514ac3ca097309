/**
 * The HTML shell every report shares: one self-contained file (inline CSS, inline SVG charts, no script,
 * no font, image or stylesheet from anywhere), fit to attach to a CI run and open offline.
 */
import { escapeHtml } from './escape.ts'

const css = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; margin: 0; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 64px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 32px 0 6px; padding-top: 12px; border-top: 2px solid #d0d4da; }
h3 { font-size: 16px; margin: 18px 0 6px; }
h4 { font-size: 14px; margin: 14px 0 4px; color: #333; }
p, li { max-width: 980px; }
.meta { color: #666; font-size: 12.5px; }
.pass { color: #1a7f37; font-weight: 700; }
.fail { color: #c62828; font-weight: 700; }
.na { color: #777; font-weight: 700; }
.regression { color: #c62828; font-weight: 700; }
table { border-collapse: collapse; margin: 6px 0 10px; background: white; font-size: 13px; }
th, td { border: 1px solid #dde1e6; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.chart { background: white; border: 1px solid #dde1e6; border-radius: 4px; padding: 8px; margin: 6px 0 12px; overflow-x: auto; }
.chart svg { display: block; }
details.variant { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; margin: 10px 0; padding: 4px 12px 8px; }
details.variant > summary { cursor: pointer; font-weight: 600; padding: 6px 0; }
.howto { background: #fffbe6; border: 1px solid #f0e0a0; border-radius: 4px; padding: 8px 12px; }
ol.story { background: #fff; border-left: 4px solid #d62728; padding: 6px 12px 6px 40px; }
ol.story li { margin: 2px 0; }
ol.story .at { font-variant-numeric: tabular-nums; color: #555; display: inline-block; min-width: 6.5em; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.diag { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; color: #444; white-space: pre-wrap; }
nav ul { columns: 2; padding-left: 18px; }
`

/** A complete page; `body` is HTML that already went through escapeHtml wherever it holds report text. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`
}

/** A table from rows of cells that are already HTML; `numeric` columns align right. */
export function htmlTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>, numeric: ReadonlySet<number> = new Set()): string {
  const th = head.map((h) => `<th>${h}</th>`).join('')
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.has(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('\n')
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`
}

/** A chart's SVG in its frame; `kind` names it for tests and for a reader's find-in-page. */
export function chartBlock(kind: string, svg: string, label: string): string {
  return `<div class="chart" data-chart="${escapeHtml(kind)}" role="figure" aria-label="${escapeHtml(label)}">${svg}</div>`
}

export function verdictHtml(verdict: string): string {
  const cls = verdict === 'pass' ? 'pass' : verdict === 'fail' ? 'fail' : 'na'
  return `<span class="${cls}">${verdict === 'n/a' ? 'N/A' : verdict.toUpperCase()}</span>`
}

/** An id for an anchor, from any text. */
export function anchor(...parts: readonly (string | number)[]): string {
  return parts.map((p) => String(p).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')).join('--')
}
