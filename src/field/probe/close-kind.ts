/**
 * FIN or RST: how the relay ends a connection it no longer wants. A FIN (graceful close) lets undici
 * >= 7.28 / 8.5 and aiohttp notice an idle connection is gone before they reuse it; a RST on an idle
 * connection is noticed too, but one that crosses a request fails it with ECONNRESET, and some
 * middleboxes send nothing at all (a request then waits for its timeout).
 */
import { probeAlive, type ConnectionObservation } from './fleet.ts'

export interface CloseKindResult {
  /** What the relay sends: `fin`, `rst`, `mixed`, `silent` (nothing: requests time out), `none` (never closed). */
  readonly kind: 'fin' | 'rst' | 'mixed' | 'silent' | 'none'
  readonly fin: number
  readonly rst: number
  /** Requests that got neither an answer nor a close within the request timeout. */
  readonly silent: number
  /** Closes preceded by bytes the relay sent on the idle connection (e.g. a 408 Request Timeout). */
  readonly withUnsolicitedBytes: number
}

/** Counts the relay's closes: those seen on idle connections, else those that ended lost requests (pure). */
export function classifyCloses(observations: readonly ConnectionObservation[]): CloseKindResult {
  let fin = 0
  let rst = 0
  let silent = 0
  let unsolicited = 0
  const idleCloses = observations.filter((o) => o.closedAtIdleMs !== undefined)
  if (idleCloses.length > 0) {
    for (const o of idleCloses) {
      if (o.closeKind === 'fin') fin++
      else if (o.closeKind === 'rst') rst++
      if ((o.unsolicitedBytes ?? 0) > 0) unsolicited++
    }
  } else {
    for (const o of observations) {
      if (!o.probe || probeAlive(o.probe)) continue
      if (o.probe.outcome === 'timeout') silent++
      else if (o.probe.closeKind === 'fin') fin++
      else if (o.probe.closeKind === 'rst') rst++
    }
  }
  const kinds = [fin > 0, rst > 0, silent > 0].filter(Boolean).length
  const kind = kinds === 0 ? 'none' : kinds > 1 ? 'mixed' : fin > 0 ? 'fin' : rst > 0 ? 'rst' : 'silent'
  return { kind, fin, rst, silent, withUnsolicitedBytes: unsolicited }
}
