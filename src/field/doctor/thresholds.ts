/**
 * The seed's three numbers (502-error-comprehensive-fix.md, 测试计划 指标 3): `success_rate > 95`,
 * `healthy_endpoints >= 1`, `avg_response_time < 2000` ms, each read from `/__qcc__/stats` in one place
 * with where the value came from, what replays a failure and what removes it.
 */
import type { StatsSnapshot } from './stats.ts'

export type ThresholdVerdict = 'pass' | 'fail' | 'n/a'

export interface ThresholdResult {
  readonly name: ThresholdName
  /** As the seed writes it, e.g. `success_rate > 95`. */
  readonly check: string
  readonly verdict: ThresholdVerdict
  readonly value: number | null
  readonly unit: string
  /** Where the value comes from, or why it is not evaluable. */
  readonly note: string
}

interface Reading { readonly value: number | null; readonly note: string }

interface Threshold {
  readonly check: string
  readonly unit: string
  /** The finding's title when it fails. */
  readonly title: string
  readonly read: (s: StatsSnapshot) => Reading
  readonly holds: (value: number) => boolean
  readonly replay: readonly string[]
  readonly fix: (s: StatsSnapshot) => readonly string[]
}

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits

/** The endpoints that served requests, slowest first. */
function servedEndpoints(s: StatsSnapshot) {
  return s.endpoints
    .filter((e) => (e.totalRequests ?? 0) > 0 && e.avgResponseTimeMs !== null)
    .sort((a, b) => b.avgResponseTimeMs! - a.avgResponseTimeMs!)
}

export const seedThresholds = {
  success_rate: {
    check: 'success_rate > 95',
    unit: '%',
    title: 'Success rate at or below the seed\'s 95 %',
    read: (s) => {
      if (s.totalRequests === 0) return { value: null, note: 'no request served yet (total_requests 0)' }
      if (s.successRate !== null) return { value: s.successRate, note: `success_rate (${s.successfulRequests} of ${s.totalRequests} requests)` }
      return { value: round((s.successfulRequests / s.totalRequests) * 100), note: `successful_requests / total_requests = ${s.successfulRequests} / ${s.totalRequests} (qcc serves no success_rate key)` }
    },
    holds: (v) => v > 95,
    replay: ['qcc-lab run seed-502-chain'],
    fix: () => [
      'The other findings name what cost the requests; give the proxy\'s log too (--log ~/.fastcc/proxy.log) if you have not.',
      'seed-502-chain shows both of the seed\'s faults missing this target and what reaches it (a fixed balancer and a connector that retries a stale connection once on a fresh one).',
    ],
  },
  healthy_endpoints: {
    check: 'healthy_endpoints >= 1',
    unit: 'endpoints',
    title: 'No healthy endpoint',
    read: (s) => {
      if (s.healthyEndpoints === null) return { value: null, note: 'not served (qcc serves healthy_endpoints only when it has a config)' }
      const states = s.endpoints.map((e) => `${e.id} ${e.status ?? '?'}${e.inFailureQueue || s.failedEndpoints.includes(e.id) ? ' (failure queue)' : ''}`)
      return { value: s.healthyEndpoints, note: `healthy_endpoints of ${s.totalEndpoints ?? '?'}${states.length > 0 ? `: ${states.join(', ')}` : ''}` }
    },
    holds: (v) => v >= 1,
    replay: ['qcc-lab run all-endpoints-failed', 'qcc-lab run breaker-recovery'],
    fix: (s) => [
      'With no healthy endpoint, a healthy-only balancer (the seed\'s problem 1) and qcc v0.6.1\'s failure queue answer `502 All 0 endpoints failed`; a balancer must fall back healthy → degraded → unhealthy → circuit-open (the seed\'s fix 1; qcc-lab\'s proxy does, and tries a queued endpoint last rather than fail).',
      ...(s.failureQueueSize ? [`${s.failureQueueSize} endpoint(s) sit in the failure queue (${s.failedEndpoints.join(', ')}); only the verifier (every 60 s, needs the relay to echo its code) brings them back.`] : []),
    ],
  },
  avg_response_time: {
    check: 'avg_response_time < 2000',
    unit: 'ms',
    title: 'Average response time at or above the seed\'s 2000 ms',
    read: (s) => {
      const served = servedEndpoints(s)
      if (served.length === 0) return { value: null, note: 'no endpoint has served a request (endpoints[].health_status.avg_response_time)' }
      const n = served.reduce((a, e) => a + e.totalRequests!, 0)
      const mean = served.reduce((a, e) => a + e.avgResponseTimeMs! * e.totalRequests!, 0) / n
      const slowest = served[0]!
      return {
        value: round(mean, 1),
        note: `mean of endpoints[].health_status.avg_response_time weighted by total_requests (qcc serves no top-level avg_response_time)${served.length > 1 ? `; slowest ${slowest.id} ${round(slowest.avgResponseTimeMs!, 1)} ms` : ''}`,
      }
    },
    holds: (v) => v < 2000,
    replay: ['qcc-lab bench --quick'],
    fix: (s) => {
      const slowest = servedEndpoints(s)[0]
      return [
        `\`qcc-lab probe ${slowest?.baseUrl ?? '<relay base URL>'}\` measures the relay's connect, TLS and round-trip times and what a new connection per request (force-close) costs on it; \`qcc-lab bench\` compares the connectors.`,
        'qcc counts failed attempts in this mean, and a long completion is slow by nature: judge it with short test requests, as the seed\'s plan does.',
      ]
    },
  },
} as const satisfies Record<string, Threshold>

export type ThresholdName = keyof typeof seedThresholds
export const thresholdNames = Object.keys(seedThresholds) as ThresholdName[]

/** Every threshold against one stats snapshot. */
export function checkThresholds(s: StatsSnapshot): ThresholdResult[] {
  return thresholdNames.map((name) => {
    const t: Threshold = seedThresholds[name]
    const { value, note } = t.read(s)
    const verdict: ThresholdVerdict = value === null ? 'n/a' : t.holds(value) ? 'pass' : 'fail'
    return { name, check: t.check, verdict, value, unit: t.unit, note }
  })
}
