/**
 * Each endpoint's state over one variant: the health model's tier (what the balancer picks from) and
 * its circuit breaker, as bands in time, with the proxy's attempts on it as ticks. Built from the
 * report's `trace` alone (the bundled proxy's endpoint states).
 */
import type { TopLevelSpec } from 'vega-lite'
import type { TraceEndpoint, VariantTrace } from '../types.ts'
import { axisMs, baseConfig, ms } from '../../../shared/html/chart-style.ts'
import { traceEndMs } from './timeline-chart.ts'

export const stateColors = {
  healthy: '#54a24b',
  degraded: '#eeca3b',
  unhealthy: '#f58518',
  'circuit-open': '#d62728',
  queued: '#9467bd',
  'not used': '#bab0ac',
  'breaker closed': '#c7e9c0',
  'breaker half-open': '#fdae6b',
  'breaker open': '#d62728',
} as const

const attemptColors = { 'attempt ok': '#1f3b73', 'attempt failed': '#d62728' } as const

/** Something happened worth a picture: an endpoint left healthy / closed / not queued at some point. */
export function hasStateChanges(trace: VariantTrace): boolean {
  return trace.endpoints.some((e) => e.states.some((s) => s.tier !== 'healthy' || s.breaker !== 'closed' || s.queued))
}

const nameOf = (e: TraceEndpoint): string => e.upstream ?? e.id

/**
 * One sentence per endpoint that left healthy: how often and for how long in all it was in each other
 * tier or breaker state (a state of a few ms is a sliver in the chart, but it is what the balancer saw).
 */
export function stateSummary(trace: VariantTrace): string[] {
  const end = traceEndMs(trace)
  return trace.endpoints.flatMap((e) => {
    const spans = new Map<string, { times: number; ms: number }>()
    e.states.forEach((s, i) => {
      const length = (e.states[i + 1]?.atMs ?? end) - s.atMs
      const add = (state: string): void => {
        const had = spans.get(state) ?? { times: 0, ms: 0 }
        spans.set(state, { times: had.times + 1, ms: had.ms + length })
      }
      const prev = e.states[i - 1]
      if (s.tier !== 'healthy' && (prev?.tier !== s.tier)) add(`tier ${s.tier ?? 'not used'}`)
      else if (s.tier !== 'healthy') spans.get(`tier ${s.tier ?? 'not used'}`)!.ms += length
      if (s.breaker !== 'closed' && prev?.breaker !== s.breaker) add(`breaker ${s.breaker}`)
      else if (s.breaker !== 'closed') spans.get(`breaker ${s.breaker}`)!.ms += length
    })
    if (spans.size === 0) return []
    return [`${nameOf(e)}: ${[...spans].map(([state, x]) => `${state} ${x.times} time${x.times === 1 ? '' : 's'}, ${ms(x.ms)} in all`).join('; ')}`]
  })
}

export function endpointStatesSpec(trace: VariantTrace, options: { readonly width?: number } = {}): TopLevelSpec {
  const end = traceEndMs(trace)
  const lanes: string[] = []
  const bands: Array<Record<string, unknown>> = []
  for (const e of trace.endpoints) {
    const name = nameOf(e)
    const tierLane = `${name} · tier`
    const breakerLane = `${name} · breaker`
    lanes.push(tierLane, breakerLane)
    e.states.forEach((s, i) => {
      const to = e.states[i + 1]?.atMs ?? end
      const tier = s.tier ?? 'not used'
      const span = `${ms(s.atMs)} → ${ms(to)}`
      bands.push({ lane: tierLane, from: s.atMs, to, state: tier, tip: `${name} (${e.id}) in tier ${tier}${s.queued ? ', in the failure queue' : ''}; passive health ${s.health}\n${span}` })
      bands.push({ lane: breakerLane, from: s.atMs, to, state: `breaker ${s.breaker}`, tip: `${name} (${e.id}): circuit breaker ${s.breaker}\n${span}` })
    })
  }
  const byId = new Map(trace.endpoints.map((e) => [e.id, e]))
  const attempts = trace.attempts.flatMap((a) => {
    const e = byId.get(a.endpointId)
    if (!e || a.endMs === undefined) return []
    return [{
      lane: `${nameOf(e)} · tier`, at: a.startMs ?? a.endMs, result: a.outcome === 'ok' ? 'attempt ok' : 'attempt failed',
      tip: `${a.requestId}: attempt ${a.attempt} → ${nameOf(e)}: ${a.outcome}${a.status !== undefined ? ` HTTP ${a.status}` : ''}${a.error ? ` ("${a.error}")` : ''}\nat ${ms(a.startMs ?? a.endMs)}`,
    }]
  })
  const x = { field: 'from', type: 'quantitative' as const, scale: { domain: [0, Math.max(1, end)], nice: false }, axis: axisMs }
  const y = { field: 'lane', type: 'nominal' as const, scale: { domain: lanes }, axis: { title: null, labelLimit: 160 }, sort: null }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: options.width ?? 900,
    height: { step: 22 },
    config: baseConfig,
    layer: [
      {
        data: { values: bands },
        mark: { type: 'bar', height: { band: 0.8 } },
        encoding: {
          x, x2: { field: 'to' }, y,
          color: { field: 'state', type: 'nominal', scale: { domain: Object.keys(stateColors), range: Object.values(stateColors) }, legend: { title: 'state', orient: 'bottom', columns: 5, labelLimit: 300 } },
          description: { field: 'tip' },
        },
      },
      {
        data: { values: attempts },
        mark: { type: 'tick', thickness: 2, bandSize: 12 },
        encoding: {
          x: { ...x, field: 'at' }, y,
          color: { field: 'result', type: 'nominal', scale: { domain: Object.keys(attemptColors), range: Object.values(attemptColors) }, legend: { title: 'requests that hit it', orient: 'bottom' } },
          description: { field: 'tip' },
        },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec
}
