/**
 * Micro-benchmarks of the proxy's per-request hot paths (mitata). `npm run bench:micro` prints mitata's
 * table and keeps the figures in bench/micro/results.json (ns per operation).
 */
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { bench, do_not_optimize, group, run, summary } from 'mitata'
import { bestTier, type HealthFacts } from '../../src/proxy/health/health-model.ts'
import { strategies } from '../../src/proxy/balancer/index.ts'
import { CircuitBreaker } from '../../src/proxy/health/circuit-breaker.ts'
import { newHealthStatus, recordOutcome } from '../../src/proxy/health/passive-health.ts'
import { classifyError, classifyStatus } from '../../src/proxy/outcome.ts'
import { upstreamHeaders } from '../../src/proxy/server.ts'
import { messageEventFrames } from '../../fake-upstreams/anthropic/messages.ts'
import { noCompat } from '../../src/proxy/compat.ts'
import { createRandom } from '../../src/shared/random.ts'

interface Ep { id: string; weight: number; priority: number; inFlight: number; attempts: number; facts: HealthFacts }

function cluster(n: number): Ep[] {
  return Array.from({ length: n }, (_, i) => {
    const breaker = new CircuitBreaker({ threshold: 3, openMs: 60_000, resetOnTimeout: false })
    const health = newHealthStatus()
    if (i % 3 === 0) health.status = 'degraded'
    const id = `ep${String(i).padStart(5, '0')}`
    return { id, weight: 100, priority: 1 + (i % 3), inFlight: i % 5, attempts: i, facts: { id, enabled: true, health, breaker, queued: false, maxFailures: 3, recoveredByTime: false, coolingDown: false } }
  })
}

const random = createRandom(1).next
const noExclusion = new Set<string>()

for (const n of [3, 30, 300]) {
  const eps = cluster(n)
  summary(() => {
    group(`balancer pick over ${n} endpoints`, () => {
      for (const name of ['priority_failover', 'weighted', 'least_connections'] as const) {
        const strategy = strategies[name].create()
        bench(`${name} (${n})`, () => {
          const c = bestTier(eps, (e) => e.facts, noExclusion, 1_000, noCompat)!
          do_not_optimize(strategy.pick(c.endpoints as [Ep, ...Ep[]], { random, leastConnectionsLifetime: false }))
        })
      }
    })
  })
}

group('health and breaker updates', () => {
  const breaker = new CircuitBreaker({ threshold: 3, openMs: 60_000, resetOnTimeout: false })
  const health = newHealthStatus()
  let t = 0
  bench('success: health + breaker', () => {
    recordOutcome(health, ++t, { failure: false, status: 'healthy', responseTimeMs: 12 })
    breaker.onSuccess()
  })
  bench('failure: health + breaker', () => {
    recordOutcome(health, ++t, { failure: true, status: 'degraded', error: 'http-5xx' })
    breaker.onFailure(t)
    do_not_optimize(breaker.allows(t))
  })
})

group('outcome classification', () => {
  const stale = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })
  const wrapped = new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) })
  bench('classifyError (stale socket)', () => do_not_optimize(classifyError(stale, { reusedConnection: true, responseStarted: false })))
  bench('classifyError (wrapped fetch error)', () => do_not_optimize(classifyError(wrapped, { reusedConnection: false, responseStarted: false })))
  bench('classifyStatus', () => do_not_optimize(classifyStatus(529)))
})

group('request and SSE framing', () => {
  const raw = ['Host', '127.0.0.1:7860', 'Content-Type', 'application/json', 'X-Api-Key', 'proxy-managed', 'anthropic-version', '2023-06-01',
    'anthropic-beta', 'prompt-caching-2024-07-31', 'User-Agent', 'claude-cli/2.0.21', 'Connection', 'keep-alive', 'Content-Length', '2048']
  bench('upstream header rewrite', () => do_not_optimize(upstreamHeaders(raw, 'sk-bench-0000')))
  bench('SSE frames of one message (8 deltas)', () => do_not_optimize(messageEventFrames('msg_1', 'claude', 8)))
  const chunk = messageEventFrames('msg_1', 'claude', 8).join('')
  bench('count SSE events in a 1 KB chunk', () => do_not_optimize(chunk.split('\n\n').length - 1))
})

const results = await run()
const out = {
  schema: 'qcc-lab/micro-bench@1',
  createdAt: new Date().toISOString(),
  node: process.versions.node,
  cpu: results.context.cpu.name,
  benchmarks: results.benchmarks.flatMap((t) => t.runs.map((r) => ({
    name: r.name,
    avgNs: Math.round((r.stats?.avg ?? 0) * 10) / 10,
    p50Ns: Math.round((r.stats?.p50 ?? 0) * 10) / 10,
    p99Ns: Math.round((r.stats?.p99 ?? 0) * 10) / 10,
  }))),
}
await writeFile(fileURLToPath(new URL('./results.json', import.meta.url)), `${JSON.stringify(out, null, 2)}\n`)
