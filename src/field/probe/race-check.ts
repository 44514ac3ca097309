/**
 * Whether a close can race a request: requests sent just before the relay's idle close. A relay that
 * closes idle connections sends its FIN at its idle time T; a request written less than one RTT before
 * the client sees that FIN crosses it on the wire and is lost (the relay never read it; its kernel
 * answers with a RST). A relay may also close connections that already carry a request: then requests
 * sent well before T are lost too. This round sends requests at lead times spread over (0, window]
 * before the measured close (geometric, from an eighth of an RTT up to the window) and counts which
 * were answered; watchers add observations of the close.
 *
 * For a relay that closes on use (see idle-timeout.ts) the answer is already known: every request
 * written after its timeout is read and never answered, so the close races the request every time.
 */
import { probeAlive, runFleet, type ConnectionObservation, type FleetContext } from './fleet.ts'
import { formatMs, ladder, type IdleResult } from './idle-timeout.ts'
import { round1 } from './stats.ts'

export type RaceResult =
  | {
      readonly kind: 'observed-close'
      /** `races`: a request sent before the close was seen got no answer; `not-seen`: all were answered. */
      readonly verdict: 'races' | 'not-seen'
      readonly sent: number
      readonly answered: number
      readonly lost: number
      /** Requests sent this many ms or less before the close were tried (the window). */
      readonly windowMs: number
      /** The answered request sent closest to the close: this many ms before it. */
      readonly closestAnsweredLeadMs?: number
      /** The lost request sent furthest ahead of the close: this many ms before it. */
      readonly furthestLostLeadMs?: number
      /** On the network a FIN crosses any request written less than one RTT before it arrives (ms). */
      readonly networkWindowMs: number
    }
  | { readonly kind: 'close-on-use'; readonly verdict: 'close-on-use'; readonly lostFromMs: number; readonly how: Readonly<Record<string, number>> }
  | { readonly kind: 'skipped'; readonly reason: string }

export interface RaceCheck {
  readonly result: RaceResult
  /** New observations of the idle close (from watchers and late probes), for the idle estimate. */
  readonly observations: ConnectionObservation[]
}

/** Below this idle close (ms) the relay closes right after each answer: there is no "before the close" to send in. */
export const MIN_RACEABLE_MS = 10

/** The lead times before the close that the race round tries: up to max(2 RTT, 4 resolutions, 5 %, 10 ms). */
export function raceWindowMs(idle: { readonly estimateMs: number; readonly resolutionMs: number }, rttMs: number): number {
  return Math.min(idle.estimateMs, Math.max(2 * rttMs, 4 * idle.resolutionMs, 0.05 * idle.estimateMs, 10))
}

/** How requests lost after a close-on-use timeout ended, counted by kind (`fin`, `rst`, `timeout`…). */
export function lossKinds(observations: readonly ConnectionObservation[]): Record<string, number> {
  const how: Record<string, number> = {}
  for (const o of observations) {
    if (!o.probe || probeAlive(o.probe) || o.probe.outcome === 'protocol-error') continue
    const k = o.probe.outcome === 'timeout' ? 'timeout' : (o.probe.closeKind ?? 'unknown')
    how[k] = (how[k] ?? 0) + 1
  }
  return how
}

export async function checkRace(
  ctx: FleetContext,
  idle: IdleResult,
  earlier: readonly ConnectionObservation[],
  options: { readonly connections: number; readonly rttMs: number; readonly staggerMs?: number; readonly onRound?: (what: string, waitMs: number) => void },
): Promise<RaceCheck> {
  if (idle.kind === 'close-on-use') {
    return { result: { kind: 'close-on-use', verdict: 'close-on-use', lostFromMs: idle.lostFromMs, how: lossKinds(earlier) }, observations: [] }
  }
  if (idle.kind !== 'observed-close') return { result: { kind: 'skipped', reason: 'no idle close was found to race' }, observations: [] }
  if (idle.estimateMs < MIN_RACEABLE_MS) {
    return { result: { kind: 'skipped', reason: `the relay closes ${idle.estimateMs} ms after every answer: any reuse races that close` }, observations: [] }
  }
  const window = raceWindowMs(idle, options.rttMs)
  const probers = Math.max(4, Math.round(options.connections / 2))
  const watchers = Math.max(2, Math.round(options.connections / 4))
  // Geometric from an eighth of an RTT: the network's own window (< 1 RTT) and the wider one both get requests.
  const leads = ladder(Math.max(1, Math.min(options.rttMs / 8, window / probers)), window, probers)
  const at = leads.map((l) => Math.max(0, idle.estimateMs - l))
  const watchUntil = idle.estimateMs * 1.5 + 250 + 4 * idle.resolutionMs
  options.onRound?.(`${probers} requests sent ${formatMs(leads[0]!)}–${formatMs(window)} before the close, ${watchers} watchers`, watchUntil)
  const observations = await runFleet({ probeAtIdleMs: [...at, ...Array.from({ length: watchers }, () => undefined)], watchUntilIdleMs: watchUntil, staggerMs: options.staggerMs ?? 7 }, ctx)
  const sent = observations.filter((o) => o.probe !== undefined && o.probe.outcome !== 'protocol-error')
  const answered = sent.filter((o) => probeAlive(o.probe!))
  const lost = sent.filter((o) => !probeAlive(o.probe!))
  const lead = (o: ConnectionObservation): number => round1(idle.estimateMs - o.probe!.atIdleMs)
  return {
    result: {
      kind: 'observed-close',
      verdict: lost.length > 0 ? 'races' : 'not-seen',
      sent: sent.length,
      answered: answered.length,
      lost: lost.length,
      windowMs: round1(window),
      ...(answered.length > 0 ? { closestAnsweredLeadMs: Math.min(...answered.map(lead)) } : {}),
      ...(lost.length > 0 ? { furthestLostLeadMs: Math.max(...lost.map(lead)) } : {}),
      networkWindowMs: round1(options.rttMs),
    },
    observations,
  }
}
