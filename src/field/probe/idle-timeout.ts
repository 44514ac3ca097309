/**
 * The relay's real idle timeout. Round 1 opens many keep-alive connections at once and leaves each idle
 * for a different time (a geometric ladder up to `--max-idle`), plus a few that only watch:
 *
 * - a relay that closes idle connections itself (the usual case: nginx, Node, an ALB) shows it
 *   directly: every connection still idle at its timeout receives a FIN or a RST, and the idle time at
 *   which it arrived is one observation. The estimate is their median; the resolution is the half-width
 *   of the sign-test 95 % interval of that median (at least the 2 ms timer granularity of the two ends).
 *   Connections are opened a few ms apart, so one stall of this machine cannot delay every close it
 *   times; observations taken across a stall are left out (stall-monitor.ts), and when too few quiet
 *   ones remain, up to `MAX_CONFIRMING_ROUNDS` more rounds of watchers collect more.
 * - a relay that closes only when a request arrives on a connection idle too long (or a middlebox that
 *   drops the connection silently) shows it by outcome: requests before its timeout are answered, after
 *   it lost (a loss counts at its idle time plus this machine's stall when the response ended). The bracket between the last answered and the first lost idle time is then narrowed with
 *   more connections spread evenly inside it, round after round (at most `MAX_NARROWING_ROUNDS`), until
 *   its half-width is at most half of max(one RTT, 5 %): that half-width is the resolution.
 *
 * Idle times are measured at the client: from the last byte of a response to the close arriving (or to
 * the request being written). A close the relay starts at its idle time T arrives at client idle T; a
 * request written at client idle t reaches the relay at its idle t + RTT.
 */
import { deadAtIdleMs, probeAlive, runFleet, type ConnectionObservation, type FleetContext } from './fleet.ts'
import { ceil1, median, medianInterval, round1 } from './stats.ts'

/** Node's and most relays' timers fire on whole milliseconds, possibly one late, at both ends. */
export const TIMER_GRANULARITY_MS = 2
/**
 * An observation whose timestamps this machine may have delayed by more than this (ms, stall monitor) is
 * left out, as long as enough quiet ones remain; otherwise the quieter half is used and the resolution
 * says how far off it may be.
 */
export const STALL_LIMIT_MS = 2
/** The shortest idle time round 1 tries (ms). */
export const LADDER_MIN_MS = 25
export const MAX_NARROWING_ROUNDS = 4
/** Extra rounds of watchers when stalls of this machine left the observed close too coarse. */
export const MAX_CONFIRMING_ROUNDS = 3

export type IdleResult =
  | {
      /** The relay closed idle connections itself (FIN or RST seen while idle). */
      readonly kind: 'observed-close'
      readonly estimateMs: number
      readonly resolutionMs: number
      readonly minObservedMs: number
      readonly maxObservedMs: number
      readonly observations: number
      /** All closes within max(10 %, 2 RTT + 10 ms) of each other: one timeout, not several. */
      readonly consistent: boolean
      /** Closes left out because this machine stalled while timing them. */
      readonly discarded: number
    }
  | {
      /** No close while idle: requests after the timeout were lost (closed unanswered, reset, or silently dropped). */
      readonly kind: 'close-on-use'
      readonly estimateMs: number
      readonly resolutionMs: number
      /** Every request sent at or below this idle time was answered (ms). */
      readonly answeredUpToMs: number
      /** The shortest idle time at which a request was lost (ms). */
      readonly lostFromMs: number
      /** Some request above `lostFromMs` was answered all the same: the relay's timeout varies. */
      readonly consistent: boolean
      readonly probes: number
    }
  /** No close and no lost request up to `atLeastMs` (bounded by --max-idle). */
  | { readonly kind: 'none-seen'; readonly atLeastMs: number }
  /** The relay answers with `Connection: close`: there is no idle connection to time. */
  | { readonly kind: 'no-keep-alive' }
  | { readonly kind: 'failed'; readonly reason: string }

/** `n` idle times from `minMs` to `maxMs`, evenly spaced on a log scale (ms, to 0.1). */
export function ladder(minMs: number, maxMs: number, n: number): number[] {
  if (n <= 1) return [maxMs]
  const lo = Math.min(minMs, maxMs)
  const f = (maxMs / lo) ** (1 / (n - 1))
  return Array.from({ length: n }, (_, i) => Math.round((i === n - 1 ? maxMs : lo * f ** i) * 10) / 10)
}

/** `n` idle times strictly inside (lowMs, highMs), evenly spaced. */
export function spread(lowMs: number, highMs: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => lowMs + ((i + 1) * (highMs - lowMs)) / (n + 1))
}

/**
 * The resolution the narrowing aims for: half of max(one RTT, 5 % of the timeout), at least the timer
 * granularity, plus the 0.1 ms a rounded estimate may add.
 */
export function targetResolutionMs(lowMs: number, rttMs: number): number {
  return Math.max(TIMER_GRANULARITY_MS, Math.max(rttMs, 0.05 * lowMs) / 2) + 0.1
}

/**
 * The observations timed in quiet moments, when there are enough of them (at least 3, and half); else
 * the quieter half (at least 3), with the median stall among them as a floor for the resolution (the
 * interval of the median already widens with the scatter the stalls cause; the floor covers a shift
 * they share).
 */
export function quietOnes<T extends { readonly uncertaintyMs?: number }>(items: readonly T[]): { used: T[]; discarded: number; floorMs: number } {
  const u = (o: T): number => o.uncertaintyMs ?? 0
  const enough = Math.min(items.length, Math.max(3, Math.ceil(items.length / 2)))
  const quiet = items.filter((o) => u(o) <= STALL_LIMIT_MS)
  const used = quiet.length >= enough ? quiet : [...items].sort((a, b) => u(a) - u(b)).slice(0, enough)
  return { used, discarded: items.length - used.length, floorMs: used.length === 0 ? 0 : median(used.map(u)) }
}

/** What all observations so far say about the idle timeout (pure). */
export function summarizeIdle(observations: readonly ConnectionObservation[], rttMs: number): IdleResult {
  const ok = observations.filter((o) => o.warmup === 'ok')
  if (ok.length === 0) {
    if (observations.some((o) => o.warmup === 'no-keep-alive')) return { kind: 'no-keep-alive' }
    const why = observations.find((o) => o.warmupError)?.warmupError ?? 'no connection answered its first request'
    return { kind: 'failed', reason: why }
  }
  const closing = quietOnes(ok.filter((o) => o.closedAtIdleMs !== undefined))
  if (closing.used.length > 0) {
    const closes = closing.used.map((o) => o.closedAtIdleMs!)
    const est = median(closes)
    const ci = medianInterval(closes)
    const min = Math.min(...closes)
    const max = Math.max(...closes)
    // Rounding the estimate to 0.1 ms moves it: the resolution covers that too, rounded up.
    return {
      kind: 'observed-close',
      estimateMs: round1(est),
      resolutionMs: ceil1(Math.max(TIMER_GRANULARITY_MS, est - ci.low, ci.high - est, closing.floorMs) + Math.abs(round1(est) - est)),
      minObservedMs: round1(min),
      maxObservedMs: round1(max),
      observations: closes.length,
      consistent: max - min <= Math.max(0.1 * est, 2 * rttMs + 10),
      discarded: closing.discarded,
    }
  }
  // A request's measured idle time can only be short of the true one (see ConnectionObservation): an
  // answer proves the relay kept the connection at least that long, a loss that it gave it up by
  // the measured idle plus this machine's stall at the response's end. Nothing is left out.
  const probing = ok.filter((o) => o.probe !== undefined && o.probe.outcome !== 'protocol-error')
  const probes = probing.map((o) => o.probe!)
  const dead = probing.filter((o) => !probeAlive(o.probe!)).map((o) => o.probe!.atIdleMs + (o.uncertaintyMs ?? 0))
  const alive = probes.filter(probeAlive).map((p) => p.atIdleMs)
  if (dead.length > 0) {
    const lostFrom = Math.min(...dead)
    const below = alive.filter((t) => t < lostFrom)
    const answeredUpTo = below.length > 0 ? Math.max(...below) : 0
    const mid = (answeredUpTo + lostFrom) / 2
    return {
      kind: 'close-on-use',
      estimateMs: round1(mid),
      resolutionMs: ceil1(Math.max(TIMER_GRANULARITY_MS, (lostFrom - answeredUpTo) / 2) + Math.abs(round1(mid) - mid)),
      answeredUpToMs: round1(answeredUpTo),
      lostFromMs: round1(lostFrom),
      consistent: alive.every((t) => t < lostFrom),
      probes: probes.length,
    }
  }
  const survived = ok.flatMap((o) => [o.survivedIdleMs ?? 0, o.probe?.atIdleMs ?? 0])
  return { kind: 'none-seen', atLeastMs: round1(Math.max(...survived)) }
}

export interface IdleSearchOptions {
  readonly maxIdleMs: number
  readonly connections: number
  readonly rttMs: number
  readonly staggerMs?: number
  readonly onRound?: (round: number, what: string, waitMs: number) => void
}

export interface IdleSearch {
  readonly result: IdleResult
  readonly observations: ConnectionObservation[]
  readonly rounds: number
}

/** Round 1 (the ladder), then narrowing rounds for a relay that closes on use. */
export async function searchIdleTimeout(ctx: FleetContext, options: IdleSearchOptions): Promise<IdleSearch> {
  const watchers = Math.max(2, Math.round(options.connections / 4))
  const rungs = ladder(Math.min(LADDER_MIN_MS, options.maxIdleMs), options.maxIdleMs, Math.max(1, options.connections - watchers))
  const staggerMs = options.staggerMs ?? 7
  // Watchers sit out the whole --max-idle, and a little more: a close right at it still shows.
  const watchUntil = options.maxIdleMs + 2 * options.rttMs + 50
  options.onRound?.(1, `${options.connections} connections idle ${formatMs(rungs[0]!)}–${formatMs(options.maxIdleMs)}`, watchUntil)
  const observations = await runFleet(
    { probeAtIdleMs: [...rungs, ...Array.from({ length: watchers }, () => undefined)], watchUntilIdleMs: watchUntil, staggerMs },
    ctx,
    (done, running) => {
      // Once something died, connections that outlived twice that idle time add nothing but waiting.
      const dead = done.flatMap((o) => { const d = deadAtIdleMs(o); return d === undefined ? [] : [d] })
      if (dead.length === 0) return false
      const limit = 2 * Math.min(...dead) + 250
      return running.every((r) => r.idleMs !== undefined && r.idleMs > limit)
    },
  )
  let result = summarizeIdle(observations, options.rttMs)
  let rounds = 1
  let confirming = 0
  // Closes seen, but this machine stalled too often while timing them: watch more connections close.
  while (result.kind === 'observed-close' && confirming < MAX_CONFIRMING_ROUNDS && !ctx.signal.aborted) {
    if (result.resolutionMs <= targetResolutionMs(result.estimateMs, options.rttMs)) break
    rounds++
    confirming++
    const watchUntil = result.estimateMs * 1.5 + 250
    options.onRound?.(rounds, `${options.connections} more connections watched (± ${result.resolutionMs} ms was too coarse)`, watchUntil)
    const more = await runFleet({ probeAtIdleMs: Array.from({ length: options.connections }, () => undefined), watchUntilIdleMs: watchUntil, staggerMs }, ctx)
    observations.push(...more.map((o) => ({ ...o, index: o.index + observations.length })))
    result = summarizeIdle(observations, options.rttMs)
  }
  while (result.kind === 'close-on-use' && rounds <= MAX_NARROWING_ROUNDS && !ctx.signal.aborted) {
    if (result.resolutionMs <= targetResolutionMs(result.answeredUpToMs, options.rttMs)) break
    rounds++
    const times = spread(result.answeredUpToMs, result.lostFromMs, options.connections)
    options.onRound?.(rounds, `narrowing ${formatMs(result.answeredUpToMs)}–${formatMs(result.lostFromMs)} with ${times.length} connections`, result.lostFromMs)
    const more = await runFleet({ probeAtIdleMs: times, watchUntilIdleMs: result.lostFromMs + 50, staggerMs }, ctx)
    observations.push(...more.map((o) => ({ ...o, index: o.index + observations.length })))
    result = summarizeIdle(observations, options.rttMs)
  }
  return { result, observations, rounds }
}

export function formatMs(ms: number): string {
  if (ms >= 10_000) return `${Math.round(ms / 1000)} s`
  if (ms >= 1_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 2).replace(/\.?0+$/, '')} s`
  return `${Math.round(ms)} ms`
}
