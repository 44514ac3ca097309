/**
 * Many keep-alive connections at once, each left idle for its own time: the measurement under the idle
 * timeout search and the race check. Every connection is opened (staggered, so that the relay's closes
 * of different connections land at different moments and one stall of this machine cannot bias them
 * all), answers one warm-up request, and then sits idle. A *prober* sends its request when its idle
 * time reaches `probeAtIdleMs`; a *watcher* only watches. Either way the relay's own close of an idle
 * connection (FIN or RST) is recorded with the idle time at which it arrived.
 *
 * Bounded: every connection stops at `watchUntilIdleMs`, and the whole round when `stopWhen` says so or
 * when the signal aborts; every socket is destroyed when the round ends.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { now, ProbeConnection, type CloseEvent, type Exchange, type SocketRegistry } from './connection.ts'
import type { ProbeTarget } from './target.ts'
import { HEARTBEAT_MS, type StallMonitor } from './stall-monitor.ts'

export interface FleetPlan {
  /** Per connection: the idle time (ms) at which it sends its request, or undefined for a watcher. */
  readonly probeAtIdleMs: ReadonlyArray<number | undefined>
  /** No connection is watched past this idle time (ms). */
  readonly watchUntilIdleMs: number
  /** Delay between opening two connections (ms). */
  readonly staggerMs: number
}

export interface FleetContext {
  readonly target: ProbeTarget
  readonly address: string
  readonly registry: SocketRegistry
  readonly timeoutMs: number
  readonly signal: AbortSignal
  /** This machine's stalls: how far each observation's timestamps may be off. */
  readonly stalls: StallMonitor
  /** Called after each connection is resolved. */
  readonly onUpdate?: (resolved: number, total: number) => void
}

/** What one connection of a round showed. */
export interface ConnectionObservation {
  readonly index: number
  /** How the warm-up request went: `ok`, the relay refused keep-alive (`Connection: close`), or it failed. */
  readonly warmup: 'ok' | 'no-keep-alive' | 'failed'
  readonly warmupError?: string
  /** The `Keep-Alive` response header of the warm-up answer, verbatim. */
  readonly keepAliveHeader?: string
  /** The relay closed the connection while it sat idle: at this idle time (ms), with a FIN or a RST. */
  readonly closedAtIdleMs?: number
  readonly closeKind?: CloseEvent['kind']
  /** Bytes the relay sent on the idle connection before closing it (e.g. a 408). */
  readonly unsolicitedBytes?: number
  /** The probe request, when one was sent. */
  readonly probe?: ProbeResult
  /** Still open and idle this long when the round ended (ms): the relay had not closed it. */
  readonly survivedIdleMs?: number
  /**
   * How far the idle time measured here may be off because this machine stalled (ms, from the stall
   * monitor; about 0 in quiet moments). A close seen while idle may be off either way: the response's
   * end and the close may each have been handled late. A request's idle time can only be short: its
   * write is timed exactly, the response's end may have been handled late, so the true idle lies in
   * [atIdleMs, atIdleMs + uncertaintyMs].
   */
  readonly uncertaintyMs?: number
}

export interface ProbeResult {
  /** The idle time at which the request was actually written (ms). */
  readonly atIdleMs: number
  readonly outcome: Exchange['outcome']
  /** For a lost or cut request: how the connection ended, and how long after the write (ms). */
  readonly closeKind?: CloseEvent['kind']
  readonly closeAfterSendMs?: number
}

/** True when the relay answered at this idle time; false when the connection was dead or died. */
export function probeAlive(p: ProbeResult): boolean {
  return p.outcome === 'answered'
}

/** A dead connection's idle time: a close seen while idle, or a request that got no answer. */
export function deadAtIdleMs(o: ConnectionObservation): number | undefined {
  if (o.closedAtIdleMs !== undefined) return o.closedAtIdleMs
  if (o.probe && !probeAlive(o.probe) && o.probe.outcome !== 'protocol-error') return o.probe.atIdleMs
  return undefined
}

/** Sleeps `ms`, or less when `until` settles first or the signal aborts. */
async function waitFor(ms: number, until: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return
  const ac = new AbortController()
  const abort = (): void => ac.abort()
  signal.addEventListener('abort', abort, { once: true })
  try {
    await Promise.race([sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined), until])
  } finally {
    signal.removeEventListener('abort', abort)
    ac.abort()
  }
}

/**
 * Runs one round. `stopWhen` sees the observations so far plus the connections still running (their
 * idle time right now) after every resolved connection and every 50 ms; true ends the round.
 */
export async function runFleet(
  plan: FleetPlan,
  ctx: FleetContext,
  stopWhen?: (done: readonly ConnectionObservation[], running: ReadonlyArray<{ readonly index: number; readonly idleMs: number | undefined; readonly probeAtIdleMs: number | undefined }>) => boolean,
): Promise<ConnectionObservation[]> {
  const round = new AbortController()
  const abortRound = (): void => round.abort()
  ctx.signal.addEventListener('abort', abortRound, { once: true })
  const total = plan.probeAtIdleMs.length
  const done: ConnectionObservation[] = []
  const running = new Map<number, { conn?: ProbeConnection; probeAtIdleMs: number | undefined }>()
  const check = (): void => {
    if (round.signal.aborted || !stopWhen) return
    const r = [...running.entries()].map(([index, v]) => ({ index, idleMs: v.conn?.idleMs(), probeAtIdleMs: v.probeAtIdleMs }))
    if (stopWhen(done, r)) round.abort()
  }
  const ticker = setInterval(check, 50)
  ticker.unref()

  /** The two timestamps each observation's idle time is measured between, for the stall check. */
  const stamps = new Map<number, readonly [number, number]>()
  const one = async (index: number, probeAt: number | undefined): Promise<ConnectionObservation> => {
    const slot: { conn?: ProbeConnection; probeAtIdleMs: number | undefined } = { probeAtIdleMs: probeAt }
    running.set(index, slot)
    await waitFor(index * plan.staggerMs, new Promise(() => undefined), round.signal)
    if (round.signal.aborted) return { index, warmup: 'failed', warmupError: 'round ended before it started' }
    let conn: ProbeConnection
    try {
      conn = await ProbeConnection.open(ctx.target, ctx.registry, { address: ctx.address, timeoutMs: ctx.timeoutMs })
    } catch (err) {
      return { index, warmup: 'failed', warmupError: (err as Error).message }
    }
    slot.conn = conn
    // The round ending (or Ctrl-C) closes this connection at once, also while a request is in flight.
    const stop = (): void => conn.destroy()
    round.signal.addEventListener('abort', stop, { once: true })
    try {
      const warm = await conn.request(ctx.timeoutMs)
      if (warm.outcome !== 'answered') return { index, warmup: 'failed', warmupError: `warm-up request ${warm.outcome}` }
      const keepAliveHeader = warm.head.headers['keep-alive']
      const base = { index, ...(keepAliveHeader !== undefined ? { keepAliveHeader } : {}) }
      if (!warm.keepAlive) return { ...base, warmup: 'no-keep-alive' }
      const closed = conn.closed()
      const idleStart = conn.idleSince!
      const target = probeAt === undefined ? plan.watchUntilIdleMs : Math.min(probeAt, plan.watchUntilIdleMs)
      await waitFor(idleStart + target - now(), closed, round.signal)
      const close = conn.close
      if (close && close.kind !== 'local') {
        stamps.set(index, [idleStart, close.at])
        return { ...base, warmup: 'ok', closedAtIdleMs: close.at - idleStart, closeKind: close.kind, unsolicitedBytes: conn.unsolicitedBytes }
      }
      if (round.signal.aborted || probeAt === undefined || probeAt > plan.watchUntilIdleMs) {
        return { ...base, warmup: 'ok', survivedIdleMs: now() - idleStart }
      }
      const ex = await conn.request(ctx.timeoutMs)
      if ((ex.outcome === 'lost' || ex.outcome === 'cut' || ex.outcome === 'closed-before-send') && ex.close.kind === 'local') {
        return { ...base, warmup: 'ok', survivedIdleMs: ex.outcome === 'closed-before-send' ? ex.close.at - idleStart : ex.idleBeforeMs }
      }
      if (ex.outcome === 'closed-before-send') {
        stamps.set(index, [idleStart, ex.close.at])
        return { ...base, warmup: 'ok', closedAtIdleMs: ex.close.at - idleStart, closeKind: ex.close.kind, unsolicitedBytes: conn.unsolicitedBytes }
      }
      stamps.set(index, [idleStart, ex.sentAt])
      const probe: ProbeResult = ex.outcome === 'lost' || ex.outcome === 'cut'
        ? { atIdleMs: ex.idleBeforeMs, outcome: ex.outcome, closeKind: ex.close.kind, closeAfterSendMs: ex.close.at - ex.sentAt }
        : { atIdleMs: ex.idleBeforeMs, outcome: ex.outcome }
      return { ...base, warmup: 'ok', probe }
    } finally {
      round.signal.removeEventListener('abort', stop)
      conn.destroy()
    }
  }

  try {
    const tasks = plan.probeAtIdleMs.map((p, i) => one(i, p).then((o) => {
      running.delete(i)
      done.push(o)
      ctx.onUpdate?.(done.length, total)
      check()
      return o
    }))
    const all = await Promise.all(tasks)
    // The heartbeat that shows a stall at the last timestamp fires up to a period later.
    await sleep(HEARTBEAT_MS + 1)
    return all.sort((a, b) => a.index - b.index).map((o) => {
      const st = stamps.get(o.index)
      if (!st) return o
      const u = ctx.stalls.uncertaintyAt(st[0]) + (o.probe ? 0 : ctx.stalls.uncertaintyAt(st[1]))
      return { ...o, uncertaintyMs: Math.round(u * 10) / 10 }
    })
  } finally {
    clearInterval(ticker)
    ctx.signal.removeEventListener('abort', abortRound)
    round.abort()
  }
}
