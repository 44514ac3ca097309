/**
 * This machine's own stalls, as the probe needs them: a socket event is timestamped when the event loop
 * gets to it, so a close that arrived while the loop was busy (or the process was not scheduled) looks
 * later than it was. A heartbeat timer every `periodMs` records how late it fired; a stall that delays
 * an event at time t makes the heartbeat firing right around t late by about as much. An observation
 * whose two timestamps (idle start, close) both fall in quiet moments is trustworthy to about a
 * millisecond; one taken across a stall is not, and the idle search leaves it out (idle-timeout.ts).
 */
import { performance } from 'node:perf_hooks'

export interface StallMonitor {
  /** How late the heartbeats around `t` fired (ms): how much an event timestamped at `t` may be off. */
  uncertaintyAt(t: number): number
  stop(): void
}

/** Heartbeat period (ms): short enough to see a 5 ms stall, cheap enough to run for minutes (200 wake-ups/s). */
export const HEARTBEAT_MS = 5
/** Late heartbeats kept (a bounded ring): only those later than a millisecond are stored at all. */
const MAX_STALLS = 20_000

export function startStallMonitor(options: { readonly periodMs?: number; readonly now?: () => number } = {}): StallMonitor {
  const period = options.periodMs ?? HEARTBEAT_MS
  const now = options.now ?? (() => performance.now())
  const stalls: Array<{ readonly at: number; readonly lateMs: number }> = []
  let expected = now() + period
  let timer: NodeJS.Timeout | undefined
  const beat = (): void => {
    const t = now()
    const late = t - expected
    if (late > 1) {
      stalls.push({ at: t, lateMs: late })
      if (stalls.length > MAX_STALLS) stalls.splice(0, stalls.length - MAX_STALLS)
    }
    expected = t + period
    timer = setTimeout(beat, period)
    timer.unref()
  }
  timer = setTimeout(beat, period)
  timer.unref()
  return {
    uncertaintyAt(t) {
      // An event handled at t waited for the stall that ended just before t; the heartbeat due during
      // that stall fired in the same loop turn, within a period of t.
      let worst = 0
      for (let i = stalls.length - 1; i >= 0; i--) {
        const s = stalls[i]!
        if (s.at < t - period) break
        if (s.at <= t + period) worst = Math.max(worst, s.lateMs)
      }
      return worst
    },
    stop() {
      if (timer) clearTimeout(timer)
    },
  }
}

/** A monitor that never sees a stall (pure tests, or when timing noise is not a concern). */
export const noStalls: StallMonitor = { uncertaintyAt: () => 0, stop: () => undefined }
