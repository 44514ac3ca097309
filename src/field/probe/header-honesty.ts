/**
 * The advertised `Keep-Alive: timeout=N` against the measured idle timeout. undici trusts the hint (it
 * keeps an idle connection N s minus 2 s), so a header that *overstates* the timeout makes it reuse
 * connections the relay already closed; one that understates only costs reuse. Node's own server
 * writes `timeout=floor(keepAliveTimeout / 1000)`, so an honest header's relay closes within
 * [N s, N + 1 s): that interval, widened by the measurement's resolution and one RTT, is honest.
 */
import { parseKeepAliveHeader } from './response-parser.ts'
import type { IdleResult } from './idle-timeout.ts'
import { TIMER_GRANULARITY_MS } from './idle-timeout.ts'
import { round1 } from './stats.ts'

export interface HeaderResult {
  /** `honest`, `lying` (with `direction`), `absent` (no timeout= hint), `unverified` (nothing to compare with). */
  readonly verdict: 'honest' | 'lying' | 'absent' | 'unverified'
  /** `overstates`: the relay closes earlier than it says (clients that trust it reuse dead connections). */
  readonly direction?: 'overstates' | 'understates'
  /** The header as the relay sent it (the first one seen), or null. */
  readonly header: string | null
  /** Distinct `Keep-Alive` values seen, when the relay sent more than one. */
  readonly variants?: readonly string[]
  readonly advertisedMs?: number
  /** The `max=` parameter: requests the relay says it allows per connection. */
  readonly advertisedMaxRequests?: number
  readonly measuredMs?: number
  /** How far off the measured timeout may be and still count as honest (ms). */
  readonly toleranceMs?: number
  readonly detail: string
}

export function judgeHeader(headers: readonly string[], idle: IdleResult, rttMs: number): HeaderResult {
  const distinct = [...new Set(headers)]
  const header = distinct[0] ?? null
  const parsed = parseKeepAliveHeader(header ?? undefined)
  const base = {
    header,
    ...(distinct.length > 1 ? { variants: distinct } : {}),
    ...(parsed.max !== undefined ? { advertisedMaxRequests: parsed.max } : {}),
  }
  if (parsed.timeoutS === undefined) {
    return { ...base, verdict: 'absent', detail: header === null ? 'no Keep-Alive header: clients fall back to their own default (undici 4 s, aiohttp 15 s)' : `Keep-Alive "${header}" has no timeout=: clients fall back to their own default` }
  }
  const advertisedMs = parsed.timeoutS * 1000
  const with_ = { ...base, advertisedMs }
  if (idle.kind === 'no-keep-alive' || idle.kind === 'failed') {
    return { ...with_, verdict: 'unverified', detail: 'no idle connection could be timed' }
  }
  if (idle.kind === 'none-seen') {
    const tol = rttMs + TIMER_GRANULARITY_MS
    if (advertisedMs + 1000 + tol <= idle.atLeastMs) {
      return { ...with_, verdict: 'lying', direction: 'understates', measuredMs: idle.atLeastMs, toleranceMs: round1(tol), detail: `says ${parsed.timeoutS} s but kept idle connections at least ${round1(idle.atLeastMs / 1000)} s (harmless: clients that trust it give up early)` }
    }
    return { ...with_, verdict: 'unverified', detail: `says ${parsed.timeoutS} s; no close up to ${round1(idle.atLeastMs / 1000)} s (--max-idle): raise --max-idle above ${parsed.timeoutS + 1} s to check it` }
  }
  const measured = idle.estimateMs
  const tol = idle.resolutionMs + rttMs + TIMER_GRANULARITY_MS
  const shown = { ...with_, measuredMs: measured, toleranceMs: round1(tol) }
  if (measured < advertisedMs - tol) {
    return { ...shown, verdict: 'lying', direction: 'overstates', detail: `says ${parsed.timeoutS} s, closes after ${round1(measured)} ms: a client that trusts it (undici keeps ${parsed.timeoutS} s − 2 s) reuses connections the relay already closed` }
  }
  if (measured >= advertisedMs + 1000 + tol) {
    return { ...shown, verdict: 'lying', direction: 'understates', detail: `says ${parsed.timeoutS} s, closes after ${round1(measured)} ms (harmless: clients that trust it give up early)` }
  }
  return { ...shown, verdict: 'honest', detail: `says ${parsed.timeoutS} s and closes after ${round1(measured)} ms (within [${parsed.timeoutS}, ${parsed.timeoutS + 1}) s ± ${round1(tol)} ms)` }
}
