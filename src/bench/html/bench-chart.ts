/**
 * One figure of a bench report (req/s, p50, p99, time to first event, connections or handshakes per
 * request) for every configuration: a bar per target at its median across rounds, each round as a
 * tick and the range of the rounds as a line (the run-to-run spread), direct alongside the proxies.
 */
import type { TopLevelSpec } from 'vega-lite'
import type { BenchReport, RoundFigures } from '../types.ts'
import { baseConfig } from '../../shared/html/chart-style.ts'

export type BenchFigure = 'rps' | 'cpuUsPerRequest' | 'p50' | 'p99' | 'ttfbP50' | 'connectionsPerRequest' | 'handshakesPerRequest'

export const benchFigures: Readonly<Record<BenchFigure, { readonly title: string; readonly unit: string; readonly digits: number }>> = {
  rps: { title: 'requests per second (higher is better)', unit: 'req/s', digits: 0 },
  cpuUsPerRequest: { title: 'CPU per request of what sits between client and upstream, µs (lower is better)', unit: 'µs', digits: 1 },
  p50: { title: 'latency p50, ms (lower is better)', unit: 'ms', digits: 2 },
  p99: { title: 'latency p99, ms (lower is better)', unit: 'ms', digits: 2 },
  ttfbP50: { title: 'time to the first byte (SSE: first event) p50, ms', unit: 'ms', digits: 2 },
  connectionsPerRequest: { title: 'new upstream connections per request (1 = no reuse)', unit: 'per request', digits: 3 },
  handshakesPerRequest: { title: 'TLS handshakes per request (https)', unit: 'per request', digits: 3 },
}

const targetColors: Readonly<Record<string, string>> = {
  direct: '#7f7f7f',
  'force-close': '#e45756',
  'naive-keepalive': '#f58518',
  'tuned-keepalive': '#4c78a8',
  nginx: '#54a24b',
  'node-floor': '#b279a2',
}

/** `http/json/c64/rtt0`: a configuration's id without its target. */
export function groupOf(id: string): string {
  return id.slice(0, id.lastIndexOf('/'))
}

export function benchFigureSpec(report: BenchReport, figure: BenchFigure, options: { readonly width?: number } = {}): TopLevelSpec {
  const f = benchFigures[figure]
  const results = figure === 'handshakesPerRequest' ? report.results.filter((r) => r.protocol === 'https')
    // Direct has nothing in between, and a report written before this figure has none.
    : figure === 'cpuUsPerRequest' ? report.results.filter((r) => r.median.cpuUsPerRequest !== undefined)
      : report.results
  const fmt = (v: number): string => v.toFixed(f.digits)
  const roundValue = (x: RoundFigures): number => x[figure as keyof RoundFigures] as number
  const medians = results.map((r) => {
    const m = r.median[figure] ?? 0
    const values = r.rounds.map(roundValue).filter((v) => v !== undefined)
    return {
      group: groupOf(r.id), target: r.target, value: m,
      min: values.length > 0 ? Math.min(...values) : m, max: values.length > 0 ? Math.max(...values) : m,
      tip: `${r.id}: median ${fmt(m)} ${f.unit} over ${values.length} round(s)${values.length > 1 ? `, ${fmt(Math.min(...values))} to ${fmt(Math.max(...values))}` : ''}`,
    }
  })
  const rounds = results.flatMap((r) => r.rounds.filter((x) => roundValue(x) !== undefined).map((x, i) => ({
    group: groupOf(r.id), target: r.target, value: roundValue(x),
    tip: `${r.id}, round ${i + 1}: ${fmt(roundValue(x))} ${f.unit}`,
  })))
  const targets = [...new Set(results.map((r) => r.target))]
  const groups = [...new Set(results.map((r) => groupOf(r.id)))]
  const y = { field: 'group', type: 'nominal' as const, scale: { domain: groups }, axis: { title: null, labelLimit: 200 }, sort: null }
  const yOffset = { field: 'target', type: 'nominal' as const, scale: { domain: targets } }
  const x = { field: 'value', type: 'quantitative' as const, axis: { title: f.title, grid: true } }
  const color = { field: 'target', type: 'nominal' as const, scale: { domain: targets, range: targets.map((t) => targetColors[t] ?? '#999') }, legend: { title: 'target', orient: 'right' as const } }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: options.width ?? 760,
    // With yOffset the step is one target's bar.
    height: { step: 14 },
    config: baseConfig,
    layer: [
      { data: { values: medians }, mark: { type: 'bar', opacity: 0.85 }, encoding: { x, y, yOffset, color, description: { field: 'tip' } } },
      { data: { values: medians }, mark: { type: 'rule', color: '#222', aria: false }, encoding: { x: { ...x, field: 'min' }, x2: { field: 'max' }, y, yOffset } },
      { data: { values: rounds }, mark: { type: 'tick', color: '#222', thickness: 1.5, bandSize: 8 }, encoding: { x, y, yOffset, description: { field: 'tip' } } },
    ],
  } as TopLevelSpec
}
