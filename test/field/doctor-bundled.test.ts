/**
 * The doctor on what qcc-lab's own proxy writes and serves: a log file written by the bundled proxy in
 * front of fake upstreams with a known fault, and its live /__qcc__/stats. The fake upstream decides
 * every failure (race-close with afterIdleMs 0 drops every request on a reused connection), so the
 * counts are exact.
 */
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { startFakeUpstream, startProxy, type FakeUpstream, type FaultSpec, type ProxyHandle } from '../../src/index.ts'
import type { ClusterConfig } from '../../src/proxy/config.ts'
import { reportOf, runDoctor } from './doctor-cli.ts'

let dir: string
const open: Array<{ close(): Promise<void> }> = []
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-doctor-')) })
afterEach(async () => { for (const h of open.splice(0).reverse()) await h.close() })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

const body = JSON.stringify({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })

/** Sequential requests through the proxy; the statuses the client got. */
async function send(proxy: ProxyHandle, n: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) {
    const r = await request(`${proxy.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    await r.body.text()
    statuses.push(r.statusCode)
  }
  return statuses
}

async function lab(options: { faults: FaultSpec[][]; cluster: Partial<Omit<ClusterConfig, 'name' | 'endpoints'>>; logName?: string }): Promise<{ proxy: ProxyHandle; upstreams: FakeUpstream[]; logFile: string }> {
  const upstreams: FakeUpstream[] = []
  for (const [i, faults] of options.faults.entries()) {
    const up = await startFakeUpstream({ name: `relay-${i}`, faults })
    open.push(up)
    upstreams.push(up)
  }
  const logFile = path.join(dir, options.logName ?? `proxy-${Math.random().toString(36).slice(2)}.log`)
  const proxy = await startProxy({
    logFile,
    seed: 1,
    cluster: { name: 'lab', ...options.cluster, endpoints: upstreams.map((u, i) => ({ baseUrl: u.url, apiKey: `sk-doctor-test-000${i}`, priority: i + 1 })) },
  })
  open.push(proxy)
  return { proxy, upstreams, logFile }
}

const raceEveryReuse: FaultSpec[] = [{ kind: 'race-close', afterIdleMs: 0 }]

describe('doctor --log on a log the bundled proxy wrote', () => {
  it('names stale connections as the failure with naive keep-alive and no retry: 3 of 6 requests; exit 1', async () => {
    const { proxy, logFile } = await lab({ faults: [raceEveryReuse], cluster: { connector: { profile: 'naive-keepalive' }, attempts: { max: 1 } } })
    expect(await send(proxy, 6)).toEqual([200, 502, 200, 502, 200, 502])
    await proxy.close()
    const run = await runDoctor(['--log', logFile, '--json'])
    expect(run.code).toBe(1)
    const r = reportOf(run)
    const stale = r.findings.find((f) => f.id === 'stale-connection')!
    expect(stale).toMatchObject({ severity: 'failure', count: 3, replay: ['qcc-lab run stale-keepalive', 'qcc-lab run seed-502-chain'] })
    expect(r.log!.summary.stale).toMatchObject({ byVariant: { 'other-side-closed': 3 }, retriedFresh: 0 })
    expect(r.log!.summary.clientAnswers.byStatus).toEqual({ 200: 3, 502: 3 })
  })

  it('calls them a warning, exit 0, when tuned keep-alive retried each on a fresh connection', async () => {
    const { proxy, logFile } = await lab({ faults: [raceEveryReuse], cluster: { connector: { profile: 'tuned-keepalive' }, attempts: { max: 1 } } })
    expect(await send(proxy, 6)).toEqual([200, 200, 200, 200, 200, 200])
    await proxy.close()
    const run = await runDoctor(['--log', logFile, '--json'])
    expect(run.code).toBe(0)
    const r = reportOf(run)
    expect(r.verdict).toBe('warnings')
    expect(r.findings.map((f) => [f.id, f.severity, f.count])).toEqual([['stale-connection', 'warning', 3]])
    expect(r.log!.summary.stale.retriedFresh).toBe(3)
  })

  it('names All 0 from the healthy-only balancer (the seed\'s problem 1) and says which scenario replays it', async () => {
    const { proxy, logFile } = await lab({ faults: [[{ kind: 'error-response', status: 503, untilRequest: 1 }]], cluster: { compat: ['lb-healthy-only'] } })
    expect(await send(proxy, 4)).toEqual([503, 502, 502, 502])
    await proxy.close()
    const run = await runDoctor(['--log', logFile, '--json'])
    expect(run.code).toBe(1)
    const f = reportOf(run).findings.find((x) => x.id === 'no-endpoint')!
    expect(f.count).toBe(3)
    expect(f.replay).toEqual(['qcc-lab run seed-502-chain', 'qcc-lab run all-endpoints-failed -p lb-healthy-only'])
    expect(f.fix.join(' ')).toMatch(/seed's fix 1/)
  })

  it('counts failure-queue entries and recoveries: a revoked key queued once, proven back by the verifier', async () => {
    const { proxy, logFile } = await lab({
      faults: [[{ kind: 'error-response', status: 401, untilRequest: 1 }], []],
      cluster: { verifier: { enabled: true, intervalMs: 3_600_000 } },
    })
    expect(await send(proxy, 3)).toEqual([200, 200, 200])
    await proxy.verifyNow()
    await proxy.close()
    const r = reportOf(await runDoctor(['--log', logFile, '--json']))
    expect(r.exitCode).toBe(0)
    const q = r.findings.find((f) => f.id === 'failure-queue')!
    expect(q.severity).toBe('warning')
    expect(r.log!.summary.queue).toMatchObject({ reasons: { 'HTTP 401': 1 }, queuedAtEnd: [] })
    expect(r.log!.summary.queue.added.count).toBe(1)
    expect(r.log!.summary.queue.recovered.count).toBe(1)
  })
})

describe('doctor --stats against a running bundled proxy', () => {
  it('is healthy while every request succeeds (exit 0) and fails success_rate and healthy_endpoints after stale failures (exit 1)', async () => {
    const { proxy, upstreams } = await lab({ faults: [[]], cluster: { connector: { profile: 'naive-keepalive' }, attempts: { max: 1 } } })
    expect(await send(proxy, 3)).toEqual([200, 200, 200])
    const healthy = await runDoctor(['--stats', proxy.url, '--json'])
    expect(healthy.code).toBe(0)
    const h = reportOf(healthy)
    expect(h.verdict).toBe('healthy')
    expect(h.stats).toMatchObject({ source: 'qcc-lab', totalRequests: 3, successRate: 100, healthyEndpoints: 1 })
    expect(h.thresholds.map((t) => [t.name, t.verdict])).toEqual([['success_rate', 'pass'], ['healthy_endpoints', 'pass'], ['avg_response_time', 'pass']])

    upstreams[0]!.setFaults(raceEveryReuse)
    // The pooled connection from the healthy phase is reused first: every request on it is dropped.
    expect(await send(proxy, 5)).toEqual([502, 200, 502, 200, 502])
    const failing = await runDoctor(['--stats', `${proxy.url}/__qcc__/stats`, '--json'])
    expect(failing.code).toBe(1)
    const f = reportOf(failing)
    expect(f.thresholds.map((t) => [t.name, t.verdict, t.value])).toEqual([
      ['success_rate', 'fail', 62.5],
      ['healthy_endpoints', 'fail', 0],
      ['avg_response_time', 'pass', f.thresholds[2]!.value],
    ])
    expect(f.findings.filter((x) => x.severity === 'failure').map((x) => x.id)).toEqual(['stale-connection', 'success_rate', 'healthy_endpoints'])
    expect(f.findings.find((x) => x.id === 'stale-connection')!.fix[0]).toContain(`qcc-lab probe ${upstreams[0]!.url}`)
  })

  it('reads the log and the stats of one proxy together: the same stale sockets from both', async () => {
    const { proxy, logFile } = await lab({ faults: [raceEveryReuse], cluster: { connector: { profile: 'naive-keepalive' } } })
    // qcc's attempt loop retries each stale attempt (a new connection): every client gets its 200.
    expect(await send(proxy, 4)).toEqual([200, 200, 200, 200])
    const run = await runDoctor(['--log', logFile, '--stats', proxy.url, '--json'])
    expect(run.code).toBe(1)
    const r = reportOf(run)
    expect(r.thresholds.every((t) => t.verdict === 'pass')).toBe(true)
    const stale = r.findings.find((x) => x.id === 'stale-connection')!
    expect(stale.severity).toBe('failure')
    expect(stale.evidence).toContain('stats: 3 stale-socket attempts, 0 retried on a fresh connection (attempts_by_outcome.stale-socket, stale_retries)')
    expect(stale.evidence[0]).toBe('3 stale-connection errors in the log: 3 × undici "other side closed" (UND_ERR_SOCKET)')
    expect(stale.replay).toEqual(['qcc-lab run stale-keepalive', 'qcc-lab run seed-502-chain'])
  })
})
