/**
 * Subscribes to one proxy's events for the length of a run: its attempts and requests, each stamped with
 * the run's clock, and (given its stats) each endpoint's tier, breaker and queue state whenever it changed.
 */
import { performance } from 'node:perf_hooks'
import { proxyChannels, type AttemptEvent, type RequestEvent } from '../../proxy/events.ts'
import { logChannel, type LogRecord } from '../../proxy/log.ts'
import type { ProxyStats } from '../../proxy/server.ts'

/** An attempt event and when it finished (ms on the run's clock). */
export type TimedAttempt = AttemptEvent & { readonly atMs: number }

/** One endpoint's state from the moment `atMs` (ms on the run's clock) until its next change. */
export interface EndpointStateChange {
  readonly atMs: number
  readonly endpointId: string
  /** The candidate tier the health model puts it in (`healthy` … `queued`); null: never used (disabled). */
  readonly tier: string | null
  readonly breaker: string
  /** Passive health: `healthy`, `degraded`, `unhealthy`. */
  readonly health: string
  readonly queued: boolean
}

export interface Collector {
  readonly attempts: TimedAttempt[]
  readonly requests: RequestEvent[]
  /** Empty without `stats`. */
  readonly endpointStates: EndpointStateChange[]
  stop(): void
}

export interface CollectOptions {
  /** The run's clock (ms); default `performance.now()`. */
  readonly now?: () => number
  /**
   * The proxy's stats, read (synchronously) after each of its log lines: a state change (a breaker opening,
   * an endpoint degraded or queued) is always logged or follows a logged attempt, so no change is missed.
   */
  readonly stats?: () => ProxyStats
}

type EndpointStats = ProxyStats['endpoints'][number] & {
  readonly tier?: string | null
  readonly breaker?: { readonly state?: string }
  readonly health_status?: { readonly status?: string }
  readonly in_failure_queue?: boolean
}

export function collectProxyEvents(proxyId: string, options: CollectOptions = {}): Collector {
  const now = options.now ?? (() => performance.now())
  const attempts: TimedAttempt[] = []
  const requests: RequestEvent[] = []
  const endpointStates: EndpointStateChange[] = []
  const last = new Map<string, string>()
  let pending = false
  let stopped = false
  const snapshot = (): void => {
    pending = false
    if (stopped) return
    const stats = options.stats?.()
    if (!stats) return
    const atMs = now()
    for (const e of stats.endpoints as readonly EndpointStats[]) {
      const state = { tier: e.tier ?? null, breaker: e.breaker?.state ?? 'closed', health: e.health_status?.status ?? 'healthy', queued: e.in_failure_queue === true }
      const key = `${state.tier}|${state.breaker}|${state.health}|${state.queued}`
      if (last.get(e.id) === key) continue
      last.set(e.id, key)
      endpointStates.push({ atMs, endpointId: e.id, ...state })
    }
  }
  const onAttempt = (m: unknown): void => {
    const e = m as AttemptEvent
    if (e.proxyId === proxyId) attempts.push({ ...e, atMs: now() })
  }
  const onRequest = (m: unknown): void => {
    const e = m as RequestEvent
    if (e.proxyId === proxyId) requests.push(e)
  }
  const onLog = (m: unknown): void => {
    if ((m as LogRecord).proxyId !== proxyId || pending) return
    // After the code that logged has finished its synchronous part (the health update follows the line);
    // reading the stats may log a breaker transition itself, which only schedules one more read.
    pending = true
    queueMicrotask(snapshot)
  }
  proxyChannels.attempt.subscribe(onAttempt)
  proxyChannels.request.subscribe(onRequest)
  if (options.stats) {
    logChannel.subscribe(onLog)
    snapshot()
  }
  return {
    attempts,
    requests,
    endpointStates,
    stop() {
      stopped = true
      proxyChannels.attempt.unsubscribe(onAttempt)
      proxyChannels.request.unsubscribe(onRequest)
      if (options.stats) logChannel.unsubscribe(onLog)
    },
  }
}
