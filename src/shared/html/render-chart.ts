/**
 * A Vega-Lite spec → a static SVG string, in Node, with no browser: Vega-Lite compiles the spec, Vega
 * lays it out and its headless `View.toSVG()` writes the SVG. Vega and Vega-Lite are loaded on first
 * use, so commands that draw nothing never pay for them.
 *
 * Hovering: Vega's SVG renderer writes a mark's `description` channel as its `aria-label` (what screen
 * readers read) but no `<title>`, the element browsers show on hover. `withTitles` adds one to every mark
 * that has a label, with the same text: the tooltip works in any browser, with scripts off, and in the
 * SVG alone.
 */
import type { TopLevelSpec } from 'vega-lite'

let libraries: Promise<[typeof import('vega'), typeof import('vega-lite')]> | undefined

/** The chart as an SVG element, tooltips included. */
export async function renderChart(spec: TopLevelSpec): Promise<string> {
  const { vega, compiled } = await compileChart(spec)
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' })
  try {
    return compactNumbers(withTitles(await view.toSVG()))
  } finally {
    view.finalize()
  }
}

/**
 * The Vega spec a Vega-Lite spec compiles to, and what Vega-Lite warned about on the way (a channel it
 * ignored, a legend it merged): kept, not printed, so a test can insist that there are none.
 */
export async function compileChart(spec: TopLevelSpec): Promise<{ vega: typeof import('vega'); compiled: import('vega').Spec; warnings: string[] }> {
  libraries ??= Promise.all([import('vega'), import('vega-lite')])
  const [vega, vl] = await libraries
  const warnings: string[] = []
  const keep = (...args: readonly unknown[]): void => { warnings.push(args.map(String).join(' ')) }
  const logger = { level: () => logger, error: keep, warn: keep, info: () => logger, debug: () => logger } as unknown as NonNullable<Parameters<typeof vl.compile>[1]>['logger']
  return { vega, compiled: vl.compile(spec, { logger }).spec, warnings }
}

/** Coordinates to 1/100 px: Vega writes 17 digits (`translate(255.29668699017208,45.00000000000001)`), a third of the page. */
export function compactNumbers(svg: string): string {
  return svg.replace(/ (d|transform|x|y|x1|x2|y1|y2|width|height)="([^"]*)"/g, (_all, name: string, value: string) => ` ${name}="${value.replace(/(\d\.\d\d)\d+/g, '$1')}"`)
}

/** Mark elements Vega writes self-closed; the label is already escaped for an attribute, which is valid text too. */
const labelledMark = /<(path|rect|line|circle|ellipse|polygon|polyline|image)((?:\s[^>]*?)?)\saria-label="([^"]*)"([^>]*?)\s*\/>/g

/**
 * Every self-closed mark with an `aria-label` gets the text as a `<title>` child instead: browsers show it
 * on hover, and an SVG element's `<title>` is its accessible name too, so the label need not be kept twice.
 */
export function withTitles(svg: string): string {
  return svg.replace(labelledMark, (_all, tag: string, before: string, label: string, after: string) => `<${tag}${before}${after}><title>${label}</title></${tag}>`)
}
