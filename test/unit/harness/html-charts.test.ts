import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { compactNumbers, compileChart, renderChart, withTitles } from '../../../src/shared/html/render-chart.ts'
import { barKinds, firstFailure, laneOf, timelineSpec } from '../../../src/harness/report/html/timeline-chart.ts'
import { latencyCdfSpec } from '../../../src/harness/report/html/latency-cdf-chart.ts'
import { endpointStatesSpec, hasStateChanges, stateSummary } from '../../../src/harness/report/html/endpoint-states-chart.ts'
import { benchFigureSpec, benchFigures, type BenchFigure } from '../../../src/bench/html/bench-chart.ts'
import { compareSpec } from '../../../src/bench/html/compare-chart.ts'
import { failureStory } from '../../../src/harness/report/html/failure-story.ts'
import { asBenchReport, compareReports } from '../../../src/bench/compare.ts'
import { staleVariant } from './html-fixture.ts'

/** The layer data of a layered spec, by the mark type of each layer. */
function layers(spec: unknown): Array<{ mark: string; values: Array<Record<string, unknown>> }> {
  return (spec as { layer: Array<{ mark: { type: string }; data?: { values: Array<Record<string, unknown>> } }> }).layer
    .map((l) => ({ mark: l.mark.type, values: l.data?.values ?? [] }))
}

/** `<title>` texts of an SVG, entities decoded as a browser shows them. */
function titles(svg: string): string[] {
  return [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]!.replace(/&#xA;/g, '\n').replace(/&quot;/g, '"').replace(/&amp;/g, '&'))
}

const benchReport = asBenchReport(JSON.parse(readFileSync(new URL('../../../bench/results/quick-2026-11-26-b.json', import.meta.url), 'utf8')), 'quick-b')

describe('withTitles and compactNumbers (Vega SVG post-processing)', () => {
  it("moves a mark's aria-label into a <title>, which browsers show on hover, and leaves axis groups alone", () => {
    const svg = '<g class="mark-group role-axis" aria-label="X-axis titled \'ms\'"><path aria-label="r2: dropped &amp; &quot;cut&quot;&#xA;line 2" role="graphics-symbol" d="M0,0h2v2h-2Z"/></g>'
    expect(withTitles(svg)).toBe('<g class="mark-group role-axis" aria-label="X-axis titled \'ms\'"><path role="graphics-symbol" d="M0,0h2v2h-2Z"><title>r2: dropped &amp; &quot;cut&quot;&#xA;line 2</title></path></g>')
  })

  it('rounds coordinates to 1/100 px and never touches text', () => {
    const svg = '<path transform="translate(255.29668699017208,45.00000000000001)" d="M-4.743,-1.8971L1.5,2"/><text x="3.14159">idle 152.3456 ms</text>'
    expect(compactNumbers(svg)).toBe('<path transform="translate(255.29,45.00)" d="M-4.74,-1.89L1.5,2"/><text x="3.14">idle 152.3456 ms</text>')
  })
})

describe('every chart kind compiles without a Vega-Lite warning', () => {
  const naive = staleVariant(false)
  const tuned = staleVariant(true)
  const specs = {
    'timeline overview': timelineSpec(naive.trace, { highlight: [149, 153] }),
    'timeline zoom': timelineSpec(tuned.trace, { window: [149, 156], idleLabels: true }),
    'latency CDF': latencyCdfSpec([naive, tuned]),
    'endpoint states': endpointStatesSpec(naive.trace),
    compare: compareSpec(compareReports(benchReport, benchReport)),
    ...Object.fromEntries((Object.keys(benchFigures) as BenchFigure[]).map((f) => [`bench ${f}`, benchFigureSpec(benchReport, f)])),
  }
  for (const [name, spec] of Object.entries(specs)) {
    it(name, async () => {
      expect((await compileChart(spec)).warnings).toEqual([])
    })
  }
})

describe('the connection timeline', () => {
  it('has the client on top, then the proxy per endpoint, then one lane per upstream connection', () => {
    const spec = timelineSpec(staleVariant(false).trace) as { layer: Array<{ encoding?: { y?: { scale?: { domain?: string[] } } } }> }
    const domain = spec.layer.find((l) => l.encoding?.y?.scale?.domain)!.encoding!.y!.scale!.domain
    expect(domain).toEqual(['client', 'proxy → relay-a', laneOf('relay-a', 1), laneOf('relay-a', 2)])
  })

  it("draws the relay's FIN where it sent it and the dropped request in the failure colour, on top", () => {
    const l = layers(timelineSpec(staleVariant(false).trace))
    const markers = l.find((x) => x.mark === 'point' && x.values.some((v) => String(v.kind).includes('FIN')))!.values
    expect(markers).toEqual([expect.objectContaining({ lane: 'relay-a #1', at: 150.4, kind: 'relay closed it (FIN)' })])
    // The last bar and tick layers hold the failures, drawn over everything else.
    const marks = l.filter((x) => x.mark === 'tick' || x.mark === 'bar')
    const failed = [...marks.at(-2)!.values, ...marks.at(-1)!.values].sort((a, b) => (a.from as number) - (b.from as number))
    expect(marks.slice(0, -2).flatMap((x) => x.values).some((b) => b.kind === barKinds.failed.label)).toBe(false)
    expect(failed.map((b) => [b.lane, b.kind])).toEqual([['client', barKinds.failed.label], ['proxy → relay-a', barKinds.failed.label], ['relay-a #1', barKinds.failed.label]])
    expect(String(failed.find((b) => b.lane === 'relay-a #1')!.tip)).toMatch(/^r2: dropped: relay-a closed the connection without answering \(race-close\)\nrelay-a connection #1, request 3 on it, after 146 ms idle/)
  })

  it('draws a request sent again from where its dropped arrival ended to its fresh connection', () => {
    const retries = layers(timelineSpec(staleVariant(true).trace)).find((x) => x.mark === 'rule' && x.values.some((v) => v.lane2 !== undefined))!.values
    expect(retries).toEqual([expect.objectContaining({ lane: 'relay-a #1', lane2: 'relay-a #2', from: 152.5, to: 152.6 })])
    expect(String(retries[0]!.tip)).toBe('r2 sent again after dropped: to relay-a connection #2 (a fresh connection) at 152.6 ms')
  })

  it('keeps only what happened inside a zoom window, cut at its edges, and labels the idle gaps there', () => {
    const l = layers(timelineSpec(staleVariant(false).trace, { window: [149, 153], idleLabels: true }))
    const bars = l.filter((x) => x.mark === 'bar' || x.mark === 'tick').flatMap((x) => x.values)
    expect(bars.every((b) => (b.from as number) >= 149 && (b.to as number) <= 153)).toBe(true)
    expect(bars.some((b) => String(b.tip).startsWith('r0'))).toBe(false)
    expect(l.find((x) => x.mark === 'text')!.values).toEqual([expect.objectContaining({ lane: 'relay-a #1', text: 'idle 146 ms →' })])
  })

  it('draws nothing on a lane it does not show, whatever the window (a lane outside the y domain is NaN in the SVG)', async () => {
    const trace = staleVariant(true).trace
    const lanesOf = (spec: unknown): { domain: string[]; used: string[] } => {
      const l = (spec as { layer: Array<{ encoding?: { y?: { scale?: { domain?: string[] } } } }> }).layer
      const domain = l.find((x) => x.encoding?.y?.scale?.domain)!.encoding!.y!.scale!.domain!
      const used = layers(spec).flatMap((x) => x.values.flatMap((v) => [v.lane, v.lane2].filter((n): n is string => typeof n === 'string')))
      return { domain, used }
    }
    // Zoom windows sliding over the drop and the retry, 0.05 ms apart: some start after connection #1 closed.
    for (let t = 148; t <= 153; t += 0.05) {
      const spec = timelineSpec(trace, { window: [t, t + 0.5], idleLabels: true })
      const { domain, used } = lanesOf(spec)
      expect(used.filter((lane) => !domain.includes(lane)), `window [${t.toFixed(2)}, ${(t + 0.5).toFixed(2)}]`).toEqual([])
    }
    const svg = await renderChart(timelineSpec(trace, { window: [152.55, 153], idleLabels: true }))
    expect(svg).not.toMatch(/NaN/)
  })

  it('points the overview at the first drop, else at the first client failure', () => {
    expect(firstFailure(staleVariant(false).trace)).toEqual({ atMs: 150.4, lane: 'relay-a #1', requestId: 'r2' })
    const noDrop = staleVariant(false).trace
    const onlyClient = { ...noDrop, upstreams: noDrop.upstreams.map((u) => ({ ...u, arrivals: u.arrivals.filter((a) => a.outcome !== 'dropped') })) }
    expect(firstFailure(onlyClient)).toEqual({ atMs: 150, lane: 'client', requestId: 'r2' })
    expect(firstFailure(staleVariant(true).trace)?.requestId).toBe('r2')
  })

  it('renders every request, the drop and the FIN as marks whose hover text names them', async () => {
    const svg = await renderChart(timelineSpec(staleVariant(false).trace))
    const t = titles(svg)
    const dropped = t.filter((x) => /^r2: dropped/.test(x))
    expect(dropped).toHaveLength(1)
    expect(dropped[0]).toContain('the client: http-502 (the proxy met stale-socket)')
    expect(dropped[0]).toContain('r2 failed (http-502) — the client got HTTP 502')
    expect(t.filter((x) => x.includes('(FIN)'))).toHaveLength(1)
    // Four client requests, four attempts, four arrivals.
    expect(t.filter((x) => /^r\d: the client/.test(x))).toHaveLength(4)
    expect(t.filter((x) => /^r\d: attempt/.test(x))).toHaveLength(4)
    expect(t.filter((x) => /^r\d: (answered|dropped)/.test(x))).toHaveLength(4)
  })
})

describe('the first failure, step by step', () => {
  it('tells the idle reuse, the crossing close, the stale socket and the 502 in the order they happened', () => {
    expect(failureStory(staleVariant(false).trace, 'r2').map((s) => `${s.atMs} ${s.text}`)).toEqual([
      '4.4 relay-a finishes r1 (request 2 on its connection #1); the connection stays open, idle, in the proxy\'s pool.',
      '150 The client sends r2 to the proxy.',
      '150.4 relay-a reads the head of r2 on connection #1, which the proxy reused after 146 ms idle.',
      '150.4 relay-a closes connection #1 (FIN) without answering r2 (fault race-close): its close and the request crossed.',
      '152.3 The proxy\'s attempt 1 on relay-a ends: stale-socket, on a reused connection ("other side closed").',
      '153 The client gets the failure: http-502, caused by stale-socket.',
    ])
  })

  it('ends with the retry on a fresh connection when the connector made one', () => {
    const story = failureStory(staleVariant(true).trace, 'r2').map((s) => s.text)
    expect(story.slice(-3)).toEqual([
      'relay-a answers r2: HTTP 200.',
      'The proxy\'s attempt 2 on relay-a (its retry on a fresh connection) ends: ok, HTTP 200.',
      'The client gets its answer (HTTP 200): the failure stayed inside the proxy.',
    ])
  })
})

describe('endpoint states', () => {
  it('are drawn when an endpoint left healthy, and summed up per state', () => {
    expect(hasStateChanges(staleVariant(false).trace)).toBe(true)
    expect(hasStateChanges(staleVariant(true).trace)).toBe(false)
    expect(stateSummary(staleVariant(false).trace)).toEqual(['relay-a: tier degraded 1 time, 6.3 ms in all'])
  })
})
