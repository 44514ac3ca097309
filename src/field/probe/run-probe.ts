/**
 * Runs the probe's steps in order and builds its report: timings on a quiet connection first, then the
 * idle timeout search with the request cap beside it (it only needs one connection), then the race
 * check around the close that was found. Every socket is owned by one registry and destroyed at the
 * end, on an error, or when `signal` aborts (Ctrl-C).
 */
import { lookup } from 'node:dns/promises'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { ProbeConnectError, SocketRegistry } from './connection.ts'
import { classifyCloses } from './close-kind.ts'
import type { FleetContext } from './fleet.ts'
import { judgeHeader } from './header-honesty.ts'
import { searchIdleTimeout, summarizeIdle, formatMs, STALL_LIMIT_MS } from './idle-timeout.ts'
import { checkRace } from './race-check.ts'
import { recommend } from './recommendation.ts'
import { PROBE_REPORT_SCHEMA, type ProbeReport, type ProbeSettings } from './report.ts'
import { findRequestCap, type RequestCapResult } from './request-cap.ts'
import { round1 } from './stats.ts'
import { startStallMonitor } from './stall-monitor.ts'
import type { ProbeTarget } from './target.ts'
import { measureTimings } from './timings.ts'

export const probeDefaults: ProbeSettings = {
  maxIdleMs: 120_000,
  connections: 16,
  maxRequests: 100,
  timeoutMs: 10_000,
  samples: 5,
}

/** How often the event-loop delay monitor samples (ms). */
const LAG_SAMPLE_MS = 10

/** What the probe is doing, for a progress line. `waitMs`: how long this step may wait at most. */
export interface ProbeProgress {
  readonly step: 'resolve' | 'timings' | 'idle' | 'race' | 'cap'
  readonly message: string
  readonly done?: number
  readonly total?: number
  readonly waitMs?: number
}

export interface ProbeOptions extends Partial<ProbeSettings> {
  readonly target: ProbeTarget
  readonly keyEnv?: string
  readonly signal?: AbortSignal
  readonly onProgress?: (p: ProbeProgress) => void
  readonly environment?: Readonly<Record<string, string | number>>
}

/** The probe was interrupted (Ctrl-C): nothing is reported, every socket is closed. */
export class ProbeAbortedError extends Error {
  constructor() {
    super('The probe was interrupted.')
    this.name = 'ProbeAbortedError'
  }
}

export async function runProbe(options: ProbeOptions): Promise<ProbeReport> {
  const settings: ProbeSettings = {
    maxIdleMs: options.maxIdleMs ?? probeDefaults.maxIdleMs,
    connections: options.connections ?? probeDefaults.connections,
    maxRequests: options.maxRequests ?? probeDefaults.maxRequests,
    timeoutMs: options.timeoutMs ?? probeDefaults.timeoutMs,
    samples: options.samples ?? probeDefaults.samples,
  }
  const target = options.target
  const started = performance.now()
  const startedAt = new Date().toISOString()
  const registry = new SocketRegistry()
  const signal = options.signal ?? new AbortController().signal
  const closeAll = (): void => registry.closeAll()
  signal.addEventListener('abort', closeAll, { once: true })
  const lag = monitorEventLoopDelay({ resolution: LAG_SAMPLE_MS })
  lag.enable()
  const stalls = startStallMonitor()
  const progress = options.onProgress ?? (() => undefined)
  const checkAborted = (): void => {
    if (signal.aborted) throw new ProbeAbortedError()
  }
  try {
    progress({ step: 'resolve', message: `resolving ${target.host}` })
    let address: string
    try {
      address = (await lookup(target.host)).address
    } catch (err) {
      throw new ProbeConnectError(`Failed to resolve ${target.host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}. Check the base URL.`, { cause: err })
    }
    checkAborted()
    progress({ step: 'timings', message: `timing ${settings.samples} new connections`, done: 0, total: settings.samples })
    const timings = await measureTimings(target, registry, {
      address, timeoutMs: settings.timeoutMs, samples: settings.samples,
      onSample: (done, total) => progress({ step: 'timings', message: 'timing new connections', done, total }),
    })
    checkAborted()
    const ctx: FleetContext = { target, address, registry, timeoutMs: settings.timeoutMs, signal, stalls }
    const notes: string[] = []
    let idleSearch: Awaited<ReturnType<typeof searchIdleTimeout>> | undefined
    let cap: RequestCapResult | { kind: 'skipped'; detail: string }
    if (timings.noKeepAlive) {
      cap = { kind: 'skipped', detail: 'the relay answers with Connection: close' }
    } else {
      const capRun: Promise<RequestCapResult | { kind: 'skipped'; detail: string }> = settings.maxRequests > 0
        ? findRequestCap(target, registry, {
            address, timeoutMs: settings.timeoutMs, maxRequests: settings.maxRequests, rttMs: timings.rttMs, signal,
            onProgress: (done, total) => progress({ step: 'cap', message: 'requests on one connection', done, total }),
          })
        : Promise.resolve({ kind: 'skipped' as const, detail: '--max-requests 0' })
      const idleRun = searchIdleTimeout(
        { ...ctx, onUpdate: (done, total) => progress({ step: 'idle', message: 'connections resolved', done, total }) },
        {
          maxIdleMs: settings.maxIdleMs, connections: settings.connections, rttMs: timings.rttMs,
          onRound: (round, what, waitMs) => progress({ step: 'idle', message: `idle timeout, round ${round}: ${what}`, waitMs }),
        },
      )
      const [idleDone, capDone] = await Promise.allSettled([idleRun, capRun])
      checkAborted()
      if (idleDone.status === 'rejected') throw idleDone.reason
      idleSearch = idleDone.value
      cap = capDone.status === 'fulfilled' ? capDone.value : { kind: 'skipped', detail: `failed: ${(capDone.reason as Error).message}` }
    }
    const observations = idleSearch?.observations ?? []
    let idle = idleSearch?.result ?? summarizeIdle([{ index: 0, warmup: 'no-keep-alive' }], timings.rttMs)
    const race = await checkRace({ ...ctx, onUpdate: (done, total) => progress({ step: 'race', message: 'connections resolved', done, total }) }, idle, observations, {
      connections: settings.connections, rttMs: timings.rttMs,
      onRound: (what, waitMs) => progress({ step: 'race', message: `race check: ${what}`, waitMs }),
    })
    checkAborted()
    if (race.observations.length > 0) {
      observations.push(...race.observations.map((o) => ({ ...o, index: o.index + observations.length })))
      idle = summarizeIdle(observations, timings.rttMs)
    }
    const headers = [...timings.keepAliveHeaders, ...observations.flatMap((o) => (o.keepAliveHeader === undefined ? [] : [o.keepAliveHeader]))]
    const header = judgeHeader(headers, idle, timings.rttMs)
    const closes = classifyCloses(observations)
    const recommendation = recommend({ tls: target.tls, idle, header, cap: cap.kind === 'skipped' ? undefined : cap, race: race.result, timings })
    if (idle.kind === 'none-seen') notes.push(`No idle close up to ${formatMs(settings.maxIdleMs)}: raise --max-idle to look further.`)
    if (idle.kind === 'observed-close' && !idle.consistent) notes.push(`The relay closed idle connections at different times (${idle.minObservedMs}–${idle.maxObservedMs} ms): several relays behind one name, or a periodic sweep; the recommendation follows the earliest.`)
    if (idle.kind === 'close-on-use' && !idle.consistent) notes.push('Some requests were answered after a longer idle time than a lost one: the relay\'s timeout varies.')
    if (idle.kind === 'observed-close' && idle.discarded > 0) notes.push(`${idle.discarded} of ${idle.discarded + idle.observations} closes were timed while this machine stalled (more than ${STALL_LIMIT_MS} ms) and were left out.`)
    if (closes.withUnsolicitedBytes > 0) notes.push(`${closes.withUnsolicitedBytes} idle connection(s) received bytes before the close (e.g. a 408 Request Timeout).`)
    if (closes.kind === 'silent') notes.push('Lost requests got no answer and no close: a middlebox drops idle connections silently; a pooled request then waits for its whole timeout.')
    if (target.request.kind === 'get' && timings.status >= 400) notes.push(`The relay answered ${target.request.describe} with ${timings.status}; any answer will do to time connections.`)
    // The histogram holds the whole sampling interval: the delay is what exceeds it.
    const delay = (ns: number): number => round1(Math.max(0, ns / 1e6 - LAG_SAMPLE_MS))
    return {
      schema: PROBE_REPORT_SCHEMA,
      target: {
        url: target.url,
        protocol: target.tls ? 'https' : 'http',
        request: target.request.describe,
        ...(options.keyEnv !== undefined ? { keyEnv: options.keyEnv } : {}),
      },
      startedAt,
      durationMs: Math.round(performance.now() - started),
      ...(options.environment ? { environment: options.environment } : {}),
      settings,
      timings,
      idle: { ...idle, rounds: (idleSearch?.rounds ?? 0) + (race.observations.length > 0 ? 1 : 0), connectionsUsed: observations.length },
      header,
      closes,
      requestCap: cap,
      race: race.result,
      recommendation,
      clientLagMs: { p99: delay(lag.percentile(99)), max: delay(lag.max) },
      notes,
    }
  } catch (err) {
    if (signal.aborted) throw new ProbeAbortedError()
    throw err
  } finally {
    stalls.stop()
    lag.disable()
    signal.removeEventListener('abort', closeAll)
    registry.closeAll()
  }
}
