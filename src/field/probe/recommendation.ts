/**
 * What to set, from what was measured (pure). The rule everywhere: a pooled client must give up an
 * idle connection before the relay closes it, by a margin that covers what the measurement cannot
 * see: its own resolution, one RTT (a request written at client idle t reaches the relay at its idle
 * t + RTT; a close measured by a lost request already includes it), and slack for the client's idle
 * timer firing late under load and the relay's firing early, max(50 ms, 5 %) (Node's http.Agent keeps
 * 1 s, undici subtracts 2 s from a hint: fixed margins too wide for a relay with a sub-second timeout).
 */
import type { HeaderResult } from './header-honesty.ts'
import type { IdleResult } from './idle-timeout.ts'
import type { RaceResult } from './race-check.ts'
import type { RequestCapResult } from './request-cap.ts'
import type { TimingsResult } from './timings.ts'
import { parseKeepAliveHeader } from './response-parser.ts'
import { round1 } from './stats.ts'

export const SLACK_MIN_MS = 50
export const SLACK_FRACTION = 0.05
/** Below this an idle expiry is not worth having: force-close instead (ms). */
export const MIN_USEFUL_EXPIRY_MS = 10

export interface RecommendationInput {
  readonly tls: boolean
  readonly idle: IdleResult
  readonly header: HeaderResult
  readonly cap?: RequestCapResult
  readonly race: RaceResult
  readonly timings: TimingsResult
}

export interface ClientDefault {
  readonly client: string
  /** How long it keeps an idle connection against this relay (ms); 0 = it never reuses one. */
  readonly expiryMs: number
  /** null: not tested (it keeps connections longer than --max-idle, where nothing was measured). */
  readonly safe: boolean | null
  readonly why: string
}

export interface Recommendation {
  /** The longest idle time after which a pooled connection may still be reused (ms); null: none is safe or none applies. */
  readonly idleExpiryMs: number | null
  /** Measured timeout minus `idleExpiryMs`, and what it is made of (ms). */
  readonly margin?: { readonly totalMs: number; readonly resolutionMs: number; readonly rttMs: number; readonly slackMs: number }
  readonly basis: string
  readonly undici: { readonly options: Readonly<Record<string, number | boolean>> | null; readonly forceClose: boolean; readonly text: string }
  readonly aiohttp: { readonly keepaliveTimeoutS: number | null; readonly forceClose: boolean; readonly text: string }
  /** A qcc-lab connector (proxy config or scenario variant) with these settings. */
  readonly qccLab: { readonly connector: Readonly<Record<string, string | number | boolean>> | 'force-close'; readonly text: string }
  readonly defaults: readonly ClientDefault[]
  readonly forceClose: {
    /** Needed with undici / with aiohttp (qcc's keepalive_timeout) even at the recommended settings. */
    readonly neededUndici: boolean
    readonly neededAiohttp: boolean
    readonly reasons: readonly string[]
    /**
     * What it adds to every request, and to every first SSE event (the connection is set up before the
     * request), ms; null when no connection could be reused to compare with.
     */
    readonly costPerRequestMs: number | null
    readonly costPerFirstSseEventMs: number | null
    /** The same in RTTs. */
    readonly costRtts: number | null
    /** aiohttp does not resume TLS sessions: a full handshake per request (HTTPS only). */
    readonly aiohttpCostPerRequestMs?: number | null
    readonly detail: string
  }
}

const floorTo = (v: number, step: number): number => Math.floor(v / step) * step

/** The slack for timers on both ends: max(50 ms, 5 % of the timeout). */
export function slackMs(timeoutMs: number): number {
  return Math.max(SLACK_MIN_MS, SLACK_FRACTION * timeoutMs)
}

/** The safe idle expiry and its margin, from the idle result alone. */
export function safeExpiry(idle: IdleResult, rttMs: number, race?: RaceResult): { expiryMs: number | null; margin?: Recommendation['margin']; basis: string } {
  if (idle.kind === 'observed-close') {
    // Several timeouts (a pool of relays behind one name): the earliest close decides.
    const low = idle.consistent ? idle.estimateMs - idle.resolutionMs : Math.min(idle.minObservedMs, idle.estimateMs - idle.resolutionMs)
    const slack = slackMs(low)
    // A relay that also drops requests sent further ahead of its close than one RTT needs that much more.
    const lead = Math.max(rttMs, race?.kind === 'observed-close' ? (race.furthestLostLeadMs ?? 0) : 0)
    const raw = low - lead - slack
    const expiry = raw >= MIN_USEFUL_EXPIRY_MS ? floorTo(raw, 10) : null
    return {
      expiryMs: expiry,
      margin: expiry === null ? undefined : { totalMs: round1(idle.estimateMs - expiry), resolutionMs: idle.resolutionMs, rttMs: lead, slackMs: round1(slack) },
      basis: `the relay closes idle connections after ${idle.estimateMs} ms ± ${idle.resolutionMs} ms${idle.consistent ? '' : ` (not uniform: ${idle.minObservedMs}–${idle.maxObservedMs} ms)`}; minus ${lead === rttMs ? `one RTT (${rttMs} ms)` : `the furthest lead at which a request was lost (${lead} ms)`} and max(50 ms, 5 %) slack`,
    }
  }
  if (idle.kind === 'close-on-use') {
    const low = idle.answeredUpToMs
    const slack = slackMs(low)
    const raw = low - slack
    const expiry = raw >= MIN_USEFUL_EXPIRY_MS ? floorTo(raw, 10) : null
    return {
      expiryMs: expiry,
      margin: expiry === null ? undefined : { totalMs: round1(idle.estimateMs - expiry), resolutionMs: idle.resolutionMs, rttMs: 0, slackMs: round1(slack) },
      basis: `requests written after ${idle.lostFromMs} ms idle were lost, up to ${idle.answeredUpToMs} ms answered (the RTT is already in these client-side times); minus max(50 ms, 5 %) slack`,
    }
  }
  if (idle.kind === 'none-seen') {
    const slack = slackMs(idle.atLeastMs)
    return {
      expiryMs: floorTo(idle.atLeastMs - slack, 10),
      margin: { totalMs: round1(slack), resolutionMs: 0, rttMs: 0, slackMs: round1(slack) },
      basis: `the relay kept idle connections at least ${round1(idle.atLeastMs / 1000)} s (--max-idle); longer expiries were not tested`,
    }
  }
  return { expiryMs: null, basis: idle.kind === 'no-keep-alive' ? 'the relay answers with Connection: close: no connection is ever reused' : `no idle connection could be timed (${idle.reason})` }
}

/** What common clients keep an idle connection for against this relay, and whether that is safe. */
export function clientDefaults(header: HeaderResult, expiryMs: number | null, idle: IdleResult): ClientDefault[] {
  const hint = parseKeepAliveHeader(header.header ?? undefined).timeoutS
  const undici = hint === undefined ? 4_000 : Math.max(0, Math.min(hint * 1000 - 2_000, 600_000))
  const judge = (client: string, ms: number, how: string): ClientDefault => {
    if (ms === 0) return { client, expiryMs: 0, safe: true, why: `${how}: never reuses a connection (safe, but every request pays force-close's price)` }
    if (idle.kind === 'no-keep-alive') return { client, expiryMs: ms, safe: true, why: `${how}: the relay closes every connection itself` }
    if (expiryMs === null) return { client, expiryMs: ms, safe: idle.kind === 'failed' ? null : false, why: `${how}: no idle expiry is safe against this relay` }
    const safe = ms <= expiryMs
    if (!safe && idle.kind === 'none-seen') return { client, expiryMs: ms, safe: null, why: `${how}: longer than --max-idle, not tested` }
    return { client, expiryMs: ms, safe, why: `${how}: ${safe ? 'below' : 'above'} the safe ${expiryMs} ms` }
  }
  return [
    judge('undici (defaults)', undici, hint === undefined ? 'no hint: its 4 s default' : `hint ${hint} s − 2 s (keepAliveTimeoutThreshold)`),
    judge('aiohttp (default keepalive_timeout=15)', 15_000, 'ignores the hint'),
    judge("qcc's old aiohttp keepalive_timeout=60", 60_000, 'ignores the hint'),
  ]
}

export function recommend(input: RecommendationInput): Recommendation {
  const t = input.timings
  const rtt = t.rttMs
  const { expiryMs, margin, basis } = safeExpiry(input.idle, rtt, input.race)
  const reasons: string[] = []
  const noKeepAlive = input.idle.kind === 'no-keep-alive' || input.cap?.kind === 'no-keep-alive'
  if (expiryMs === null && (input.idle.kind === 'observed-close' || input.idle.kind === 'close-on-use')) {
    reasons.push(`the relay closes connections within ${input.idle.estimateMs} ms of an answer: no idle expiry leaves a safe margin`)
  }
  // A cap of 1 is the idle close itself (the relay closes right after every answer), not a cap of its own.
  const silentCap = input.cap !== undefined && (input.cap.kind === 'closes-after' || input.cap.kind === 'loses-next') && (input.cap.cap ?? 0) > 1 ? input.cap : undefined
  const aiohttpReasons = [...reasons]
  if (silentCap) aiohttpReasons.push(`the relay ends a connection after ${silentCap.cap} requests without Connection: close; aiohttp has no per-connection request limit`)
  const neededUndici = reasons.length > 0
  const neededAiohttp = aiohttpReasons.length > 0

  const undiciCost = input.tls && t.tlsResumption === 'resumed' && t.freshCostResumedMs !== undefined ? t.freshCostResumedMs : t.freshCostMs
  const costRtts = rtt > 0 && undiciCost !== null ? round1(undiciCost / rtt) : null
  const setup = `TCP connect ${t.tcpConnectMs.median} ms${t.tlsFullMs ? ` + TLS ${t.tlsResumption === 'resumed' && t.tlsResumedMs ? `${t.tlsResumedMs.median} ms resumed (${t.tlsFullMs.median} ms full)` : `${t.tlsFullMs.median} ms`}` : ''}`
  const forceClose = {
    neededUndici,
    neededAiohttp,
    reasons: aiohttpReasons,
    costPerRequestMs: undiciCost,
    costPerFirstSseEventMs: undiciCost,
    costRtts,
    ...(input.tls ? { aiohttpCostPerRequestMs: t.freshCostMs } : {}),
    detail: undiciCost === null
      ? `already paid: no connection to this relay could be reused, so every request opens one (${setup})`
      : noKeepAlive
      ? `already paid: the relay closes every connection (a new connection costs ${undiciCost} ms${costRtts === null ? '' : `, ${costRtts} RTT`})`
      : `+${undiciCost} ms per request and per first SSE event${costRtts === null ? '' : ` (about ${Math.max(0.5, Math.round(costRtts * 2) / 2)} RTT of ${rtt} ms)`}: a fresh connection's ${setup} and first request, minus a reused connection's request${input.tls && t.freshCostMs !== null ? `; aiohttp (no TLS session reuse) +${t.freshCostMs} ms` : ''}`,
  }
  const defaults = clientDefaults(input.header, expiryMs, input.idle)

  if (expiryMs === null || noKeepAlive) {
    const why = noKeepAlive ? 'the relay closes every connection itself; nothing to tune' : reasons.join('; ') || basis
    return {
      idleExpiryMs: null,
      basis,
      undici: { options: noKeepAlive ? null : { pipelining: 0 }, forceClose: !noKeepAlive, text: noKeepAlive ? why : `force-close: pipelining: 0 (or reset: true per request) — ${why}` },
      aiohttp: { keepaliveTimeoutS: null, forceClose: !noKeepAlive, text: noKeepAlive ? why : `TCPConnector(force_close=True) — ${why}` },
      qccLab: { connector: 'force-close', text: noKeepAlive ? why : `connector: force-close — ${why}` },
      defaults,
      forceClose,
    }
  }
  const undiciOptions: Record<string, number | boolean> = {
    keepAliveTimeout: expiryMs,
    keepAliveMaxTimeout: expiryMs,
    // min(hint − threshold, max) = max: the measured timeout, not the header, decides.
    keepAliveTimeoutThreshold: -expiryMs,
    ...(input.tls ? { allowH2: false } : {}),
    ...(silentCap && silentCap.cap !== undefined ? { maxRequestsPerClient: silentCap.cap } : {}),
  }
  const seconds = expiryMs >= 1_000 ? floorTo(expiryMs / 1000, 0.1) : floorTo(expiryMs / 1000, 0.01)
  const keepaliveTimeoutS = Number(seconds.toFixed(2))
  return {
    idleExpiryMs: expiryMs,
    margin,
    basis,
    undici: {
      options: undiciOptions,
      forceClose: false,
      text: `new Agent({ ${Object.entries(undiciOptions).map(([k, v]) => `${k}: ${v}`).join(', ')} })${silentCap ? `; maxRequestsPerClient ends each connection before the relay's cap of ${silentCap.cap}` : ''}`,
    },
    aiohttp: {
      keepaliveTimeoutS: neededAiohttp ? null : keepaliveTimeoutS,
      forceClose: neededAiohttp,
      text: neededAiohttp ? `TCPConnector(force_close=True) — ${aiohttpReasons.join('; ')}` : `TCPConnector(keepalive_timeout=${keepaliveTimeoutS}) (qcc: keepalive_timeout=${keepaliveTimeoutS}, force_close=False)`,
    },
    qccLab: {
      connector: { profile: 'tuned-keepalive', idleTimeoutMs: expiryMs, maxIdleTimeoutMs: expiryMs, honourKeepAliveHint: false },
      text: `connector: { profile: tuned-keepalive, idleTimeoutMs: ${expiryMs}, maxIdleTimeoutMs: ${expiryMs}, honourKeepAliveHint: false }`,
    },
    defaults,
    forceClose,
  }
}
