/**
 * Latency CDF of every variant of one scenario on one chart: the fraction of requests done within x ms,
 * and, where a variant streamed, the same for the time to its first SSE event (dashed). Failed requests
 * are crosses (their latency is the time to the failure). Built from the report's `trace` alone.
 */
import type { TopLevelSpec } from 'vega-lite'
import type { VariantReport } from '../types.ts'
import { baseConfig, ms } from '../../../shared/html/chart-style.ts'

export const cdfMetrics = { latency: 'to the complete response', firstEvent: 'to the first SSE event' } as const

/** Log-scale friendly: nothing at or below 0 (the trace rounds to 0.1 ms). */
const positive = (v: number): number => Math.max(0.05, v)

export function latencyCdfSpec(variants: readonly VariantReport[], options: { readonly width?: number } = {}): TopLevelSpec {
  const points = variants.flatMap((v) => v.trace.requests.flatMap((r) => {
    if (r.skipped) return []
    const result = r.failure === undefined ? 'succeeded' : 'failed'
    // Failures are crosses, drawn larger: the reader looks for them first.
    const size = r.failure === undefined ? 22 : 90
    const tip = (what: string, value: number): string => `${r.id} (${v.name}): ${what} ${ms(value)}${r.failure ? `\nfailed: ${r.failure}${r.cause ? ` (the proxy met ${r.cause})` : ''}` : ''}`
    return [
      { variant: v.name, metric: cdfMetrics.latency, value: positive(r.latencyMs), result, size, tip: tip(cdfMetrics.latency, r.latencyMs) },
      ...(r.firstEventMs !== undefined ? [{ variant: v.name, metric: cdfMetrics.firstEvent, value: positive(r.firstEventMs), result, size, tip: tip(cdfMetrics.firstEvent, r.firstEventMs) }] : []),
    ]
  }))
  const x = { field: 'value', type: 'quantitative' as const, scale: { type: 'log' as const, nice: false }, axis: { title: 'ms (log scale)', grid: true } }
  const streamed = points.some((p) => p.metric === cdfMetrics.firstEvent)
  const y = { field: 'p', type: 'quantitative' as const, scale: { domain: [0, 1] }, axis: { title: 'fraction of requests done', format: '.0%', grid: true } }
  const variantNames = variants.map((v) => v.name)
  const color = { field: 'variant', type: 'nominal' as const, scale: { domain: variantNames, scheme: 'tableau10' }, legend: { title: 'variant', orient: 'right' as const, labelLimit: 300 } }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: options.width ?? 700,
    height: 300,
    config: baseConfig,
    data: { values: points },
    transform: [
      { window: [{ op: 'cume_dist', as: 'p' }], sort: [{ field: 'value' }], groupby: ['variant', 'metric'] },
    ],
    layer: [
      {
        mark: { type: 'line', interpolate: 'step-after', aria: false },
        encoding: {
          x, y, color,
          strokeDash: { field: 'metric', type: 'nominal', scale: { domain: Object.values(cdfMetrics), range: [[1, 0], [5, 3]] }, legend: streamed ? { title: 'time', orient: 'right' } : null },
          detail: { field: 'metric' },
        },
      },
      {
        mark: { type: 'point', filled: true },
        encoding: {
          x, y, color,
          shape: { field: 'result', type: 'nominal', scale: { domain: ['succeeded', 'failed'], range: ['circle', 'cross'] }, legend: { title: 'request', orient: 'right' } },
          size: { field: 'size', type: 'quantitative', scale: null, legend: null },
          description: { field: 'tip' },
        },
      },
    ],
  } as TopLevelSpec
}
