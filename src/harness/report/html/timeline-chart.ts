/**
 * The connection timeline of one variant: one lane per upstream connection (and one for the client on
 * top), each request a bar from the moment its head reached the upstream to its last byte, the relay's
 * own FIN/RST as black markers, a request sent again drawn from its failed arrival to the next one. Idle
 * gaps are the bare stretches of a connection's line. Built from the report's `trace` alone.
 */
import type { TopLevelSpec } from 'vega-lite'
import type { TraceArrival, TraceUpstream, VariantTrace } from '../types.ts'
import { axisMs, baseConfig, ms, msExact } from '../../../shared/html/chart-style.ts'

/** What a bar is, in the legend's words; the order and colours are the legend's. */
export const barKinds = {
  ok: { label: 'succeeded', color: '#54a24b' },
  answered: { label: 'upstream answered 2xx', color: '#4c78a8' },
  errorAnswer: { label: 'error status', color: '#f58518' },
  failed: { label: 'failed / dropped unanswered', color: '#d62728' },
  cut: { label: 'cut mid-response', color: '#9467bd' },
  inFlight: { label: 'in flight at the end', color: '#bab0ac' },
  probe: { label: "proxy's own call (probe)", color: '#17becf' },
} as const
export type BarKind = keyof typeof barKinds

export const markerKinds = {
  fin: { label: 'relay closed it (FIN)', shape: 'triangle-down' },
  rst: { label: 'relay reset it (RST)', shape: 'cross' },
  peer: { label: 'proxy closed it', shape: 'M0,-1V1' },
} as const

export const CLIENT_LANE = 'client'

export interface TimelineOptions {
  /** Only this stretch of time (ms since the variant started): a zoom. */
  readonly window?: readonly [number, number]
  /** A stretch to shade in the overview (where the zoom is). */
  readonly highlight?: readonly [number, number]
  /** Label each arrival after an idle gap with its idle time (a zoom has room for it). */
  readonly idleLabels?: boolean
  readonly width?: number
}

/** The proxy's attempts on one endpoint. */
export function proxyLaneOf(endpoint: string): string {
  return `proxy → ${endpoint}`
}

/** `relay-a #3`; the upstream name alone would not tell connections apart. */
export function laneOf(upstream: string, connectionId: number): string {
  return `${upstream} #${connectionId}`
}

export function arrivalKind(a: TraceArrival): BarKind {
  if (a.probe) return 'probe'
  if (a.outcome === 'dropped') return 'failed'
  if (a.outcome === 'cut') return 'cut'
  if (a.outcome === 'in-flight') return 'inFlight'
  return a.status !== undefined && a.status >= 200 && a.status < 300 ? 'answered' : 'errorAnswer'
}

/** Where the timeline ends: the last thing that happened. */
export function traceEndMs(trace: VariantTrace): number {
  let end = 0
  for (const r of trace.requests) end = Math.max(end, r.startMs + r.latencyMs)
  for (const u of trace.upstreams) {
    for (const c of u.connections) end = Math.max(end, c.closeMs ?? c.openMs, c.serverClose?.atMs ?? 0)
    for (const a of u.arrivals) end = Math.max(end, a.endMs ?? a.atMs)
  }
  return end
}

const sentence = (a: TraceArrival, u: TraceUpstream): string => {
  const where = `${u.name} connection #${a.connectionId}, request ${a.index + 1} on it${a.index > 0 ? `, after ${ms(a.idleMs)} idle` : ' (a new connection)'}`
  const what = a.outcome === 'dropped'
    ? `dropped: ${u.name} closed the connection without answering${a.fault ? ` (${a.fault.replace(/^fault:/, '')})` : ''}`
    : a.outcome === 'answered' ? `answered HTTP ${a.status ?? '?'}${a.fault ? ` by fault ${a.fault}` : ''}` : a.outcome
  return `${a.requestId}: ${what}\n${where}\nhead read at ${msExact(a.atMs)}${a.endMs !== undefined ? `, done at ${msExact(a.endMs)}` : ', not done at the end'}`
}

/** The first thing that went wrong, for the overview's callout and the zoom: a drop, else a client failure. */
export function firstFailure(trace: VariantTrace): { readonly atMs: number; readonly lane: string; readonly requestId: string } | undefined {
  let first: { atMs: number; lane: string; requestId: string } | undefined
  for (const u of trace.upstreams) {
    for (const a of u.arrivals) {
      if (a.probe || (a.outcome !== 'dropped' && a.outcome !== 'cut')) continue
      if (!first || a.atMs < first.atMs) first = { atMs: a.atMs, lane: laneOf(u.name, a.connectionId), requestId: a.requestId }
    }
  }
  if (first) return first
  const failed = trace.requests.filter((r) => r.failure !== undefined && !r.skipped).sort((a, b) => a.startMs - b.startMs)[0]
  return failed ? { atMs: failed.startMs, lane: CLIENT_LANE, requestId: failed.id } : undefined
}

/** The idle stretch of the first failure's connection just before it, when it is wide enough to label. */
function gapBefore(trace: VariantTrace, first: { readonly atMs: number; readonly lane: string }): { from: number; to: number; lane: string } | undefined {
  for (const u of trace.upstreams) {
    for (const a of u.arrivals) {
      if (laneOf(u.name, a.connectionId) !== first.lane || a.atMs !== first.atMs || a.index === 0) continue
      const before = u.arrivals.find((b) => b.connectionId === a.connectionId && b.index === a.index - 1)
      const from = before?.endMs ?? before?.atMs
      if (from !== undefined && a.atMs - from >= traceEndMs(trace) / 12) return { from, to: a.atMs, lane: first.lane }
    }
  }
  return undefined
}

export function timelineSpec(trace: VariantTrace, options: TimelineOptions = {}): TopLevelSpec {
  const end = traceEndMs(trace)
  const [from, to] = options.window ?? [0, Math.max(1, end)]
  const width = options.width ?? 900
  const inWindow = (a: number, b: number): boolean => b >= from && a <= to
  const clip = (v: number): number => Math.min(to, Math.max(from, v))
  const requestById = new Map(trace.requests.map((r) => [r.id, r]))
  const clientNote = (id: string): string => {
    const r = requestById.get(id)
    if (!r) return ''
    return r.failure === undefined ? '\nthe client: succeeded' : `\nthe client: ${r.failure}${r.cause ? ` (the proxy met ${r.cause})` : ''}${r.diagnosis ? `\n${r.diagnosis}` : ''}`
  }
  const endpointName = new Map(trace.endpoints.map((e) => [e.id, e.upstream ?? e.id]))

  const lanes: string[] = [CLIENT_LANE]
  const lines: Array<Record<string, unknown>> = []
  const bars: Array<{ lane: string; from: number; to: number; kind: string; failed: boolean; tip: string }> = []
  const markers: Array<Record<string, unknown>> = []
  const idle: Array<Record<string, unknown>> = []
  const add = (lane: string, a: number, b: number, kind: BarKind, tip: string): void => {
    if (inWindow(a, b)) bars.push({ lane, from: clip(a), to: clip(b), kind: barKinds[kind].label, failed: kind === 'failed' || kind === 'cut', tip })
  }

  for (const r of trace.requests) {
    if (r.skipped) continue
    const failed = r.failure !== undefined
    add(CLIENT_LANE, r.startMs, r.startMs + r.latencyMs, failed ? 'failed' : 'ok',
      `${r.id}: the client ${failed ? `saw ${r.failure}` : 'got its answer'}${r.status !== undefined ? ` (HTTP ${r.status})` : ''}\nsent at ${msExact(r.startMs)}, done after ${ms(r.latencyMs)}${r.diagnosis ? `\n${r.diagnosis}` : ''}`)
  }
  for (const name of new Set(trace.attempts.map((a) => endpointName.get(a.endpointId) ?? a.endpointId))) lanes.push(proxyLaneOf(name))
  for (const a of trace.attempts) {
    if (a.startMs === undefined || a.endMs === undefined) continue
    const name = endpointName.get(a.endpointId) ?? a.endpointId
    const kind: BarKind = a.outcome === 'ok' ? 'ok' : (a.status ?? 0) >= 400 ? 'errorAnswer' : 'failed'
    add(proxyLaneOf(name), a.startMs, a.endMs, kind,
      `${a.requestId}: attempt ${a.attempt} → ${name}${name !== a.endpointId ? ` (${a.endpointId})` : ''}: ${a.outcome}${a.status !== undefined ? ` HTTP ${a.status}` : ''}${a.reused ? ' on a reused connection' : ' on a new connection'}${a.staleRetry ? ' (the retry on a fresh connection)' : ''}${a.error ? `\n"${a.error}"` : ''}\n${msExact(a.startMs)} → ${msExact(a.endMs)}`)
  }
  // Every connection's lane, in order: a lane is shown when its connection was open in the window, or when
  // anything drawn is on it (an arrival or a request sent again can be timed just past its connection's
  // recorded close; a lane left out of the y domain would be drawn at NaN).
  const connectionLanes: string[] = []
  const openInWindow = new Set<string>()
  for (const u of trace.upstreams) {
    for (const c of u.connections) {
      const closeMs = c.closeMs ?? end
      const lane = laneOf(u.name, c.id)
      connectionLanes.push(lane)
      if (!inWindow(c.openMs, closeMs)) continue
      openInWindow.add(lane)
      lines.push({ lane, from: clip(c.openMs), to: clip(closeMs) })
      if (c.serverClose && inWindow(c.serverClose.atMs, c.serverClose.atMs)) {
        const kind = c.serverClose.kind
        markers.push({ lane, at: c.serverClose.atMs, kind: markerKinds[kind].label, tip: `${u.name} ${kind === 'fin' ? 'closed' : 'reset'} connection #${c.id} (${kind.toUpperCase()}) at ${msExact(c.serverClose.atMs)}${c.closedBy ? ` · ${c.closedBy}` : ''}` })
      } else if (c.closeMs !== undefined && c.closedBy === 'peer' && inWindow(c.closeMs, c.closeMs)) {
        markers.push({ lane, at: c.closeMs, kind: markerKinds.peer.label, tip: `the proxy closed connection #${c.id} to ${u.name} at ${msExact(c.closeMs)}` })
      }
    }
    for (const a of u.arrivals) {
      const lane = laneOf(u.name, a.connectionId)
      add(lane, a.atMs, a.endMs ?? end, arrivalKind(a), `${sentence(a, u)}${a.probe ? '' : clientNote(a.requestId)}`)
      if (options.idleLabels && a.index > 0 && a.idleMs >= 1 && inWindow(a.atMs, a.atMs)) idle.push({ lane, at: a.atMs, text: `idle ${ms(a.idleMs)} →` })
    }
  }

  // A request sent again: from where one arrival ended to where the next one of the same id began.
  const arrivalsById = new Map<string, Array<TraceArrival & { upstream: string }>>()
  for (const u of trace.upstreams) {
    for (const a of u.arrivals) {
      if (a.probe) continue
      const list = arrivalsById.get(a.requestId)
      if (list) list.push({ ...a, upstream: u.name })
      else arrivalsById.set(a.requestId, [{ ...a, upstream: u.name }])
    }
  }
  const retries: Array<Record<string, unknown>> = []
  for (const [id, list] of arrivalsById) {
    const ordered = list.sort((a, b) => a.atMs - b.atMs)
    for (let i = 1; i < ordered.length; i++) {
      const prev = ordered[i - 1]!
      const next = ordered[i]!
      const x = prev.endMs ?? prev.atMs
      if (!inWindow(Math.min(x, next.atMs), next.atMs)) continue
      const lane = laneOf(prev.upstream, prev.connectionId)
      const lane2 = laneOf(next.upstream, next.connectionId)
      retries.push({
        lane, lane2, from: clip(x), to: clip(next.atMs),
        tip: `${id} sent again after ${prev.outcome === 'answered' ? `HTTP ${prev.status ?? '?'}` : prev.outcome}: to ${next.upstream} connection #${next.connectionId}${next.index === 0 ? ' (a fresh connection)' : ' (a reused connection)'} at ${msExact(next.atMs)}`,
      })
    }
  }

  const kinds = Object.values(barKinds)
  const color = { field: 'kind', type: 'nominal' as const, scale: { domain: kinds.map((k) => k.label), range: kinds.map((k) => k.color) }, legend: { title: 'request', orient: 'bottom' as const, columns: 4, symbolType: 'square', labelLimit: 400 } }
  const drawn = new Set<unknown>([...bars.map((b) => b.lane), ...[...markers, ...idle].map((d) => d.lane), ...retries.flatMap((r) => [r.lane, r.lane2])])
  for (const lane of connectionLanes) if (openInWindow.has(lane) || drawn.has(lane)) lanes.push(lane)
  for (const r of retries) r.shape = lanes.indexOf(r.lane2 as string) >= lanes.indexOf(r.lane as string) ? 'triangle-down' : 'triangle-up'
  const step = Math.max(4, Math.min(22, Math.floor(560 / lanes.length)))
  const y = { field: 'lane', type: 'nominal' as const, scale: { domain: lanes }, axis: { title: null, labelLimit: 140, labelOverlap: true, labelFontSize: step < 10 ? 8 : 11 }, sort: null }
  const x = { field: 'from', type: 'quantitative' as const, scale: { domain: [from, to], nice: false, zero: false }, axis: axisMs }
  const layers: unknown[] = []
  if (options.highlight) {
    layers.push({
      data: { values: [{ from: Math.max(from, options.highlight[0]), to: Math.min(to, options.highlight[1]) }] },
      mark: { type: 'rect', color: '#ffe066', opacity: 0.55, aria: false },
      encoding: { x, x2: { field: 'to' } },
    })
  }
  const tick = (values: typeof bars, thickness: number, band: number): unknown => ({
    data: { values },
    mark: { type: 'tick', thickness, bandSize: Math.max(3, step * band), clip: true },
    encoding: { x, y, color, description: { field: 'tip' } },
  })
  // A request of 1 ms is under a pixel wide in a 2 s overview: drawn as a tick (failures wider, on top)
  // unless its bar is wide enough to see. Each request is drawn, and carries its tooltip, once.
  const pxPerMs = width / Math.max(1e-9, to - from)
  const wide = (b: (typeof bars)[number]): boolean => (b.to - b.from) * pxPerMs >= 3
  const bar = (values: typeof bars): unknown => ({
    data: { values },
    mark: { type: 'bar', height: { band: 0.7 }, clip: true },
    encoding: { x, x2: { field: 'to' }, y, color, description: { field: 'tip' } },
  })
  layers.push(
    { data: { values: lines }, mark: { type: 'rule', color: '#9e9e9e', strokeWidth: 1, aria: false }, encoding: { x, x2: { field: 'to' }, y } },
    bar(bars.filter((b) => wide(b) && !b.failed)),
    tick(bars.filter((b) => !wide(b) && !b.failed), 2, 0.7),
    // Failures last: on top of everything they overlap.
    bar(bars.filter((b) => wide(b) && b.failed)),
    tick(bars.filter((b) => !wide(b) && b.failed), 4, 0.9),
    {
      data: { values: retries },
      mark: { type: 'rule', color: '#333', strokeWidth: 1.2, strokeDash: [3, 2], clip: true },
      encoding: { x, x2: { field: 'to' }, y, y2: { field: 'lane2' }, description: { field: 'tip' } },
    },
    {
      data: { values: retries },
      mark: { type: 'point', filled: true, color: '#333', size: 30, clip: true },
      encoding: { x: { ...x, field: 'to' }, y: { ...y, field: 'lane2' }, shape: { field: 'shape', type: 'nominal', scale: null, legend: null }, description: { field: 'tip' } },
    },
    {
      data: { values: markers },
      mark: { type: 'point', filled: true, size: Math.max(12, Math.min(70, step * step * 0.3)), yOffset: -Math.round(step * 0.45), strokeWidth: 1.5, clip: true },
      encoding: {
        x: { ...x, field: 'at' }, y,
        shape: { field: 'kind', type: 'nominal', scale: { domain: Object.values(markerKinds).map((m) => m.label), range: Object.values(markerKinds).map((m) => m.shape) }, legend: { title: 'connection', orient: 'bottom', columns: 1, labelLimit: 400 } },
        color: { value: '#111' },
        stroke: { value: '#111' },
        description: { field: 'tip' },
      },
    },
  )
  if (idle.length > 0) {
    layers.push({
      data: { values: idle },
      mark: { type: 'text', align: 'right', dx: -4, fontSize: 10, color: '#444', aria: false },
      encoding: { x: { ...x, field: 'at' }, y, text: { field: 'text' } },
    })
  }
  const first = options.window ? undefined : firstFailure(trace)
  // The idle gap that led to the first failure, named on the overview: what the reader should notice.
  const gap = first ? gapBefore(trace, first) : undefined
  if (gap) {
    layers.push({
      data: { values: [{ at: (gap.from + gap.to) / 2, lane: gap.lane, text: `idle ${ms(gap.to - gap.from)}` }] },
      mark: { type: 'text', align: 'center', baseline: 'bottom', dy: -3, fontSize: 10, fontStyle: 'italic', color: '#555', aria: false },
      encoding: { x: { ...x, field: 'at' }, y, text: { field: 'text' } },
    })
  }
  if (first) {
    layers.push({
      data: { values: [{ at: first.atMs, lane: first.lane, text: `← first failure (${msExact(first.atMs)}): zoomed in below` }] },
      mark: { type: 'text', align: 'left', dx: 10, fontSize: 11, fontWeight: 'bold', color: '#b00', aria: false },
      encoding: { x: { ...x, field: 'at' }, y, text: { field: 'text' } },
    })
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width,
    height: { step },
    config: baseConfig,
    layer: layers,
    resolve: { scale: { shape: 'independent' } },
  } as TopLevelSpec
}
