import { describe, expect, it } from 'vitest'
import { median, relativeSpread, ratio } from '../../../src/bench/stats.ts'
import { asBenchReport, compareReports, NOISE_FACTOR, noiseFactorOf, roundRatioSpread } from '../../../src/bench/compare.ts'
import { compareSpec } from '../../../src/bench/html/compare-chart.ts'
import { QccLabError } from '../../../src/shared/errors.ts'
import type { BenchReport, BenchResult, RoundFigures } from '../../../src/bench/types.ts'

const round = (rps: number, p50 = 10): RoundFigures => ({
  requests: rps, rps, p50, p90: p50 * 2, p99: p50 * 4, ttfbP50: p50, errors: {}, connectionsPerRequest: 0, handshakesPerRequest: 0, clientCpuCores: 0.3,
})

function result(id: string, rpsRounds: number[], p50 = 10): BenchResult {
  const rounds = rpsRounds.map((r) => round(r, p50))
  const rps = median(rpsRounds)
  const target = (id.includes('/') ? id.slice(id.lastIndexOf('/') + 1) : 'tuned-keepalive') as BenchResult['target']
  return {
    id, target, protocol: 'http', payload: 'json', concurrency: 64, rttMs: 0,
    rounds,
    median: { requests: rps, rps, p50, p90: p50 * 2, p99: p50 * 4, ttfbP50: p50, errors: 0, connectionsPerRequest: 0, handshakesPerRequest: 0, clientCpuCores: 0.3 },
    spread: { rps: relativeSpread(rpsRounds), p50: 0, p90: 0, p99: 0, ttfbP50: 0 },
  }
}

function report(results: BenchResult[]): BenchReport {
  return {
    schema: 'qcc-lab/bench-report@1', createdAt: '2026-11-26T00:00:00Z', mode: 'quick', settings: { rounds: 3, roundMs: 600, warmupMs: 600 },
    environment: { node: '24', undici: '8', cpuModel: 'x', cores: 2, platform: 'linux-x64', gitCommit: null },
    results, ratios: [],
  }
}

describe('bench statistics', () => {
  it('takes medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([])).toBe(0)
  })

  it('measures spread as (max - min) / median, 0 for one round', () => {
    expect(relativeSpread([90, 100, 110])).toBeCloseTo(0.2)
    expect(relativeSpread([100])).toBe(0)
    expect(relativeSpread([0, 0])).toBe(0)
  })

  it('gives no ratio over zero', () => {
    expect(ratio(1, 2)).toBe(0.5)
    expect(ratio(1, 0)).toBeNull()
  })
})

describe('compareReports', () => {
  const base = report([result('a', [980, 1000, 1020]), result('b', [500, 510, 520])])

  it('passes a report against a copy of itself', () => {
    const c = compareReports(base, structuredClone(base))
    expect(c.regressions).toBe(0)
    expect(c.changes).toHaveLength(2 * 5) // 2 configurations × 5 figures
    expect(c.changes.every((x) => x.changePct === 0)).toBe(true)
  })

  it('flags throughput cut in half as a regression', () => {
    const head = structuredClone(base) as { results: BenchResult[] } & BenchReport
    const a = head.results[0]!
    ;(a.median as { rps: number }).rps = a.median.rps / 2
    const c = compareReports(base, head)
    expect(c.regressions).toBe(1)
    expect(c.changes.find((x) => x.regression)).toMatchObject({ id: 'a', figure: 'rps', changePct: -50 })
  })

  it('does not flag a change within the measured spread, however large the threshold is exceeded', () => {
    const noisyBase = report([result('a', [600, 1000, 1400])]) // spread 80 %
    const head = report([result('a', [500, 700, 900])]) // -30 %
    const c = compareReports(noisyBase, head, 10)
    expect(c.changes.find((x) => x.figure === 'rps')).toMatchObject({ regression: false, worse: false })
  })

  it('does not flag a change beyond the noise but under the threshold', () => {
    const head = report([result('a', [890, 900, 910]), result('b', [500, 510, 520])]) // -10 %, spread 2 % (base 4 %)
    expect(compareReports(base, head, 12).regressions).toBe(0)
    expect(compareReports(base, head, 3).regressions).toBe(1)
  })

  it(`counts a change only beyond NOISE_FACTOR (${NOISE_FACTOR}) times the larger spread, not beyond the spread alone`, () => {
    // base a: spread 4 %. -5 % is beyond 1× that and the threshold, not beyond 1.5×; -7 % is beyond both.
    const within = compareReports(base, report([result('a', [940, 950, 960]), result('b', [500, 510, 520])]), 3)
    expect(within.regressions).toBe(0)
    expect(within.noiseFactor).toBe(1.5)
    expect(within.changes.find((x) => x.id === 'a' && x.figure === 'rps')).toMatchObject({ changePct: -5, noisePct: 4, worse: false })
    const beyond = compareReports(base, report([result('a', [920, 930, 940]), result('b', [500, 510, 520])]), 3)
    expect(beyond.changes.find((x) => x.id === 'a' && x.figure === 'rps')).toMatchObject({ changePct: -7, worse: true, regression: true })
  })

  it('treats latency as lower-is-better, and gates on p99 only when asked', () => {
    const head = report([result('a', [980, 1000, 1020], 10), result('b', [500, 510, 520], 10)])
    const slower = structuredClone(head) as BenchReport
    ;(slower.results[0]!.median as { p99: number }).p99 = 80 // was 40
    expect(compareReports(base, slower).regressions).toBe(0)
    expect(compareReports(base, slower).changes.find((x) => x.figure === 'p99' && x.id === 'a')).toMatchObject({ worse: true, regression: false })
    expect(compareReports(base, slower, 10, ['p99']).regressions).toBe(1)
  })

  it('refuses configurations present on one side only unless asked for the intersection, and reports with nothing in common always', () => {
    const head = report([result('a', [1000, 1000, 1000]), result('c', [1, 1, 1])])
    expect(() => compareReports(base, head)).toThrow(/1 only in base, 1 only in head, 1 in both/)
    const c = compareReports(base, head, 10, undefined, { intersection: true })
    expect(c.onlyInBase).toEqual(['b'])
    expect(c.onlyInHead).toEqual(['c'])
    expect(c).toMatchObject({ compared: 1, leftOut: 2, intersection: true })
    expect(() => compareReports(base, report([result('z', [1, 1, 1])]), 10, undefined, { intersection: true })).toThrow(/share no configuration/)
  })

  it('divides out machine drift: a proxy that slowed exactly as much as direct did has not regressed', () => {
    const g = 'http/json/c64/rtt0'
    const before = report([result(`${g}/direct`, [2000, 2010, 2020]), result(`${g}/tuned-keepalive`, [1000, 1005, 1010])])
    const slowerMachine = report([result(`${g}/direct`, [1400, 1407, 1414]), result(`${g}/tuned-keepalive`, [700, 703.5, 707])])
    const c = compareReports(before, slowerMachine)
    const tuned = c.changes.find((x) => x.id === `${g}/tuned-keepalive` && x.figure === 'rps')!
    expect(tuned.changePct).toBeCloseTo(-30)
    expect(tuned.changeVsDirectPct).toBeCloseTo(0)
    expect(tuned.regression).toBe(false)
    // direct itself is the machine: its -30 % is reported as drift and never gates.
    expect(c.changes.find((x) => x.id === `${g}/direct` && x.figure === 'rps')).toMatchObject({ regression: false, drift: true })
    expect(c.changes.find((x) => x.id === `${g}/direct`)!.changeVsDirectPct).toBeUndefined()
    expect(c.regressions).toBe(0)
  })

  it('sees through a slow phase that hit every configuration of a run at once', () => {
    // Measured on the 2-core VM: throughput halved for the last rounds of a run, direct included. The
    // raw spread (100 %) would hide anything; the per-round ratio to direct did not move.
    const g = 'http/json/c64/rtt0'
    const slowPhase = report([result(`${g}/direct`, [2000, 2000, 2000, 1000, 1000]), result(`${g}/tuned-keepalive`, [1000, 1000, 1000, 500, 500])])
    const steady = report([result(`${g}/direct`, [2000, 2000, 2000, 2000, 2000]), result(`${g}/tuned-keepalive`, [1000, 1000, 1000, 1000, 1000])])
    expect(compareReports(steady, slowPhase).regressions).toBe(0)
    const tuned = (c: ReturnType<typeof compareReports>) => c.changes.find((x) => x.id === `${g}/tuned-keepalive` && x.figure === 'rps')!
    expect(tuned(compareReports(steady, slowPhase)).noiseVsDirectPct).toBe(0)
    const halved = report([result(`${g}/direct`, [2000, 2000, 2000, 1000, 1000]), result(`${g}/tuned-keepalive`, [500, 500, 500, 250, 250])])
    expect(tuned(compareReports(steady, halved))).toMatchObject({ regression: true, changeVsDirectPct: -50 })
  })

  it('flags a halving written into the median alone (rounds untouched)', () => {
    const g = 'https/json/c64/rtt0'
    const before = report([result(`${g}/direct`, [2000, 2100, 1900]), result(`${g}/tuned-keepalive`, [1000, 1050, 950])])
    const edited = structuredClone(before) as BenchReport
    ;(edited.results[1]!.median as { rps: number }).rps = 500
    expect(compareReports(before, edited).changes.find((x) => x.id === `${g}/tuned-keepalive` && x.figure === 'rps')).toMatchObject({ regression: true })
  })

  it('shows direct moving either way as drift, and says so in a warning', () => {
    const g = 'http/json/c64/rtt0'
    const before = report([result(`${g}/direct`, [1000, 1005, 1010, 1000, 1005]), result(`${g}/tuned-keepalive`, [500, 502, 505, 500, 502])])
    // The machine got 30 % faster and the proxy kept its raw req/s: relative to direct it is -23 %, but
    // it did not get slower; no regression, and the warning says why.
    const faster = report([result(`${g}/direct`, [1300, 1306, 1313, 1300, 1306]), result(`${g}/tuned-keepalive`, [500, 502, 505, 500, 502])])
    // These reports carry no CPU: gate on req/s alone, as a report from before CPU was recorded would.
    const c = compareReports({ ...before, settings: { ...before.settings, rounds: 5 } }, { ...faster, settings: { ...faster.settings, rounds: 5 } }, 10, ['rps'])
    expect(c.changes.find((x) => x.id === `${g}/direct` && x.figure === 'rps')).toMatchObject({ drift: true, regression: false })
    expect(c.regressions).toBe(0)
    expect(c.warnings).toEqual([expect.stringMatching(/^direct's req\/s moved \+30% in 1 group\(s\): the machine changed/)])
  })

  it('judges direct\'s drift at 1x its spread and every other configuration at NOISE_FACTOR x, in the verdicts and the chart\'s bands', () => {
    const g = 'http/json/c64/rtt0'
    // Both move +20 % with rounds that spread 14 %: beyond 1x (drift for direct), not beyond 1.5x (nginx, in
    // a group without direct, so judged on its raw change).
    const n = 'https/json/c64/rtt0'
    const rounds = [1000, 1075, 1150]
    const faster = rounds.map((r) => r * 1.2)
    const c = compareReports(report([result(`${g}/direct`, rounds), result(`${n}/nginx`, rounds)]), report([result(`${g}/direct`, faster), result(`${n}/nginx`, faster)]), 10, ['rps'])
    expect(NOISE_FACTOR).toBe(1.5)
    expect(c.changes.find((x) => x.id === `${g}/direct` && x.figure === 'rps')).toMatchObject({ drift: true })
    const nginx = c.changes.find((x) => x.id === `${n}/nginx` && x.figure === 'rps')!
    expect(nginx).toMatchObject({ improvement: false, worse: false })
    expect(nginx).not.toHaveProperty('changeVsDirectPct')
    expect([noiseFactorOf(`${g}/direct`, NOISE_FACTOR), noiseFactorOf(`${n}/nginx`, NOISE_FACTOR)]).toEqual([1, NOISE_FACTOR])
    // The grey band of each row of the chart: ±(its factor × its noise).
    const rows = ((compareSpec(c) as { data: { values: Array<{ id: string; figure: string; hi: number }> } }).data.values).filter((r) => r.figure === 'rps')
    const noise = c.changes.find((x) => x.id === `${g}/direct` && x.figure === 'rps')!.noisePct
    expect(rows.find((r) => r.id === `${g}/direct`)?.hi).toBeCloseTo(noise, 6)
    expect(rows.find((r) => r.id === `${n}/nginx`)?.hi).toBeCloseTo(NOISE_FACTOR * noise, 6)
  })

  it('never gates on the nginx anchor', () => {
    const g = 'http/json/c64/rtt0'
    const before = report([result(`${g}/direct`, [2000, 2000, 2000]), result(`${g}/nginx`, [1200, 1200, 1200])])
    const after = report([result(`${g}/direct`, [2000, 2000, 2000]), result(`${g}/nginx`, [600, 600, 600])])
    const c = compareReports(before, after)
    expect(c.changes.find((x) => x.id === `${g}/nginx` && x.figure === 'rps')).toMatchObject({ worse: true, regression: false })
    expect(c.regressions).toBe(0)
  })

  it('falls back to the stored spreads when rounds do not line up', () => {
    const g = 'https/sse/c64/rtt0'
    const noRounds = (r: BenchResult, spread: number): BenchResult => ({ ...r, rounds: [], spread: { ...r.spread, rps: spread } })
    const before = report([noRounds(result(`${g}/direct`, [2000]), 0.05), noRounds(result(`${g}/tuned-keepalive`, [1000]), 0.4)])
    const after = report([noRounds(result(`${g}/direct`, [2000]), 0.05), noRounds(result(`${g}/tuned-keepalive`, [700]), 0.4)])
    const tuned = compareReports(before, after).changes.find((x) => x.id === `${g}/tuned-keepalive` && x.figure === 'rps')!
    expect(tuned.noiseVsDirectPct).toBeCloseTo(40)
    expect(tuned.regression).toBe(false) // -30 % inside a 40 % spread
  })

  it('warns when a report has too few rounds to measure its noise', () => {
    expect(compareReports(base, base, 10, ['rps']).warnings).toEqual([
      expect.stringMatching(/^base has 3 round\(s\) per configuration/),
      expect.stringMatching(/^head has 3 round\(s\)/),
    ])
    const five = { ...base, settings: { ...base.settings, rounds: 5 } }
    expect(compareReports(five, five, 10, ['rps']).warnings).toEqual([])
  })

  it('says when CPU per request gates but the reports have none, instead of passing in silence', () => {
    const five = { ...base, settings: { ...base.settings, rounds: 5 } }
    const c = compareReports(five, five)
    expect(c.cpu).toBeUndefined()
    expect(c.warnings).toEqual([expect.stringMatching(/^CPU per request gates, but only 0 of the 2 proxy configurations have it in both reports: the others were not judged on CPU and the CPU over all configurations was not judged/)])
  })

  it('measures the spread of per-round ratios to direct', () => {
    const d = result('g/direct', [1000, 2000, 4000])
    const x = result('g/tuned-keepalive', [500, 1000, 2000])
    expect(roundRatioSpread(x, d, 'rps')).toBe(0)
    expect(roundRatioSpread(result('g/tuned-keepalive', [400, 1000, 2400]), d, 'rps')).toBeCloseTo((0.6 - 0.4) / 0.5)
    expect(roundRatioSpread(result('g/tuned-keepalive', [400]), d, 'rps')).toBeUndefined()
  })

  it('warns about a noisy run', () => {
    const noisy = report([result('a', [300, 1000, 1900]), result('b', [100, 510, 900])])
    expect(compareReports(noisy, base).warnings.some((w) => /^base was a noisy run \(median req\/s spread \d+%/.test(w))).toBe(true)
    expect(compareReports(base, base).warnings.some((w) => /noisy run/.test(w))).toBe(false)
  })

  it('still flags a proxy that halved while direct held', () => {
    const g = 'https/sse/c64/rtt0'
    const before = report([result(`${g}/direct`, [2000, 2010, 2020]), result(`${g}/tuned-keepalive`, [1000, 1005, 1010])])
    const after = report([result(`${g}/direct`, [2000, 2010, 2020]), result(`${g}/tuned-keepalive`, [500, 502.5, 505])])
    const tuned = compareReports(before, after).changes.find((x) => x.id === `${g}/tuned-keepalive` && x.figure === 'rps')!
    expect(tuned).toMatchObject({ regression: true })
    expect(tuned.changePct).toBeCloseTo(-50)
    expect(tuned.changeVsDirectPct).toBeCloseTo(-50)
  })

  it('does not call it a regression when the proxy only looks worse relative to a faster direct', () => {
    // direct +40 %, proxy unchanged: relative to direct it is -29 %, but as measured it did not move.
    const g = 'http/sse/c8/rtt20'
    const before = report([result(`${g}/direct`, [1000, 1005, 1010]), result(`${g}/force-close`, [300, 301, 302])])
    const after = report([result(`${g}/direct`, [1400, 1407, 1414]), result(`${g}/force-close`, [300, 301, 302])])
    expect(compareReports(before, after).changes.find((x) => x.id === `${g}/force-close` && x.figure === 'rps')).toMatchObject({ regression: false })
  })

  it('refuses a file that is not a bench report', () => {
    expect(() => asBenchReport({ schema: 'qcc-lab/run-report@1', scenarios: [] }, 'x.json')).toThrow(QccLabError)
    expect(() => asBenchReport(null, 'x.json')).toThrow(/not a qcc-lab\/bench-report@1 file/)
  })
})

describe('asBenchReport: the report schema', () => {
  const good = (): any => structuredClone(report([result('http/json/c64/rtt0/direct', [980, 1000, 1020]), result('http/json/c64/rtt0/tuned-keepalive', [500, 510, 520])]))
  const refused = (data: unknown): string => {
    try {
      asBenchReport(data, 'base.json')
    } catch (err) {
      expect(err).toBeInstanceOf(QccLabError)
      return (err as Error).message
    }
    throw new Error('expected the report to be refused')
  }

  it('accepts what bench --json writes, and the committed reports', async () => {
    expect(asBenchReport(good(), 'base.json').results).toHaveLength(2)
    const { readdir, readFile } = await import('node:fs/promises')
    const results = new URL('../../../bench/results/', import.meta.url)
    for (const f of (await readdir(results)).filter((n) => n.endsWith('.json'))) {
      const data: unknown = JSON.parse(await readFile(new URL(f, results), 'utf8'))
      expect(() => asBenchReport(data, f)).not.toThrow()
    }
  })

  it('lets unknown fields through (a newer writer may add some)', () => {
    const r = good()
    r.results[0].median.newFigure = 3
    r.extra = { anything: true }
    expect(() => asBenchReport(r, 'base.json')).not.toThrow()
  })

  it.each([
    ['a string where a number belongs', (r: any) => { r.results[0].median.rps = '1000' }, 'results[0].median.rps: expected a number, got string'],
    ['a negative req/s', (r: any) => { r.results[1].median.rps = -5 }, 'results[1].median.rps: expected zero or a positive number'],
    ['null rounds', (r: any) => { r.results[0].rounds = null }, 'results[0].rounds: expected an array, got null'],
    ['a string in a round', (r: any) => { r.results[1].rounds[2].rps = 'fast' }, 'results[1].rounds[2].rps: expected a number, got string'],
    ['a missing median', (r: any) => { delete r.results[0].median }, 'results[0].median: missing; expected an object'],
    ['a missing spread figure', (r: any) => { delete r.results[0].spread.p99 }, 'results[0].spread.p99: missing; expected a number'],
    ['missing settings', (r: any) => { delete r.settings }, 'settings: missing; expected an object'],
    ['zero rounds in the settings', (r: any) => { r.settings.rounds = 0 }, 'settings.rounds: expected a positive number'],
    ['a missing id', (r: any) => { delete r.results[0].id }, 'results[0].id: missing; expected a string'],
    ['an unknown target', (r: any) => { r.results[0].target = 'turbo' }, 'results[0].target: expected one of "direct", "force-close", "naive-keepalive", "tuned-keepalive", "nginx", "node-floor"'],
    ['no results', (r: any) => { r.results = [] }, 'results: expected at least one configuration'],
    ['results that are not a list', (r: any) => { r.results = {} }, 'results: expected an array, got object'],
    ['one id twice', (r: any) => { r.results[1].id = r.results[0].id }, 'results[1].id: "http/json/c64/rtt0/direct" is also the id of results[0]; each configuration appears once in a report'],
    ['a string in ratios', (r: any) => { r.ratios = [{ id: 'x', forceCloseOverTuned: 'a', tunedOverNaive: null, proxyOverDirect: null }] }, 'ratios[0].forceCloseOverTuned: expected a number, got string'],
  ])('refuses %s, naming the file and the field', (_label, change, line) => {
    const r = good()
    change(r)
    const lines = refused(r).split('\n')
    expect(lines[0]).toBe(`base.json: ${line}`)
    expect(lines.at(-1)).toBe('  (a bench report is what `qcc-lab bench --json <file>` writes; run it again rather than edit the file)')
  })

  it('names every bad field at once', () => {
    const r = good()
    r.results[0].median.rps = '1'
    r.results[1].spread = null
    r.settings.rounds = -1
    expect(refused(r).split('\n').filter((l) => l.startsWith('base.json: '))).toHaveLength(3)
  })

  it('says which schema it found when it is not a bench report, and what that file is when qcc-lab wrote it', () => {
    expect(refused({ schema: 'qcc-lab/run-report@3' })).toBe('base.json: schema: "qcc-lab/run-report@3" is a run report (what `qcc-lab run --json` writes), not a qcc-lab/bench-report@1 file. Give a report written by `qcc-lab bench --json <file>`.')
    expect(refused({ schema: 'qcc-lab/compare-report@1' })).toMatch(/^base\.json: schema: "qcc-lab\/compare-report@1" is a comparison \(what `qcc-lab compare --json` writes\), not a qcc-lab\/bench-report@1 file/)
    expect(refused({ schema: 'qcc-lab/bench-report@2' })).toMatch(/^base\.json: schema: "qcc-lab\/bench-report@2" is a bench report in format 2, which this qcc-lab cannot read/)
    expect(refused({ schema: 'something/else@1' })).toBe('base.json: schema: not a qcc-lab/bench-report@1 file (schema: "something/else@1"). Give a report written by `qcc-lab bench --json <file>`.')
    expect(refused([1, 2])).toMatch(/^base\.json: schema: not a qcc-lab\/bench-report@1 file \(schema: null\)/)
  })
})
