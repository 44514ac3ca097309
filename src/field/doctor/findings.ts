/**
 * What the log and the stats show, as findings: one rule per finding, each saying what it is, the
 * evidence, the bundled scenario that replays it and the setting or fix that removes it. A `failure`
 * means the seed's failure is happening (exit 1); a `warning` is worth knowing but serves clients.
 */
import type { LogSummary, Occurrence } from './log-scan.ts'
import { staleBreakdown } from './log-scan.ts'
import { staleVariants, type StaleVariant } from './log-rules.ts'
import type { StatsSnapshot } from './stats.ts'
import { seedThresholds, type ThresholdResult } from './thresholds.ts'

export type Severity = 'failure' | 'warning'

export interface Finding {
  readonly id: string
  readonly severity: Severity
  readonly title: string
  /** What it means, in a sentence or two. */
  readonly summary: string
  /** How many times it happened (lines, requests or endpoints, as the evidence says). */
  readonly count: number
  readonly evidence: readonly string[]
  /** The first line that shows it, when it came from the log. */
  readonly first: Occurrence | null
  /** Commands that replay it with fake upstreams. */
  readonly replay: readonly string[]
  readonly fix: readonly string[]
}

export interface DoctorInputs {
  readonly log: LogSummary | null
  readonly stats: StatsSnapshot | null
  readonly thresholds: readonly ThresholdResult[]
}

type Rule = (i: DoctorInputs) => Omit<Finding, 'id'> | null

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`
const pct = (part: number, whole: number): string => `${((part / whole) * 100).toFixed(1)} %`
const formatMs = (ms: number): string => (ms < 1_000 ? `${ms} ms` : `${(ms / 1_000).toFixed(1)} s`)

/** `line 1976 (2026-12-01 08:52:14,947): fastcc.proxy.server - ERROR - [req-110] …` */
export function quote(o: Occurrence): string {
  const rest = o.text.startsWith(o.time) ? o.text.slice(o.time.length).replace(/^ - /, '') : o.text
  return `line ${o.line} (${o.time}): ${rest}`
}

const firstLast = (label: string, t: { count: number; first: Occurrence; last: Occurrence }): string[] =>
  t.count === 1 ? [`${label}: ${quote(t.first)}`] : [`first ${label}: ${quote(t.first)}`, `last at line ${t.last.line} (${t.last.time})`]

/** The relay to point `qcc-lab probe` at: named in the errors, else the only endpoint known. */
function relayOf(i: DoctorInputs): string {
  const fromErrors = i.log?.stale.urls[0]
  if (fromErrors) return fromErrors
  const ids = i.log?.stale.endpoints ?? []
  const known = { ...Object.fromEntries((i.stats?.endpoints ?? []).map((e) => [e.id, e.baseUrl])), ...i.log?.endpoints }
  for (const id of ids) if (known[id]) return known[id]!
  const urls = [...new Set(Object.values(known).filter((u): u is string => typeof u === 'string'))]
  return urls.length === 1 ? urls[0]! : '<relay base URL>'
}

const unique = (xs: readonly string[]): string[] => [...new Set(xs)]

const staleConnection: Rule = (i) => {
  const logCount = i.log?.stale.tally?.count ?? 0
  const logRetried = i.log?.stale.retriedFresh ?? 0
  const statCount = i.stats?.staleSocketAttempts ?? 0
  const statRetried = i.stats?.staleRetries ?? 0
  if (logCount + statCount === 0) return null
  const absorbed = (logCount === 0 || logRetried >= logCount) && (statCount === 0 || statRetried >= statCount)
  const queuedForIt = i.log?.queue.reasons['stale connection'] ?? 0
  const relay = relayOf(i)
  const evidence: string[] = []
  const log = i.log
  if (log && log.stale.tally) {
    const parts = staleBreakdown(log.stale.byVariant).map((b) => `${b.count} × ${b.label}`)
    evidence.push(`${plural(logCount, 'stale-connection error')} in the log: ${parts.join('; ')}`)
    if (log.requests > 0) evidence.push(`${pct(logCount, log.requests)} of ${plural(log.requests, 'request')}`)
    if (log.dialects['qcc-lab'] > 0) evidence.push(`${logRetried} of them retried once on a fresh connection (upstream.retry-fresh)`)
    evidence.push(...firstLast('at', log.stale.tally))
    if (queuedForIt > 0) evidence.push(`the endpoint was put in the failure queue for it (${plural(queuedForIt, 'entry', 'entries')} with a stale-connection reason)`)
  }
  if (statCount > 0) evidence.push(`stats: ${plural(statCount, 'stale-socket attempt')}, ${statRetried} retried on a fresh connection (attempts_by_outcome.stale-socket, stale_retries)`)
  if (relay !== '<relay base URL>') evidence.push(`relay: ${relay}`)
  const variants = Object.keys(log?.stale.byVariant ?? {}) as StaleVariant[]
  // The aiohttp words come from a relay closing right after an answer (closing-transport); the rest
  // from an idle close racing a request (stale-keepalive).
  const replay = unique([
    ...(variants.some((v) => staleVariants[v].replay === 'closing-transport') ? ['qcc-lab run closing-transport'] : []),
    'qcc-lab run stale-keepalive',
    // The endpoint paid for it (queued, degraded → fallbacks, All 0): the seed's whole chain.
    ...(queuedForIt > 0 || log?.noEndpoint.tally || log?.fallbacks.tally ? ['qcc-lab run seed-502-chain'] : []),
  ])
  const probe = `\`qcc-lab probe ${relay}\` measures the relay's real idle timeout (and whether it closes right after answering); keep the pool's idle expiry below it with a margin: aiohttp \`TCPConnector(keepalive_timeout=…)\`, httpx \`Limits(keepalive_expiry=…)\`, undici \`keepAliveTimeout\`.`
  if (absorbed) {
    return {
      severity: 'warning',
      title: 'Stale keep-alive connections, each retried on a fresh connection',
      summary: 'Requests were written onto pooled connections the relay had already closed or was closing; every one was retried once on a fresh connection, so no client saw it. Each costs a new connection.',
      count: logCount || statCount,
      evidence,
      first: log?.stale.tally?.first ?? null,
      replay,
      fix: [probe],
    }
  }
  return {
    severity: 'failure',
    title: 'Stale keep-alive connections: requests written onto connections the relay had closed',
    summary: 'The seed\'s problem 2 (aiohttp "Cannot write to closing transport"): the proxy reused pooled connections the relay had already closed or was closing; each such attempt failed and counted against the endpoint.',
    count: logCount || statCount,
    evidence,
    first: log?.stale.tally?.first ?? null,
    replay,
    fix: [
      probe,
      'Retry a request that failed on a reused connection before any response byte once on a fresh connection, without blaming the endpoint: qcc-lab\'s tuned-keepalive connector (`qcc-lab proxy start --profile tuned-keepalive`).',
      'Or never reuse: aiohttp `TCPConnector(force_close=True)` (the seed\'s fix; `qcc-lab proxy start --profile force-close`), at the price of a new connection (and TLS handshake) per request.',
      ...(queuedForIt > 0 ? ['Do not put an endpoint in the failure queue for a stale connection: the pool reused a dead socket, the relay did nothing wrong.'] : []),
    ],
  }
}

const noEndpoint: Rule = (i) => {
  const log = i.log
  const t = log?.noEndpoint.tally
  if (!log || !t) return null
  const s = log.noEndpoint.stateBefore
  const byQueue = log.noEndpoint.allIsolatedBefore > 0 || (s !== null && (s.queued ?? 0) > 0 && s.healthy === 0 && (s.degraded ?? 0) === 0)
  const byBalancer = log.noEndpoint.balancerNoneBefore > 0
  const evidence = [
    `${plural(t.count, 'request')} answered 502 "All 0 endpoints failed" without trying any endpoint${log.requests > 0 ? ` (${pct(t.count, log.requests)} of ${plural(log.requests, 'request')})` : ''}`,
    ...firstLast('at', t),
  ]
  if (byBalancer && log.balancerNone) evidence.push(`the balancer refused every candidate it was given (${plural(log.balancerNone.count, 'None pick')}), first ${quote(log.balancerNone.first)}`)
  if (s) evidence.push(`just before the first: ${quote(s.at)}${byQueue ? ' — every endpoint was in the failure queue' : ''}`)
  else if (log.noEndpoint.allIsolatedBefore > 0 && log.allIsolated) evidence.push(`just before the first, nothing was left to select: ${quote(log.allIsolated.first)}`)
  if (byQueue && (log.queue.added?.count ?? 0) > 0 && !log.queue.recovered) evidence.push('no endpoint came back from the failure queue during the log')
  // Target mode runs the scenario's contract against the user's own qcc; null-default as in a log
  // without default-profile fallbacks (qcc would otherwise hide the outage behind that profile).
  const targetReplay = 'qcc-lab run all-endpoints-failed --config-layout null-default --target-cmd "HOME={home} qcc proxy start --cluster {cluster} --port {port}"'
  const replay = byBalancer
    ? ['qcc-lab run seed-502-chain', 'qcc-lab run all-endpoints-failed -p lb-healthy-only']
    : byQueue
      ? ['qcc-lab run overloaded-529 -p qcc-0.6.1', targetReplay]
      : ['qcc-lab run all-endpoints-failed', 'qcc-lab run seed-502-chain', 'qcc-lab run overloaded-529 -p qcc-0.6.1']
  const balancerFix = 'The seed\'s fix 1: the LoadBalancer must fall back healthy → degraded → any instead of returning None (fastcc/proxy/load_balancer.py; in qcc since 07a3e15 / v0.6.0).'
  const queueFix = 'qcc (up to v0.6.1) puts an endpoint in the failure queue on any failure and never uses a queued one, even with nothing else left, so a brief 5xx becomes an outage until the 60 s verifier passes. Queue only on a refused key (401/403) and try a queued endpoint last rather than answer 502: qcc-lab\'s proxy does both (`qcc-lab proxy start --config ~/.fastcc/cache.json --cluster <name>`; compat queue-on-any-failure and queue-never-panics replay qcc).'
  return {
    severity: 'failure',
    title: 'All 0 endpoints failed: requests got 502 without any endpoint being tried',
    summary: byBalancer
      ? 'The seed\'s problem 1: the balancer accepted only healthy endpoints and refused the degraded or circuit-open ones it was offered, so nothing was tried.'
      : byQueue
        ? 'Every endpoint of the cluster was in the failure queue, and qcc never selects a queued endpoint, so nothing was tried; the upstreams may well have been healthy again.'
        : 'No endpoint was selectable, so nothing was tried; the log does not say whether the balancer or the failure queue refused them.',
    count: t.count,
    evidence,
    first: t.first,
    replay,
    fix: byBalancer ? [balancerFix] : byQueue ? [queueFix] : [balancerFix, queueFix],
  }
}

const failureQueue: Rule = (i) => {
  const log = i.log
  const added = log?.queue.added?.count ?? 0
  const nowQueued = i.stats?.failureQueueSize ?? 0
  if (added === 0 && nowQueued === 0) return null
  const evidence: string[] = []
  const reasons = log ? Object.entries(log.queue.reasons) : []
  if (log && log.queue.added) {
    evidence.push(`${plural(added, 'entry', 'entries')} in the log${log.queue.repeats > 0 ? ` (${plural(log.queue.repeats, 'more failure')} while already queued)` : ''}; reasons: ${reasons.map(([r, n]) => `${r} × ${n}`).join(', ')}`)
    evidence.push(...firstLast('entry', log.queue.added))
    evidence.push(`${plural(log.queue.recovered?.count ?? 0, 'recovery', 'recoveries')}, ${plural(log.queue.stillFailing?.count ?? 0, 'verification')} still failing`)
    if (log.queue.queuedAtEnd.length > 0) evidence.push(`still queued at the end of the log${log.starts > 1 ? ' (since its last proxy start)' : ''}: ${log.queue.queuedAtEnd.join(', ')}`)
  }
  if (i.stats && nowQueued > 0) {
    const verify = Object.entries(i.stats.verifyCounts).map(([id, n]) => `${id} ${n}×`).join(', ')
    evidence.push(`stats now: failure_queue_size ${nowQueued} (${i.stats.failedEndpoints.join(', ')})${verify ? `; verifications so far: ${verify}` : ''}`)
  }
  const transient = reasons.some(([r]) => r !== 'HTTP 401' && r !== 'HTTP 403')
  const stale = reasons.some(([r]) => r === 'stale connection')
  const stuck = (log?.queue.queuedAtEnd.length ?? 0) > 0 && !log?.queue.recovered
  return {
    severity: 'warning',
    title: 'Endpoints isolated in the failure queue',
    summary: 'Normal traffic never reaches a queued endpoint until the verifier (every 60 s) proves it back with a real completion that echoes its code.',
    count: added || nowQueued,
    evidence,
    first: log?.queue.added?.first ?? null,
    replay: unique([
      'qcc-lab run failure-queue-isolation',
      ...(transient ? ['qcc-lab run overloaded-529 -p qcc-0.6.1'] : []),
      ...(stale ? ['qcc-lab run closing-transport'] : []),
    ]),
    fix: [
      ...(transient ? ['Only a refused key (HTTP 401/403) should isolate an endpoint; a 5xx, a timeout or a stale connection is transient and the circuit breaker handles it (qcc-lab\'s default; compat queue-on-any-failure replays qcc).'] : ['A refused key belongs in the queue: fix the key; the verifier brings the endpoint back.']),
      ...(stuck && (log?.spanMs ?? 0) < 60_000 ? [`Nothing recovered, but the log covers only ${formatMs(log!.spanMs)}, less than one verifier interval (60 s): look further on in the log.`] : []),
      ...(stuck && (log?.spanMs ?? 0) >= 60_000 ? ['Nothing recovered during the log: the verifier runs every 60 s and needs the relay to answer its prompt with the code (an SSE-only or non-JSON relay never passes); `qcc-lab run ok-200-error-body` shows a 200 that is not a recovery.'] : []),
    ],
  }
}

const tierLabels: Readonly<Record<string, string>> = {
  'selection:degraded': 'no healthy endpoint, degraded used (降级使用)',
  'selection:unhealthy': 'no healthy or degraded endpoint, unhealthy tried (最后尝试)',
  'selection:circuit-open': 'every endpoint circuit-open, forced (强制尝试)',
  'selection:queued': 'every endpoint queued, forced',
  'balancer:degraded': 'balancer: degraded used (降级使用)',
  'balancer:any': 'balancer: any endpoint (极端降级)',
}

const balancerFallback: Rule = (i) => {
  const t = i.log?.fallbacks.tally
  if (!i.log || !t) return null
  const tiers = Object.entries(i.log.fallbacks.byTier)
  const breaker = tiers.some(([k]) => k.endsWith(':circuit-open'))
  return {
    severity: 'warning',
    title: 'The balancer fell back to endpoints that were not healthy',
    summary: 'No endpoint was healthy when these requests were routed; the fallback (the seed\'s fix 1) kept them going. Endpoints were failing: see why in the other findings.',
    count: t.count,
    evidence: [tiers.map(([k, n]) => `${tierLabels[k] ?? k} × ${n}`).join('; '), ...firstLast('at', t)],
    first: t.first,
    replay: unique(['qcc-lab run all-endpoints-failed -p default', ...(breaker ? ['qcc-lab run breaker-recovery'] : []), 'qcc-lab run flapping-endpoint']),
    fix: [
      'Nothing to fix in the fallback itself; fix what made the endpoints fail. A degraded endpoint should get traffic back after a quiet period, not stay on the side (`qcc-lab run breaker-recovery`).',
    ],
  }
}

const defaultProfileFallback: Rule = (i) => {
  const t = i.log?.defaultProfile
  if (!i.log || !t) return null
  const zero = i.log.states.zeroHealthy
  return {
    severity: 'warning',
    title: 'Requests left the cluster for the default profile',
    summary: 'No cluster endpoint was usable, so qcc silently sent these requests to settings.default_profile, outside the cluster and its health (spec §3.2). It hides an outage of the cluster and may spend another key.',
    count: t.count,
    evidence: [`${plural(t.count, 'request attempt')} sent to the default profile`, ...firstLast('at', t), ...(zero ? [`the cluster had no healthy endpoint ${plural(zero.count, 'time')}, first ${quote(zero.first)}`] : [])],
    first: t.first,
    replay: [],
    fix: [
      'Set settings.default_profile on purpose (or to null) in ~/.fastcc/cache.json; qcc-lab replays this fallback with compat default-profile-fallback (`qcc-lab list`), not in a bundled scenario.',
    ],
  }
}

const requestsFailed: Rule = (i) => {
  const t = i.log?.requestsFailed
  if (!i.log || !t) return null
  return {
    severity: 'warning',
    title: 'Requests failed on every endpoint tried',
    summary: 'Every endpoint tried failed these requests; the client got the last upstream answer (qcc\'s rule) or 502 "All N endpoints failed".',
    count: t.count,
    evidence: [`${plural(t.count, 'request')}${i.log.requests > 0 ? ` (${pct(t.count, i.log.requests)} of ${plural(i.log.requests, 'request')})` : ''}`, ...firstLast('at', t)],
    first: t.first,
    replay: ['qcc-lab run flapping-endpoint', 'qcc-lab run overloaded-529'],
    fix: [
      i.log.stale.tally
        ? `The ${plural(i.log.stale.tally.count, 'stale-connection error')} in the same log may be what failed them: see that finding first, then the upstream errors just above line ${t.first.line}.`
        : `These are the relays' own answers, passed on: read the upstream errors just above line ${t.first.line}.`,
      ...(Object.keys(i.log.endpoints).length === 1 ? ['With a single endpoint there is nothing to fail over to: a second relay in the cluster is the fix for a flaky one.'] : []),
    ],
  }
}

const streamCut: Rule = (i) => {
  const t = i.log?.streamCuts
  if (!i.log || !t) return null
  return {
    severity: 'warning',
    title: 'Streamed answers cut mid-way',
    summary: 'The upstream connection broke after part of an answer had gone to the client: it cannot be retried, and the client must see an error, not a stream that just stops.',
    count: t.count,
    evidence: [`${plural(t.count, 'stream')} cut`, ...firstLast('at', t)],
    first: t.first,
    replay: ['qcc-lab run midstream-reset'],
    fix: ['End the client\'s stream with an SSE `event: error` frame instead of a silent cut, and never start a second answer on the same response (qcc-lab\'s proxy does; compat midstream-silent-cut replays qcc).'],
  }
}

/** The log and stats findings, in the order they are shown; failed thresholds follow each severity's group. */
export const findingRules = {
  'stale-connection': staleConnection,
  'no-endpoint': noEndpoint,
  'failure-queue': failureQueue,
  'balancer-fallback': balancerFallback,
  'default-profile-fallback': defaultProfileFallback,
  'requests-failed': requestsFailed,
  'stream-cut': streamCut,
} as const satisfies Record<string, Rule>

export type FindingId = keyof typeof findingRules

/** Every finding: failures first, then warnings, each group in rule order. */
export function findFindings(i: DoctorInputs): Finding[] {
  const out: Finding[] = []
  for (const [id, rule] of Object.entries(findingRules) as Array<[FindingId, Rule]>) {
    const f = rule(i)
    if (f) out.push({ id, ...f })
  }
  for (const r of i.thresholds) {
    if (r.verdict !== 'fail' || !i.stats) continue
    const t = seedThresholds[r.name]
    out.push({
      id: r.name,
      severity: 'failure',
      title: t.title,
      summary: `/__qcc__/stats: ${r.check} does not hold (${r.value}${r.unit === '%' ? ' %' : r.unit === 'ms' ? ' ms' : ''}).`,
      count: 1,
      evidence: [`${r.name} = ${r.value} (${r.note})`],
      first: null,
      replay: t.replay,
      fix: t.fix(i.stats),
    })
  }
  const rank = (f: Finding): number => (f.severity === 'failure' ? 0 : 1)
  return out.map((f, index) => ({ f, index })).sort((a, b) => rank(a.f) - rank(b.f) || a.index - b.index).map((x) => x.f)
}
