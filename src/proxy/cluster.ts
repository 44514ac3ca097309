/**
 * A cluster's endpoints at run time: their connectors, passive health, breakers, the failure queue and
 * the balancer. Producers (`recordResult`, the verifier) set facts; `select` asks the health model for
 * the best tier and lets the strategy pick from it.
 */
import type { Compat } from './compat.ts'
import { clusterDefaults, endpointId, redactKey, type EndpointConfig, type ProxyConfig } from './config.ts'
import { createConnector, type Connector } from './connector/create-connector.ts'
import { resolveConnector, type ConnectorProfileName } from './connector/profiles.ts'
import { strategies, type Strategy, type StrategyName } from './balancer/index.ts'
import { CircuitBreaker, type BreakerTransition } from './health/circuit-breaker.ts'
import { FailureQueue } from './health/failure-queue.ts'
import { bestTier, tierOf, type HealthFacts, type Tier } from './health/health-model.ts'
import { isHealthy, newHealthStatus, recordOutcome, successRate, type HealthState, type HealthStatus } from './health/passive-health.ts'
import type { ProxyLog } from './log.ts'
import type { AttemptResult } from './forward.ts'
import { isFinal4xx, type AttemptOutcome } from './outcome.ts'

export interface Endpoint {
  readonly id: string
  readonly baseUrl: string
  readonly apiKey: string
  /** Path prefix of the base URL, without a trailing slash. */
  readonly basePath: string
  readonly weight: number
  readonly priority: number
  enabled: boolean
  readonly maxFailures: number
  readonly profile: ConnectorProfileName
  readonly connector: Connector
  readonly health: HealthStatus
  readonly breaker: CircuitBreaker
  lastFailureAt: number | null
  /** Epoch ms until which the upstream asked not to be called (`retry-after` on 429/503/529). */
  coolingUntil: number
  inFlight: number
  attempts: number
  staleRetries: number
}

/**
 * A base URL as stats show it: credentials written into it (`https://user:secret@relay`) masked like
 * keys, each part to at most its last 4 characters; the rest exactly as configured.
 */
export function maskUrlCredentials(baseUrl: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)@/.exec(baseUrl)
  if (!m) return baseUrl
  const userinfo = m[2]!
  const colon = userinfo.indexOf(':')
  const masked = colon < 0 ? redactKey(userinfo) : `${redactKey(userinfo.slice(0, colon))}:${redactKey(userinfo.slice(colon + 1))}`
  return `${m[1]}${masked}@${baseUrl.slice(m[0].length)}`
}

/** Outcomes of the path to the upstream that say nothing about the upstream's own health. */
const transient = new Set<AttemptOutcome>(['stale-socket', 'connection-closed', 'connection-reset', 'reset-mid-stream', 'body-timeout'])

export class Cluster {
  readonly name: string
  readonly endpoints: readonly Endpoint[]
  readonly queue = new FailureQueue()
  readonly strategyName: StrategyName
  readonly #strategy: Strategy
  readonly #compat: Compat
  readonly #log: ProxyLog
  readonly #clock: () => number
  readonly #random: () => number
  readonly #recoverAfterMs: number
  /** compat default-profile-fallback: the default profile's endpoints, outside the cluster. */
  readonly #fallback: readonly Endpoint[]
  readonly #defaultProfileName: string | undefined
  readonly #defaultProfileLegacy: boolean
  /** Built once: select() runs on every attempt. */
  readonly #factsOf = (e: Endpoint): HealthFacts => this.facts(e)
  readonly #pickContext: { readonly random: () => number; readonly leastConnectionsLifetime: boolean }

  constructor(config: ProxyConfig['cluster'], deps: { compat: Compat; log: ProxyLog; clock: () => number; random: () => number }) {
    this.name = config.name
    this.#compat = deps.compat
    this.#log = deps.log
    this.#clock = deps.clock
    this.#random = deps.random
    this.#recoverAfterMs = config.recoverAfterMs ?? clusterDefaults.recoverAfterMs
    this.strategyName = config.strategy ?? clusterDefaults.strategy
    this.#strategy = strategies[this.strategyName].create()
    this.#pickContext = { random: this.#random, leastConnectionsLifetime: this.#compat.has('least-connections-lifetime') }
    const clusterConnector = config.connector ?? { profile: 'tuned-keepalive' as const }
    const breaker = { ...clusterDefaults.breaker, ...config.breaker }
    const make = (ep: EndpointConfig): Endpoint => {
      const url = new URL(ep.baseUrl)
      const resolved = resolveConnector(ep.connector ?? clusterConnector)
      const id = ep.id ?? endpointId(ep.baseUrl, ep.apiKey)
      return {
        id,
        baseUrl: ep.baseUrl,
        apiKey: ep.apiKey,
        basePath: url.pathname.replace(/\/+$/, ''),
        weight: ep.weight ?? clusterDefaults.endpoint.weight,
        priority: ep.priority ?? clusterDefaults.endpoint.priority,
        enabled: ep.enabled ?? clusterDefaults.endpoint.enabled,
        maxFailures: ep.maxFailures ?? clusterDefaults.endpoint.maxFailures,
        profile: resolved.profile,
        connector: createConnector(url.origin, resolved.settings, { rejectUnauthorized: ep.rejectUnauthorized }),
        health: newHealthStatus(),
        breaker: new CircuitBreaker(
          { threshold: breaker.threshold, openMs: breaker.openMs, resetOnTimeout: deps.compat.has('breaker-reset-on-timeout') },
          (t) => this.#onBreaker(id, t),
        ),
        lastFailureAt: null,
        coolingUntil: 0,
        inFlight: 0,
        attempts: 0,
        staleRetries: 0,
      }
    }
    this.endpoints = config.endpoints.map(make)
    this.#defaultProfileName = config.defaultProfile?.name
    this.#defaultProfileLegacy = config.defaultProfile?.legacy === true
    this.#fallback = deps.compat.has('default-profile-fallback') ? (config.defaultProfile?.endpoints ?? []).map(make) : []
  }

  #onBreaker(id: string, t: BreakerTransition): void {
    const messages: Record<BreakerTransition, [level: 'warn' | 'info', text: string]> = {
      open: ['warn', `endpoint ${id}: circuit opened after repeated failures`],
      'half-open': ['info', `endpoint ${id}: circuit half-open; one probe request may pass`],
      close: ['info', `endpoint ${id}: circuit closed (recovered)`],
      reset: ['info', `endpoint ${id}: circuit reset after its open time (breaker-reset-on-timeout)`],
    }
    const [level, text] = messages[t]
    this.#log[level](`breaker.${t}`, text)
  }

  facts(e: Endpoint): HealthFacts {
    return {
      id: e.id,
      enabled: e.enabled,
      health: e.health,
      breaker: e.breaker,
      queued: this.queue.has(e.id),
      maxFailures: e.maxFailures,
      recoveredByTime: e.lastFailureAt !== null && this.#clock() - e.lastFailureAt >= this.#recoverAfterMs,
      coolingDown: e.coolingUntil > this.#clock(),
    }
  }

  tier(e: Endpoint): Tier | null {
    return tierOf(this.facts(e), this.#clock(), this.#compat)
  }

  /** Picks an endpoint for the next attempt, or null (logged as `lb.none`). */
  select(exclude: ReadonlySet<string>, requestId: string): Endpoint | null {
    const now = this.#clock()
    const candidates = bestTier(this.endpoints, this.#factsOf, exclude, now, this.#compat)
    if (!candidates || candidates.endpoints.length === 0) {
      const why = candidates ? `${candidates.tier} endpoints refused by the healthy-only balancer (lb-healthy-only)` : `all ${this.endpoints.length} excluded, disabled or isolated`
      // qcc's "simple single-config mode": the first endpoint of the default profile not excluded by this
      // request, whatever its health or failure-queue state (spec §3.2).
      // A legacy profile's temporary endpoint is refused when its id is queued or circuit-open (qcc keys
      // both by id, so the cluster's endpoint of the same id decides); a profile's endpoints are not checked.
      const usable = (e: Endpoint): boolean => !exclude.has(e.id)
        && (!this.#defaultProfileLegacy || (!this.queue.has(e.id) && (this.byId(e.id) ?? e).breaker.allows(now)))
      const fallback = this.#fallback.find(usable)
      if (fallback) {
        this.#log.warn('lb.default-profile-fallback', `[${requestId}] cluster '${this.name}': no endpoint to try (${why}); falling back to the default profile '${this.#defaultProfileName}' (${fallback.id}), outside the cluster`)
        return fallback
      }
      this.#log.error('lb.none', `[${requestId}] cluster '${this.name}': no endpoint to try (${why}; ${exclude.size} excluded by this request)`)
      return null
    }
    const list = candidates.endpoints as [Endpoint, ...Endpoint[]]
    if (candidates.tier === 'degraded') this.#log.warn('lb.degraded-fallback', `[${requestId}] cluster '${this.name}': no healthy endpoint; using ${list.length} degraded`)
    else if (candidates.tier === 'unhealthy') this.#log.warn('lb.unhealthy-fallback', `[${requestId}] cluster '${this.name}': no healthy or degraded endpoint; trying ${list.length} unhealthy`)
    else if (candidates.tier !== 'healthy') this.#log.error('lb.panic', `[${requestId}] cluster '${this.name}': every endpoint is ${candidates.tier}; forcing ${list.length} rather than failing the request`)
    const picked = this.#strategy.pick(list, this.#pickContext)
    this.#log.debug('lb.pick', `[${requestId}] ${picked.id} (strategy ${this.strategyName}, tier ${candidates.tier})`)
    return picked
  }

  /** May a session stay on this endpoint (qcc: healthy and breaker not open)? */
  usableForAffinity(e: Endpoint): boolean {
    return isHealthy(e.health, e.enabled, e.maxFailures) && !this.queue.has(e.id) && e.breaker.allows(this.#clock())
  }

  byId(id: string): Endpoint | undefined {
    return this.endpoints.find((e) => e.id === id)
  }

  /** Sets health facts from one finished attempt (after the connector's own stale retry, if any). */
  recordResult(e: Endpoint, result: AttemptResult, requestId: string): void {
    const now = this.#clock()
    const o = result.outcome
    if (o === 'ok') {
      recordOutcome(e.health, now, { failure: false, status: 'healthy', responseTimeMs: result.durationMs })
      e.breaker.onSuccess()
      return
    }
    if (o === 'client-aborted' || o === 'proxy-error') {
      // The client left, or our own side failed: nothing was learned about the endpoint.
      e.breaker.onAbandon()
      return
    }
    const error = result.answer
      ? `HTTP ${result.answer.status}: ${result.answer.body.subarray(0, 2_000).toString('utf8').slice(0, 500)}`
      : `${o}${result.errorMessage ? `: ${result.errorMessage}` : ''}`
    this.#log.debug('upstream.error', `[${requestId}] ${e.id}: ${error.slice(0, 300)}`)
    const status = result.status ?? 0
    const auth = status === 401 || status === 403
    // The request's own fault says nothing about the endpoint; a refused key (401/403) does.
    const clientFault = isFinal4xx(o, status) && !auth
    if (this.#compat.has('queue-on-any-failure')) {
      this.#fail(e, now, 'unhealthy', error)
      this.#enqueue(e, error, now)
      this.#maybeResetAll(o)
      return
    }
    if (clientFault) {
      // The request's own fault (400, 404, 413…): says nothing about the endpoint. A half-open probe that
      // got one gave no verdict either: free its slot so the next request can probe.
      e.breaker.onAbandon()
      this.#log.info('upstream.client-error', `[${requestId}] ${e.id} answered ${status}; not counted against its health`)
      return
    }
    if (auth) {
      this.#fail(e, now, 'unhealthy', error)
      this.#enqueue(e, error, now)
      return
    }
    this.#fail(e, now, 'degraded', error)
    this.#honourRetryAfter(e, result, now, requestId)
    this.#maybeResetAll(o)
  }

  /** 429/503/529 with `retry-after` (seconds or an HTTP date): keep normal traffic away until then. */
  #honourRetryAfter(e: Endpoint, result: AttemptResult, now: number, requestId: string): void {
    const raw = result.answer?.headers['retry-after']
    const value = Array.isArray(raw) ? raw[0] : raw
    if (value === undefined || ![429, 503, 529].includes(result.status ?? 0)) return
    const seconds = /^\d+$/.test(value.trim()) ? Number(value) : (Date.parse(value) - now) / 1000
    if (!Number.isFinite(seconds) || seconds <= 0) return
    e.coolingUntil = now + Math.min(seconds, 3_600) * 1000
    this.#log.warn('upstream.retry-after', `[${requestId}] ${e.id} asked for a ${seconds} s pause (HTTP ${result.status}); other endpoints first until then`)
  }

  #fail(e: Endpoint, now: number, status: HealthState, error: string): void {
    recordOutcome(e.health, now, { failure: true, status, error })
    e.lastFailureAt = now
    e.breaker.onFailure(now)
  }

  #enqueue(e: Endpoint, reason: string, now: number): void {
    if (this.queue.add(e.id, reason, now)) this.#log.warn('queue.add', `endpoint ${e.id} isolated in the failure queue: ${reason.slice(0, 200)}`)
  }

  #maybeResetAll(o: AttemptOutcome): void {
    if (!this.#compat.has('shared-client-reset') || !transient.has(o)) return
    this.#log.warn('upstream.shared-client-reset', 'transient error: closing every endpoint\'s connections (shared-client-reset); requests in flight fail')
    for (const ep of this.endpoints) ep.connector.reset()
  }

  /** The verifier proved `e` back. */
  recovered(e: Endpoint, responseTimeMs: number): void {
    recordOutcome(e.health, this.#clock(), { failure: false, status: 'healthy', responseTimeMs })
    e.lastFailureAt = null
    e.breaker.onSuccess()
  }

  endpointStats(e: Endpoint): Record<string, unknown> {
    const now = this.#clock()
    const b = e.breaker.snapshot(now)
    const pool = e.connector.pool.stats
    return {
      id: e.id,
      base_url: maskUrlCredentials(e.baseUrl),
      api_key: redactKey(e.apiKey),
      priority: e.priority,
      weight: e.weight,
      enabled: e.enabled,
      health_status: {
        status: e.health.status,
        last_check: e.health.lastCheck === null ? null : new Date(e.health.lastCheck).toISOString(),
        consecutive_failures: e.health.consecutiveFailures,
        total_requests: e.health.totalRequests,
        failed_requests: e.health.failedRequests,
        success_rate: successRate(e.health),
        avg_response_time: Math.round(e.health.avgResponseTimeMs * 1000) / 1000,
        last_error: e.health.lastError === null ? null : this.#log.redact(e.health.lastError),
      },
      is_healthy: isHealthy(e.health, e.enabled, e.maxFailures),
      tier: this.tier(e),
      breaker: { state: b.state, consecutive_failures: b.consecutiveFailures, opened_at: b.openedAt === null ? null : new Date(b.openedAt).toISOString() },
      in_failure_queue: this.queue.has(e.id),
      failure_queue_reason: this.queue.has(e.id) ? this.#log.redact(this.queue.reason(e.id) ?? '').slice(0, 300) : null,
      cooling_until: e.coolingUntil > now ? new Date(e.coolingUntil).toISOString() : null,
      connector_profile: e.profile,
      pool: { connected: pool.connected, free: pool.free, pending: pool.pending, running: pool.running },
      in_flight: e.inFlight,
      attempts: e.attempts,
      stale_retries: e.staleRetries,
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.endpoints, ...this.#fallback].map((e) => e.connector.close()))
  }
}
