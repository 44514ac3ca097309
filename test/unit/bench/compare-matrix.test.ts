/** compare on reports of different matrices (a `--quick` one against a full one), and what its JSON says. */
import { describe, expect, it } from 'vitest'
import { compareReports, compareReportSchema, percent } from '../../../src/bench/compare.ts'
import { formatComparison } from '../../../src/bench/format.ts'
import { QccLabError } from '../../../src/shared/errors.ts'
import { benchMatrix as matrix, fullMatrix, quickMatrix } from './report-fixture.ts'

const quick = matrix(quickMatrix)
const full = matrix(fullMatrix)
const names = { base: 'quick.json', head: 'full.json' }

function refusal(fn: () => unknown): QccLabError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(QccLabError)
    return err as QccLabError
  }
  throw new Error('expected compare to refuse')
}

describe('compare: reports of different configurations', () => {
  it('refuses a --quick report against a full one, saying how many configurations each has alone, what differs and how to proceed', () => {
    expect(quick.results).toHaveLength(16)
    expect(full.results).toHaveLength(96)
    const err = refusal(() => compareReports(quick, full, 10, undefined, { names }))
    expect(err.code).toBe('REPORTS_MISMATCH')
    expect(err.message.split('\n')).toEqual([
      'Failed to compare: quick.json and full.json measured different configurations: 0 only in quick.json, 80 only in full.json, 16 in both.',
      '  mode: quick in quick.json, full in full.json',
      '  concurrency (--concurrency): 64 in quick.json, 1,8,64 in full.json',
      '  rtt ms (--rtt): 0 in quick.json, 0,20 in full.json',
      'Measure both the same way (quick.json: `qcc-lab bench --quick --rtt 0 --concurrency 64`; full.json: `qcc-lab bench --rtt 0,20 --concurrency 1,8,64`), or pass --intersection to compare only the 16 configuration(s) both have.',
    ])
  })

  it('names the nginx anchor when only one report measured it', () => {
    const anchored = matrix({ mode: 'quick', rtts: [0], concurrencies: [64], anchor: true })
    const lines = refusal(() => compareReports(quick, anchored)).message.split('\n')
    expect(lines[0]).toBe('Failed to compare: base and head measured different configurations: 0 only in base, 4 only in head, 16 in both.')
    expect(lines.slice(1, -1)).toEqual(['  targets (--anchor): direct,force-close,naive-keepalive,tuned-keepalive in base, direct,force-close,naive-keepalive,nginx,tuned-keepalive in head'])
    expect(lines.at(-1)).toMatch(/head: `qcc-lab bench --quick --rtt 0 --concurrency 64 --anchor nginx`/)
  })

  it('names the missing configurations when the settings are the same (an interrupted or edited report)', () => {
    const partial = { ...full, results: full.results.slice(1) }
    const lines = refusal(() => compareReports(full, partial)).message.split('\n')
    expect(lines[0]).toMatch(/: 1 only in base, 0 only in head, 95 in both\.$/)
    expect(lines[1]).toBe('  the same settings, but not the same configurations: http/json/c1/rtt0/direct (not in head)')
  })

  it('refuses reports that share nothing even with --intersection, saying how to measure them alike', () => {
    const rtt20 = matrix({ mode: 'quick', rtts: [20], concurrencies: [64] })
    const msg = refusal(() => compareReports(quick, rtt20, 10, undefined, { intersection: true })).message
    expect(msg).toMatch(/16 only in base, 16 only in head, 0 in both\./)
    expect(msg).toMatch(/\n {2}rtt ms \(--rtt\): 0 in base, 20 in head\n/)
    expect(msg).toMatch(/They share no configuration, so there is nothing to compare: measure both the same way/)
    expect(msg).not.toMatch(/--intersection/)
  })

  it('with --intersection compares the configurations both have and says how many were left out, in the JSON and in the table', () => {
    const c = compareReports(quick, full, 10, undefined, { intersection: true, names })
    expect(c).toMatchObject({ compared: 16, leftOut: 80, intersection: true, regressions: 0 })
    expect(c.onlyInBase).toEqual([])
    expect(c.onlyInHead).toHaveLength(80)
    expect(new Set(c.changes.map((x) => x.id))).toEqual(new Set(quick.results.map((r) => r.id)))
    const json = JSON.parse(JSON.stringify(c)) as Record<string, unknown>
    expect(json).toMatchObject({ compared: 16, leftOut: 80, intersection: true })
    const table = formatComparison(c, false)
    expect(table.split('\n')[0]).toBe('--intersection: compared the 16 configuration(s) both reports have; left out 80 (0 only in base, 80 only in head).')
    expect(table).toMatch(/^left out, only in head: http\/json\/c1\/rtt0\/direct, .*, … 74 more \(--verbose lists them\)$/m)
    expect(formatComparison(c, true)).toMatch(/^left out, only in head: (?:[^,\n]+, ){79}[^,\n]+$/m)
  })

  it('changes nothing for reports of the same configurations, with or without --intersection', () => {
    const again = structuredClone(full)
    const plain = compareReports(full, again)
    expect(plain).toMatchObject({ compared: 96, leftOut: 0, intersection: false, onlyInBase: [], onlyInHead: [] })
    expect({ ...compareReports(full, again, 10, undefined, { intersection: true }), intersection: false }).toEqual(plain)
    expect(formatComparison(plain, false)).not.toMatch(/left out|intersection/)
  })
})

describe('compare: its JSON', () => {
  it('is tagged qcc-lab/compare-report@1, first', () => {
    const c = compareReports(quick, structuredClone(quick))
    expect(compareReportSchema).toBe('qcc-lab/compare-report@1')
    expect(Object.entries(JSON.parse(JSON.stringify(c)) as object)[0]).toEqual(['schema', 'qcc-lab/compare-report@1'])
  })

  it('speaks percent, as --threshold does, in fields whose names say so', () => {
    const halved = matrix({ mode: 'quick', rtts: [0], concurrencies: [64], rps: (id) => (id === 'http/json/c64/rtt0/tuned-keepalive' ? 500 : id.endsWith('/direct') ? 2000 : 1000) })
    const c = compareReports(quick, halved, 10)
    const json = JSON.parse(JSON.stringify(c)) as { thresholdPct: number; changes: Array<Record<string, unknown>> }
    expect(json.thresholdPct).toBe(10)
    const tuned = json.changes.find((x) => x.id === 'http/json/c64/rtt0/tuned-keepalive' && x.figure === 'rps')
    expect(tuned).toEqual({
      id: 'http/json/c64/rtt0/tuned-keepalive', figure: 'rps', base: 1000, head: 500,
      changePct: -50, changeVsDirectPct: -50, noisePct: 8, noiseVsDirectPct: 8,
      regression: true, worse: true, improvement: false, drift: false,
    })
    // Every number but the two measured figures is a percentage, and named so.
    const numeric = new Set(json.changes.flatMap((x) => Object.entries(x).filter(([, v]) => typeof v === 'number').map(([k]) => k)))
    expect([...numeric].filter((k) => k !== 'base' && k !== 'head' && !k.endsWith('Pct'))).toEqual([])
    expect(formatComparison(c, false)).toMatch(/http\/json\/c64\/rtt0\/tuned-keepalive\s+rps\s+1000\.00\s+500\.00\s+-50\.0%\s+-50\.0% vs direct\s+8%\s+REGRESSION/)
  })

  it('converts fractions to percent in one place, without binary noise', () => {
    expect(percent(0.08)).toBe(8)
    expect(percent(-0.5)).toBe(-50)
    expect(percent((1000 - 2050) / 2050)).toBe(-51.219512)
  })
})
