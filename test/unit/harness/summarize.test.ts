import { describe, expect, it } from 'vitest'
import { summarizeVariant } from '../../../src/harness/report/summarize.ts'
import { failureClass } from '../../../src/harness/report/failure-class.ts'
import { bundledConstants } from '../../../src/harness/scenario/constants.ts'
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
    contract: false,
    constants: bundledConstants({}, { profile: 'naive-keepalive' }),
    workload: { requests: 3, concurrency: 1, stream: false, burst: 3, gapMs: 0, requestTimeoutMs: 10_000, maxDurationMs: 60_000 },
    samples: [
      { index: 0, requestId: 'r0', startMs: 0, latencyMs: 1, status: 200, messageId: 'msg_u_1_r0' },
      { index: 1, requestId: 'r1', startMs: 1, latencyMs: 3, status: 502 },
      { index: 2, requestId: 'r2', startMs: 4, latencyMs: 2, status: 200, messageId: 'msg_u_2_r2' },
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
      url: 'http://127.0.0.1:9',
      connections: [{ id: 1, openedAtMs: 0, requests: 2 }, { id: 2, openedAtMs: 1, requests: 1 }, { id: 3, openedAtMs: 2, requests: 1 }],
      entries: [
        { seq: 1, requestId: 'r0', connectionId: 1, indexOnConnection: 0, idleBeforeMs: 1, atMs: 0, method: 'POST', path: '/', outcome: 'answered', status: 200 },
        { seq: 2, requestId: 'r1', connectionId: 1, indexOnConnection: 1, idleBeforeMs: 150.4, atMs: 1, method: 'POST', path: '/', outcome: 'dropped', fault: 'race-close' },
        { seq: 3, requestId: 'r2', connectionId: 2, indexOnConnection: 1, idleBeforeMs: 151, atMs: 4, method: 'POST', path: '/', outcome: 'dropped', fault: 'race-close' },
        { seq: 4, requestId: 'r2', connectionId: 3, indexOnConnection: 0, idleBeforeMs: 0, atMs: 5, method: 'POST', path: '/', outcome: 'answered', status: 200 },
      ],
    }],
    proxyStats: { endpoints: [{ id: 'ep1', base_url: 'http://127.0.0.1:9' }], failure_queue_size: 0 },
  }
}

describe('summarizeVariant', () => {
  it('joins client samples, proxy attempts and the ledger into the report figures', () => {
    const v = summarizeVariant(record(), [])
    expect(v).toMatchObject({
      name: 'v', connector: 'naive-keepalive', requests: 3, ok: 2,
      failures: { 'http-502': 1 },
      causes: { 'stale-socket': 1 },
      attempts: { total: 4, staleSocket: 2, retried: 1, failed: 2 },
      upstream: { connections: 3, received: 4, answered: 2, ok: 2, dropped: 2, probes: 0, duplicates: 0, redelivered: 1, lost: 1 },
      latencyMs: { p50: 2, max: 3 },
    })
  })

  it('explains a failed request from the wire', () => {
    const [d] = summarizeVariant(record(), []).diagnosis
    expect(d!.requestId).toBe('r1')
    expect(d!.explanation).toBe(
      'r1 failed (http-502): attempt 1 → u (ep1): stale-socket on a reused connection ("other side closed"); ' +
      'u read it on its connection #1 (request 2 there, idle 150 ms before) and closed it without answering (fault race-close)',
    )
  })

  it('evaluates expectations, including metric-to-metric ones, and fails the variant when one does not hold', () => {
    const v = summarizeVariant(record(), [check('causes.stale-socket >= 1'), check('upstream.connections < requests'), check('attempts.retried == attempts.staleSocket')])
    expect(v.expectations.map((e) => [e.pass, e.expected, e.actual])).toEqual([
      [true, '>= 1', 1],
      [false, '< 3 (requests)', 3],
      [false, '== 2 (attempts.staleSocket)', 1],
    ])
    expect(v.verdict).toBe('fail')
  })
})

describe('failureClass (what the client saw, whichever proxy answered)', () => {
  it.each([
    [{ status: 200 }, undefined],
    [{ status: 502, errorBody: '{"error": "All 1 endpoints failed"}' }, 'http-502'],
    [{ status: 502, errorBody: '{"error": "All 0 endpoints failed"}' }, 'no-endpoint'],
    [{ status: 503, errorBody: '{"error":"No available endpoints"}' }, 'no-endpoint'],
    [{ status: 429 }, 'http-429'],
    [{ status: 200, sseError: true, sseComplete: false }, 'sse-error'],
    [{ status: 200, sseError: false, sseComplete: false }, 'truncated-stream'],
    [{ status: 200, sseError: false, sseComplete: true }, undefined],
    [{ status: 200, bodyError: true }, 'error-body'],
    [{ status: 200, wrongAnswer: true }, 'wrong-answer'],
    [{ clientError: 'connection-reset' }, 'client:connection-reset'],
    [{ skipped: true }, 'skipped'],
  ] as const)('%o → %s', (over, expected) => {
    expect(failureClass({ index: 0, requestId: 'r', startMs: 0, latencyMs: 0, ...over })).toBe(expected)
  })
})

describe('what a run cannot tell is n/a, never 0', () => {
  it('reads attempt events of an external target as not evaluable', () => {
    const v = summarizeVariant({ ...record(), mode: 'target', attempts: [], requests: [] }, [check('attempts.staleSocket == 0'), check('failures.total == 1')])
    expect(v.expectations.map((e) => [e.status, e.actual])).toEqual([['n/a', null], ['pass', 1]])
    expect(v.verdict).toBe('pass')
    expect(v.causes).toEqual({})
  })

  it('reads a stats path the proxy does not serve as not evaluable, and one it serves as its value', () => {
    const v = summarizeVariant({ ...record(), proxyStats: { failure_queue_size: 0 } }, [check('stats.failure_queue_size == 0'), check('stats.healthy_endpoints == 1')])
    expect(v.expectations.map((e) => e.status)).toEqual(['pass', 'n/a'])
    const none = summarizeVariant({ ...record(), proxyStats: undefined }, [check('stats.failure_queue_size == 0')])
    expect(none.expectations[0]).toMatchObject({ status: 'n/a', actual: null, pass: false })
    expect(none.verdict).toBe('n/a')
  })

  it('adds the traffic checks to a contract, so a proxy that forwards nothing fails it', () => {
    const stub: VariantRecord = {
      ...record(), contract: true, mode: 'target', attempts: [], requests: [],
      samples: [0, 1, 2].map((i) => ({ index: i, requestId: `r${i}`, startMs: i, latencyMs: 1, status: 200 })),
      upstreams: [{ name: 'u', entries: [], connections: [] }],
    }
    const v = summarizeVariant(stub, [check('failures.total == 0')])
    expect(v.expectations.map((e) => [e.name, e.status])).toEqual([
      ['traffic reached the upstreams', 'fail'],
      ['every client success is an upstream\'s answer to that very request', 'fail'],
      ['no request was processed twice upstream', 'pass'],
      ['failures.total == 0', 'pass'],
    ])
    expect(v.verdict).toBe('fail')
    // The same checks hold for the real record.
    expect(summarizeVariant({ ...record(), contract: true }, []).expectations.every((e) => e.status === 'pass')).toBe(true)
  })

  it('fails a contract whose successes carry an answer made for another request (a cache, a canned reply)', () => {
    const r = record()
    const replayed: VariantRecord = { ...r, contract: true, samples: r.samples.map((s) => (s.requestId === 'r2' ? { ...s, messageId: 'msg_u_1_r0' } : s)) }
    const v = summarizeVariant(replayed, [])
    expect(v.delivered).toBe(1)
    expect(v.expectations.find((e) => e.check === 'delivered == ok')).toMatchObject({ status: 'fail', actual: 1 })
  })

  it('reads a latency percentile of no requests as not evaluable, never 0', () => {
    const v = summarizeVariant({ ...record(), samples: [] }, [check('latencyMs.p99 < 100'), check('ttfbMs.p99 < 100'), check('firstEventMs.p50 < 100')])
    expect(v.expectations.map((e) => [e.status, e.reason])).toEqual([
      ['n/a', 'no request was sent'],
      ['n/a', 'no request got a response head'],
      ['n/a', 'no SSE stream delivered an event'],
    ])
  })
})

describe('delivery counts', () => {
  const entry = (seq: number, requestId: string, connectionId: number, outcome: 'answered' | 'dropped' | 'cut', status?: number) =>
    ({ seq, requestId, connectionId, indexOnConnection: 0, idleBeforeMs: 0, atMs: seq, method: 'POST', path: '/', outcome, ...(status ? { status } : {}) })
  const withUpstreams = (upstreams: VariantRecord['upstreams'], ids: string[]): VariantRecord => ({
    ...record(), upstreams, samples: ids.map((id, i) => ({ index: i, requestId: id, startMs: i, latencyMs: 1, status: 200 })),
  })

  it('counts "answered twice" only for two 2xx answers, and "redelivered" only after a real drop', () => {
    const v = summarizeVariant(withUpstreams([
      { name: 'a', connections: [{ id: 1, openedAtMs: 0, requests: 2 }], entries: [entry(1, 'x', 1, 'answered', 401), entry(2, 'y', 1, 'answered', 200)] },
      { name: 'b', connections: [{ id: 1, openedAtMs: 0, requests: 2 }], entries: [entry(3, 'x', 1, 'answered', 200), entry(4, 'y', 1, 'answered', 200)] },
    ], ['x', 'y']), [])
    // x: 401 then 200 elsewhere — a failover, not a duplicate; y: 200 twice — a duplicate. Neither was dropped.
    expect(v.upstream).toMatchObject({ duplicates: 1, redelivered: 0, received: 4, ok: 3 })
  })

  it('tells connections of different upstreams apart (each numbers its own from 1)', () => {
    const v = summarizeVariant(withUpstreams([
      { name: 'a', connections: [{ id: 1, openedAtMs: 0, requests: 1 }], entries: [entry(1, 'x', 1, 'answered', 200)] },
      { name: 'b', connections: [{ id: 1, openedAtMs: 0, requests: 1 }], entries: [entry(2, 'y', 1, 'answered', 200)] },
    ], ['x', 'y']), [])
    expect(v.upstream.requestsPerConnection).toBe(1)
  })

  it('keeps the proxy\'s own calls (no client request id) out of the client traffic', () => {
    const v = summarizeVariant(withUpstreams([
      { name: 'a', connections: [{ id: 1, openedAtMs: 0, requests: 2 }], entries: [entry(1, 'x', 1, 'answered', 200), entry(2, 'a-2', 1, 'answered', 200)] },
    ], ['x']), [check('upstreams.a.received == 1'), check('upstreams.a.probes == 1')])
    expect(v.expectations.map((e) => e.status)).toEqual(['pass', 'pass'])
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
      verdict: pass ? 'pass' : 'fail',
      expectations: [{ name: 'e', check: 'ok >= 1', status: pass ? 'pass' : 'fail', pass, expected: '>= 1', actual: 1 }],
    })
    const run = (repeat: number, v: VariantReport): ScenarioReport => ({ name: 's', file: 'f', description: 'd', seed: 1, repeat, verdict: 'pass', mode: 'bundled', variants: [v], bundledOnly: [] })
    const [entry] = stability([run(0, variant(true, 9)), run(1, variant(true, 9)), run(2, variant(false, 8))])
    expect(entry).toMatchObject({ scenario: 's', variant: 'v', runs: 3, verdicts: ['fail', 'pass'], expectations: [{ name: 'e', held: 2 }], failureCounts: [8, 9] })
  })
})
