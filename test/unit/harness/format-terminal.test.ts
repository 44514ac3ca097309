/**
 * The terminal report as a person reads it: every line fits the width it is given (80 for a pipe), at
 * 80 columns nothing that decides a run is lost (verdicts, variants, each expectation's result, every
 * table value), colour changes no layout, and `--repeat` says what its numbers count.
 */
import { describe, expect, it } from 'vitest'
import { formatRunSummary, formatScenario, keep, truncate, wrap } from '../../../src/harness/report/format-terminal.ts'
import { summarizeVariant } from '../../../src/harness/report/summarize.ts'
import { buildRunReport } from '../../../src/harness/report/build-report.ts'
import { bundledConstants } from '../../../src/harness/scenario/constants.ts'
import { parseCheck, type Expectation } from '../../../src/harness/gate/expectation.ts'
import { resolveConnector } from '../../../src/proxy/connector/profiles.ts'
import type { VariantRecord } from '../../../src/harness/runner/record.ts'
import type { AttemptEvent } from '../../../src/proxy/events.ts'
import type { RunReport, ScenarioReport, VariantReport } from '../../../src/harness/report/types.ts'

const check = (c: string): Expectation => {
  const r = parseCheck(c)
  if (!r.ok) throw new Error(r.problem)
  return r.expectation
}

/** Columns on a terminal, measured apart from the code under test: colour codes none, Han characters two. */
const columns = (line: string): number => [...line.replace(/\u001b\[[0-9;]*m/g, '')].reduce((n, ch) => n + (/[\p{Script=Han}\u3000-\u303f\uff00-\uff60]/u.test(ch) ? 2 : 1), 0)
const plain = (text: string): string => text.replace(/\u001b\[[0-9;]*m/g, '')
/** The text with its line breaks and indents undone, to find a sentence that was wrapped. */
const flat = (text: string): string => plain(text).replace(/\s+/g, ' ')
/** The text without any white space, to find a long word (a JSON body) that was cut across lines. */
const squash = (text: string): string => plain(text).replace(/\s+/g, '')

const attempt = (requestId: string, outcome: AttemptEvent['outcome'], over: Partial<AttemptEvent> = {}): AttemptEvent => ({
  proxyId: 'p', requestId, attempt: 1, endpointId: 'a1a86b56', outcome, reusedConnection: false, staleRetry: false, durationMs: 1, ...over,
})

/** A relay that cuts every reused connection; `fails` of the requests reach the client as a 502 whose body is in Chinese. */
function record(variant: string, fails: number, over: Partial<VariantRecord> = {}): VariantRecord {
  const requests = 6
  const ids = Array.from({ length: requests }, (_, i) => `${variant}-r0-${i}`)
  const failed = (i: number): boolean => i >= requests - fails
  return {
    scenario: 'stale-keepalive', variant, description: 'reuse kept; a stale reused connection is retried once on a fresh one, whatever the relay says about its keep-alive timeout',
    mode: 'bundled', connector: resolveConnector({ profile: 'naive-keepalive' }), seed: 1, repeat: 0, durationMs: 40, contract: false,
    constants: bundledConstants({}, { profile: 'naive-keepalive' }),
    workload: { requests, concurrency: 1, stream: false, burst: 2, gapMs: 1_500, requestTimeoutMs: 10_000, maxDurationMs: 60_000 },
    samples: ids.map((requestId, i) => failed(i)
      ? { index: i, requestId, startMs: i, latencyMs: 3.25, status: 502, errorBody: '{"error":{"type":"api_error","message":"上游服务暂时不可用，请稍后重试 (upstream temporarily unavailable, all 1 endpoints failed)"}}' }
      : { index: i, requestId, startMs: i, latencyMs: 1.5 + i, status: 200, messageId: `msg_relay-a_${i + 1}_${requestId}` }),
    attempts: ids.map((id, i) => attempt(id, failed(i) ? 'stale-socket' : 'ok', failed(i) ? { reusedConnection: true, errorMessage: 'other side closed' } : {})),
    requests: ids.map((requestId, i) => ({ proxyId: 'p', requestId, method: 'POST', path: '/v1/messages', status: failed(i) ? 502 : 200, outcome: failed(i) ? 'stale-socket' as const : 'ok' as const, attempts: 1, durationMs: 1 })),
    upstreams: [{
      name: 'relay-a',
      url: 'http://127.0.0.1:9',
      connections: [{ id: 1, openedAtMs: 0, requests }],
      entries: ids.map((requestId, i) => (failed(i)
        ? { seq: i + 1, requestId, connectionId: 1, indexOnConnection: i, idleBeforeMs: 151, atMs: i, method: 'POST', path: '/v1/messages', outcome: 'dropped' as const, fault: 'race-close' }
        : { seq: i + 1, requestId, connectionId: 1, indexOnConnection: i, idleBeforeMs: 1, atMs: i, method: 'POST', path: '/v1/messages', outcome: 'answered' as const, status: 200 })),
    }],
    proxyStats: { endpoints: [{ id: 'a1a86b56', base_url: 'http://127.0.0.1:9' }], total_endpoints: 1 },
    ...over,
  }
}

const variants = (): VariantReport[] => [
  summarizeVariant(record('tuned-keepalive-known-idle', 0), [check('failures.total == 0'), check('upstream.connections < requests')]),
  summarizeVariant(record('naive-keepalive', 2), [check('attempts.staleSocket >= 1'), check('failures.total == 0'), check('stats.total_endpoints == 1')]),
]

function scenario(over: Partial<ScenarioReport> = {}): ScenarioReport {
  const vs = over.variants ?? variants()
  return {
    name: 'stale-keepalive', file: 'scenarios/stale-keepalive.yaml', description: 'd', seed: 1, repeat: 0,
    verdict: vs.some((v) => v.verdict === 'fail') ? 'fail' : 'pass', mode: 'bundled', variants: vs, bundledOnly: [], ...over,
  }
}

/** A target-mode run: a contract whose target left output behind, two bundled-only variants and a kept home. */
function targetScenario(): ScenarioReport {
  const contract = summarizeVariant(
    record('contract', 2, { contract: true, mode: 'target', connector: undefined, attempts: [], requests: [], proxyStats: undefined, target: { ended: 'terminated', logTail: `${'INFO  proxy  forwarding POST /v1/messages to the first endpoint of the cluster, attempt 1 of 5 '.repeat(3)}\nERROR Cannot write to closing transport` } }),
    [check('failures.total == 0'), check('stats.failure_queue_size == 0')],
  )
  return scenario({
    mode: 'target', variants: [contract], verdict: 'fail',
    bundledOnly: [{ variant: 'naive-keepalive', reason: 'it sets the bundled proxy\'s connector profile, which an external proxy does not have' }, { variant: 'tuned-keepalive', reason: 'it sets the bundled proxy\'s connector profile' }],
    keptHomes: [{ variant: 'contract', home: '/tmp/qcc-lab-target-home-3f9c1b2a/stale-keepalive/contract' }],
  })
}

function runReport(scenarios: ScenarioReport[], repeat = 1, target = false): RunReport {
  return buildRunReport({
    scenarios, repeat, startedAt: '2025-01-01T00:00:00.000Z', durationMs: 7_300,
    environment: { node: '24.0.0', undici: '8.13.1', undiciBundled: '7.0.0', qccLab: '0.1.0', platform: 'linux', arch: 'x64', cpus: 2 },
    ...(target ? { target: { command: 'qcc proxy start --cluster {cluster} --port {port}', profile: 'qcc', layout: 'qcc', strict: true } } : {}),
  })
}

const widths = [40, 60, 80, 100, 120, 200]

describe('formatScenario: every line fits the width', () => {
  for (const width of widths) {
    for (const color of [false, true]) {
      it(`fits ${width} columns${color ? ' in colour' : ''}, bundled and target mode, summary included`, () => {
        const text = [
          formatScenario(scenario(), { color, width }),
          formatScenario(targetScenario(), { color, width }),
          formatRunSummary(runReport([scenario(), targetScenario()], 1, true), { color, width }),
        ].join('\n')
        const over = text.split('\n').filter((l) => columns(l) > width)
        expect(over.map(plain)).toEqual([])
      })
    }
  }

  it('lays out for 80 columns when no width is given (a pipe, a CI log)', () => {
    const text = formatScenario(scenario(), { color: false })
    expect(Math.max(...text.split('\n').map(columns))).toBeLessThanOrEqual(80)
  })

  it('keeps the full table on a wide terminal, one row per variant', () => {
    const text = formatScenario(scenario(), { color: false, width: 200 })
    const header = text.split('\n')[1]!
    for (const h of ['requests', 'attempts', 'stale-socket', 'client failures', 'upstream recv', 'upstream conns', 'req/conn', 'retries', 'p50 ms', 'p99 ms']) expect(header).toContain(h)
    expect(text).toMatch(/^✓ +tuned-keepalive-known-idle +6 +6 +0 +0 +6 +1 +6\.00 +0 +3\.5 +6\.5$/m)
    expect(text).not.toMatch(/ = /) // no legend: nothing was abbreviated
  })
})

describe('formatScenario: what a narrow width keeps', () => {
  for (const width of [40, 80]) {
    it(`keeps at ${width} columns every verdict, variant, value and expectation result`, () => {
      const vs = variants()
      const text = formatScenario(scenario({ variants: vs }), { color: false, width })
      const lines = text.split('\n')
      const all = flat(text)
      for (const v of vs) {
        const mark = v.verdict === 'pass' ? '✓' : '✗'
        // The variant's verdict starts its row (or its own line where the table cannot fit).
        expect(lines.some((l) => new RegExp(`^${mark} +${v.name}( |$)`).test(l)), `${v.name} ${mark}`).toBe(true)
        for (const e of v.expectations) {
          const result = e.status === 'n/a' ? `– ${e.name} (not evaluable here` : `${e.pass ? '✓' : '✗'} ${e.name} (expected ${e.expected}, got ${e.actual})`
          expect(all).toContain(result)
        }
        for (const d of v.diagnosis) expect(squash(text)).toContain(squash(d.explanation))
        // Each value of the wide table, in the row or in the variant's own lines.
        const section = flat(text.slice(text.indexOf(`\n  ${v.name} (`)))
        const row = lines.find((l) => l.startsWith(`${mark}  ${v.name} `)) ?? ''
        const failures = String(Object.values(v.failures).reduce((a, b) => a + b, 0))
        for (const [value, label] of [[String(v.requests), 'requests'], [String(v.attempts.total), 'attempts'], [String(v.attempts.staleSocket), 'stale-socket'], [failures, 'client failures'], [String(v.upstream.received), 'upstream recv'],
          [String(v.upstream.connections), 'upstream conns'], [v.upstream.requestsPerConnection.toFixed(2), 'req/conn'], [String(v.attempts.retried), 'retries'], [`${v.latencyMs.p50.toFixed(1)}`, 'p50'], [`${v.latencyMs.p99.toFixed(1)}`, 'p99']] as const) {
          const inRow = row.split(/\s+/).includes(value)
          const alone = section.includes(`${label} ${value}`) || all.includes(`${label} ${value}`)
          expect(inRow || alone, `${v.name}: ${label} ${value}`).toBe(true)
        }
      }
    })
  }

  it('abbreviates the headers at 80 columns and says what they mean', () => {
    const text = formatScenario(scenario(), { color: false, width: 80 })
    expect(text.split('\n')[1]).toMatch(/^ +variant +reqs +tries +stale +fail /)
    expect(flat(text)).toContain('tries = proxy→upstream attempts')
    expect(flat(text)).toContain('stale = stale-socket attempts')
  })

  it('wraps a diagnosis onto indented lines of its own, Chinese counted two columns a character', () => {
    const text = formatScenario(scenario(), { color: false, width: 80 })
    const lines = text.split('\n')
    const first = lines.findIndex((l) => l.startsWith('      naive-keepalive-r0-4 failed (http-502)'))
    expect(first).toBeGreaterThan(0)
    expect(lines[first + 1]).toMatch(/^ {8}\S/)
    expect(lines.filter((l) => /上游/.test(l)).every((l) => columns(l) <= 80)).toBe(true)
  })

  it('lays out the same with colour as without (colour codes take no columns)', () => {
    for (const width of widths) {
      expect(plain(formatScenario(targetScenario(), { color: true, width }))).toBe(formatScenario(targetScenario(), { color: false, width }))
      expect(plain(formatScenario(scenario(), { color: true, width }))).toBe(formatScenario(scenario(), { color: false, width }))
    }
  })

  it('closes colour at the end of each wrapped line and reopens it on the next', () => {
    const lines = formatScenario(scenario(), { color: true, width: 60 }).split('\n')
    const diagnosis = lines.findIndex((l) => plain(l).startsWith('      naive-keepalive-r0-4 failed'))
    expect(lines[diagnosis]).toMatch(/^ {6}\u001b\[2m.*\u001b\[0m$/)
    expect(lines[diagnosis + 1]).toMatch(/^ {8}\u001b\[2m/)
  })

  it('prints no colour code when colour is off (NO_COLOR)', () => {
    const text = formatScenario(targetScenario(), { color: false, width: 80 }) + formatRunSummary(runReport([scenario()], 3), { color: false, width: 80 })
    expect(text).not.toMatch(/\u001b/)
  })
})

describe('wrap and truncate', () => {
  it('breaks at spaces, cuts a word longer than a line, and keeps glued words together', () => {
    expect(wrap('one two three four', 20, '> ', '  ')).toEqual(['> one two three four'])
    expect(wrap('aaaa bbbb cccc dddd eeee ffff', 20, '', '  ')).toEqual(['aaaa bbbb cccc dddd', '  eeee ffff'])
    expect(wrap('x'.repeat(45), 20)).toEqual(['x'.repeat(20), 'x'.repeat(20), 'x'.repeat(5)])
    expect(wrap('中文字符'.repeat(6), 20).map(columns)).toEqual([20, 20, 8])
    expect(wrap(`aaaa bbbb ${keep('cccc dddd eeee')} ffff`, 20)).toEqual(['aaaa bbbb', 'cccc dddd eeee ffff'])
  })

  it('never overflows with wide characters at any offset, and keeps line breaks of the text out', () => {
    for (let width = 20; width <= 32; width++) {
      for (let offset = 0; offset < 4; offset++) {
        // Short and nearly full first words: the long wide word then starts with 0 to 3 columns left.
        const text = `${'a'.repeat(offset)} ${'上游服务'.repeat(8)} ${'b'.repeat(width - 2 - offset)} ${'上游'.repeat(20)} x`
        for (const [first, rest] of [['', ''], ['    ', '      '], [' '.repeat(width), ' '.repeat(width - 1)]] as const) {
          const lines = wrap(text, width, first, rest)
          expect(lines.filter((l) => columns(l) > width), `${width} ${offset} ${first.length}`).toEqual([])
        }
      }
    }
    expect(wrap('<html>\r\n<body>\n\t<h1>502 Bad Gateway</h1>', 80, '  ')).toEqual(['  <html> <body> <h1>502 Bad Gateway</h1>'])
  })

  it('cuts a live line to the width with an ellipsis', () => {
    expect(truncate('stale-keepalive › tuned-keepalive-known-idle 3/40 requests', 30)).toBe('stale-keepalive › tuned-keepa…')
    expect(truncate('short', 30)).toBe('short')
  })
})

describe('formatRunSummary with --repeat', () => {
  /** Three runs: the first expectation held in all of them, the second in two. */
  function repeated(): RunReport {
    const runs = [0, 1, 2].map((r) => {
      const flaky = summarizeVariant(record('naive-keepalive', r === 1 ? 0 : 2, { repeat: r }), [check('upstream.received >= 1'), check('failures.total >= 1')])
      const steady = summarizeVariant(record('force-close', 0, { repeat: r }), [check('failures.total == 0'), check('upstream.received >= 1')])
      return scenario({ repeat: r, variants: [flaky, steady] })
    })
    return runReport(runs, 3)
  }

  it('labels each count as the runs an expectation held in, never bare "3/3 3/3"', () => {
    const text = plain(formatRunSummary(repeated(), { color: false, width: 100 }))
    expect(text).not.toMatch(/\b\d+\/\d+ \d+\/\d+\b/)
    expect(text).toContain('  ✓ stale-keepalive/force-close: pass in every run; 0 client failures in every run\n      all 2 expectations held in 3/3 runs')
    expect(text).toContain('  ✗ stale-keepalive/naive-keepalive: verdicts varied: fail, pass; client failures varied: 0, 2')
    expect(text).toContain('      held 3/3 runs: upstream.received >= 1\n      held 2/3 runs: failures.total >= 1')
  })

  it('fits 80 columns and 40 columns', () => {
    for (const width of [40, 80]) {
      const over = formatRunSummary(repeated(), { color: true, width }).split('\n').filter((l) => columns(l) > width)
      expect(over.map(plain)).toEqual([])
    }
  })
})
