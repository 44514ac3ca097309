import { describe, expect, it } from 'vitest'
import { failureClass, summarizeVariant } from '../../../src/harness/report/summarize.ts'
import { percentile, summarizeLatency } from '../../../src/harness/report/stats.ts'
import { parseCheck, type Expectation } from '../../../src/harness/gate/expectation.ts'
import { evaluate } from '../../../src/harness/gate/evaluate.ts'
import { stability } from '../../../src/harness/report/build-report.ts'
import { resolveConnector } from '../../../src/proxy/connector/profiles.ts'
import type { VariantRecord } from '../../../src/harness/runner/record.ts'
import type { AttemptEvent } from '../../../src/proxy/events.ts'
import type { ScenarioReport, VariantReport } from '../../../src/harness/report/types.ts'

const check = (c: string): Expectation => {
  const r = parseCheck(c)
  if (!r.ok) throw new Error(r.problem)
  return r.expectation
}

const attempt = (requestId: string, outcome: AttemptEvent['outcome'], over: Partial<AttemptEvent> = {}): AttemptEvent => ({
  proxyId: 'p', requestId, attempt: 1, endpointId: 'ep1', outcome, reusedConnection: false, staleRetry: false, durationMs: 1, ...over,
})

/** Three requests: r0 ok; r1 stale socket, not retried, client got 502; r2 stale socket retried, ok. */
function record(): VariantRecord {
  return {
    scenario: 's', variant: 'v', mode: 'bundled', connector: resolveConnector({ profile: 'naive-keepalive' }), seed: 1, repeat: 0, durationMs: 12,
    samples: [
      { index: 0, requestId: 'r0', startMs: 0, latencyMs: 1, status: 200 },
      { index: 1, requestId: 'r1', startMs: 1, latencyMs: 3, status: 502 },
      { index: 2, requestId: 'r2', startMs: 4, latencyMs: 2, status: 200 },
    ],
    attempts: [
      attempt('r0', 'ok'),
      attempt('r1', 'stale-socket', { reusedConnection: true, errorMessage: 'other side closed' }),
      attempt('r2', 'stale-socket', { reusedConnection: true }),
      attempt('r2', 'ok', { attempt: 2, staleRetry: true }),
    ],
    requests: [
      { proxyId: 'p', requestId: 'r0', method: 'POST', path: '/v1/messages', status: 200, outcome: 'ok', attempts: 1, durationMs: 1 },
      { proxyId: 'p', requestId: 'r1', method: 'POST', path: '/v1/messages', status: 502, outcome: 'stale-socket', attempts: 1, durationMs: 3 },
      { proxyId: 'p', requestId: 'r2', method: 'POST', path: '/v1/messages', status: 200, outcome: 'ok', attempts: 2, durationMs: 2 },
    ],
    upstreams: [{
      name: 'u',
      connections: [{ id: 1, openedAtMs: 0, requests: 2 }, { id: 2, openedAtMs: 1, requests: 1 }, { id: 3, openedAtMs: 2, requests: 1 }],
      entries: [
        { seq: 1, requestId: 'r0', connectionId: 1, indexOnConnection: 0, idleBeforeMs: 1, atMs: 0, method: 'POST', path: '/', outcome: 'answered', status: 200 },
        { seq: 2, requestId: 'r1', connectionId: 1, indexOnConnection: 1, idleBeforeMs: 150.4, atMs: 1, method: 'POST', path: '/', outcome: 'dropped', fault: 'race-close' },
        { seq: 3, requestId: 'r2', connectionId: 2, indexOnConnection: 1, idleBeforeMs: 151, atMs: 4, method: 'POST', path: '/', outcome: 'dropped', fault: 'race-close' },
        { seq: 4, requestId: 'r2', connectionId: 3, indexOnConnection: 0, idleBeforeMs: 0, atMs: 5, method: 'POST', path: '/', outcome: 'answered', status: 200 },
      ],
    }],
    proxyStats: {} as VariantRecord['proxyStats'],
  }
}

describe('summarizeVariant', () => {
  it('joins client samples, proxy attempts and the ledger into the report figures', () => {
    const v = summarizeVariant(record(), [])
    expect(v).toMatchObject({
      name: 'v', connector: 'naive-keepalive', requests: 3, ok: 2,
      failures: { 'stale-socket': 1 },
      attempts: { total: 4, staleSocket: 2, retried: 1, failed: 2 },
      upstream: { connections: 3, received: 4, answered: 2, dropped: 2, duplicates: 0, redelivered: 1, lost: 1 },
      latencyMs: { p50: 2, max: 3 },
    })
  })

  it('explains a failed request from the wire', () => {
    const [d] = summarizeVariant(record(), []).diagnosis
    expect(d!.requestId).toBe('r1')
    expect(d!.explanation).toBe(
      'r1 failed (stale-socket): attempt 1 → ep1: stale-socket on a reused connection ("other side closed"); ' +
      'upstream read it on connection #1 (request 2 there, idle 150 ms before): the upstream closed it without answering (fault race-close)',
    )
  })

  it('evaluates expectations, including metric-to-metric ones, and fails the variant when one does not hold', () => {
    const v = summarizeVariant(record(), [check('failures.stale-socket >= 1'), check('upstream.connections < requests'), check('attempts.retried == attempts.staleSocket')])
    expect(v.expectations.map((e) => [e.pass, e.expected, e.actual])).toEqual([
      [true, '>= 1', 1],
      [false, '< 3 (requests)', 3],
      [false, '== 2 (attempts.staleSocket)', 1],
    ])
    expect(v.verdict).toBe('fail')
  })
})

describe('failureClass', () => {
  it.each([
    [{ status: 200 }, undefined, undefined],
    [{ status: 502 }, 'stale-socket', 'stale-socket'],
    [{ status: 502 }, undefined, 'http-502'],
    [{ status: 429 }, 'ok', 'http-429'],
    [{ status: 200, sseError: true }, 'reset-mid-stream', 'reset-mid-stream'],
    [{ status: 200, sseError: true }, undefined, 'sse-error'],
    [{ clientError: 'connection-reset' }, undefined, 'client:connection-reset'],
    [{ skipped: true }, undefined, 'skipped'],
  ] as const)('%o with proxy outcome %s → %s', (over, proxyOutcome, expected) => {
    expect(failureClass({ index: 0, requestId: 'r', startMs: 0, latencyMs: 0, ...over }, proxyOutcome)).toBe(expected)
  })
})

describe('statistics', () => {
  it('uses nearest-rank percentiles', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    expect([percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99), percentile(sorted, 100)]).toEqual([5, 9, 10, 10])
    expect(percentile([], 50)).toBe(0)
    expect(summarizeLatency([3, 1, 2])).toEqual({ p50: 2, p90: 3, p99: 3, max: 3, mean: 2 })
  })
})

describe('evaluate', () => {
  it.each([
    ['x >= 1', 1, true], ['x >= 1', 0, false], ['x > 1', 1, false], ['x <= 0', 0, true],
    ['x < 0', 0, false], ['x == 2', 2, true], ['x != 2', 2, false],
  ])('%s with x = %d holds: %s', (c, x, pass) => {
    const e = check(c.replace('x', 'ok'))
    expect(evaluate(() => x, [e])[0]!.pass).toBe(pass)
  })
})

describe('stability across repeats', () => {
  it('counts how often each expectation held and which failure counts were seen', () => {
    const variant = (pass: boolean, failures: number): VariantReport => ({
      ...summarizeVariant(record(), []),
      failures: failures > 0 ? { 'stale-socket': failures } : {},
      expectations: [{ name: 'e', check: 'ok >= 1', pass, expected: '>= 1', actual: 1 }],
    })
    const run = (repeat: number, v: VariantReport): ScenarioReport => ({ name: 's', file: 'f', description: 'd', seed: 1, repeat, verdict: 'pass', mode: 'bundled', variants: [v], notApplicable: [] })
    const [entry] = stability([run(0, variant(true, 9)), run(1, variant(true, 9)), run(2, variant(false, 8))])
    expect(entry).toMatchObject({ scenario: 's', variant: 'v', runs: 3, expectations: [{ name: 'e', held: 2 }], failureCounts: [8, 9] })
  })
})
