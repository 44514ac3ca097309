/** What every chart shares: fonts, axes, the ms formatting of tooltips and captions. */

export const baseConfig = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelColor: '#333', titleColor: '#333', gridColor: '#eee', titleFontWeight: 600 },
  legend: { labelLimit: 260, titleFontWeight: 600 },
  background: 'white',
} as const

/** A time axis in ms since the variant started. */
export const axisMs = { title: 'ms since the variant started', grid: true, tickCount: 10 } as const

/** `150 ms`, `1.5 ms`, `2.35 s`: as a person reads a duration. */
export function ms(value: number): string {
  if (Math.abs(value) >= 10_000) return `${(value / 1000).toFixed(1)} s`
  if (Math.abs(value) >= 1000) return `${(value / 1000).toFixed(2)} s`
  if (Math.abs(value) >= 100) return `${Math.round(value)} ms`
  return `${Number(value.toFixed(1))} ms`
}

/** `158.1 ms`: a step of a story, where tenths of a millisecond tell the order. */
export function msExact(value: number): string {
  return Math.abs(value) >= 10_000 ? ms(value) : `${value.toFixed(1)} ms`
}
