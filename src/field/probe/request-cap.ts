/**
 * A request cap per connection (nginx `keepalive_requests`, Node `maxRequestsPerSocket`): requests sent
 * back to back on one connection until the relay refuses another. It may say so (`Connection: close`
 * on the last answer, or `Keep-Alive: max=N`), close right after the N-th answer without a word, or
 * read request N + 1 and close without answering it (a lost request). A second connection tells the
 * last two apart: N requests, then a pause long enough for a FIN to arrive.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { ProbeConnection, type SocketRegistry } from './connection.ts'
import type { ProbeTarget } from './target.ts'

export interface RequestCapResult {
  /** `none`: no cap up to `tried`; `announced`: Connection: close on answer `cap`; `closes-after`: FIN/RST right after answer `cap`; `loses-next`: request cap + 1 read and never answered. */
  readonly kind: 'none' | 'announced' | 'closes-after' | 'loses-next' | 'no-keep-alive' | 'unknown'
  /** Requests answered on one connection before it ended. */
  readonly cap?: number
  /** Requests tried back to back. */
  readonly tried: number
  /** How the connection ended after the cap. */
  readonly closeKind?: string
  readonly detail: string
}

export interface RequestCapOptions {
  readonly address: string
  readonly timeoutMs: number
  readonly maxRequests: number
  readonly rttMs: number
  readonly signal: AbortSignal
  readonly onProgress?: (done: number, total: number) => void
}

export async function findRequestCap(target: ProbeTarget, registry: SocketRegistry, options: RequestCapOptions): Promise<RequestCapResult> {
  const conn = await ProbeConnection.open(target, registry, { address: options.address, timeoutMs: options.timeoutMs })
  const stop = (): void => conn.destroy()
  options.signal.addEventListener('abort', stop, { once: true })
  let answered = 0
  try {
    for (let i = 1; i <= options.maxRequests; i++) {
      const e = await conn.request(options.timeoutMs)
      if (options.signal.aborted) return { kind: 'unknown', tried: i, detail: 'interrupted' }
      if (e.outcome === 'answered') {
        answered++
        if (i % 10 === 0) options.onProgress?.(i, options.maxRequests)
        if (!e.keepAlive) {
          return i === 1
            ? { kind: 'no-keep-alive', cap: 1, tried: i, detail: 'the relay answers every request with Connection: close' }
            : { kind: 'announced', cap: i, tried: i, detail: `the relay said Connection: close on answer ${i}: clients open a new connection, nothing is lost` }
        }
        continue
      }
      if (e.outcome === 'timeout' || e.outcome === 'protocol-error') {
        return { kind: 'unknown', cap: answered, tried: i, detail: `request ${i} on one connection was ${e.outcome}` }
      }
      const closeKind = e.close.kind
      return await tellApart(target, registry, options, answered, closeKind)
    }
    return { kind: 'none', tried: options.maxRequests, detail: `${options.maxRequests} requests on one connection, all answered (raise --max-requests to look further)` }
  } finally {
    options.signal.removeEventListener('abort', stop)
    conn.destroy()
  }
}

/** N answers, then a pause of 2 RTT + 50 ms: a FIN in the pause means `closes-after`, else request N + 1 tells. */
async function tellApart(target: ProbeTarget, registry: SocketRegistry, options: RequestCapOptions, cap: number, closeKind: string): Promise<RequestCapResult> {
  const conn = await ProbeConnection.open(target, registry, { address: options.address, timeoutMs: options.timeoutMs })
  const stop = (): void => conn.destroy()
  options.signal.addEventListener('abort', stop, { once: true })
  try {
    for (let i = 1; i <= cap; i++) {
      const e = await conn.request(options.timeoutMs)
      if (e.outcome !== 'answered') return { kind: 'unknown', cap, tried: cap + 1, closeKind, detail: `a first connection ended after ${cap} answers (${closeKind}), a second one after ${i - 1}: the cap is not fixed` }
    }
    await Promise.race([sleep(2 * options.rttMs + 50, undefined, { signal: options.signal }).catch(() => undefined), conn.closed()])
    const close = conn.close
    if (close && close.kind !== 'local') {
      return { kind: 'closes-after', cap, tried: cap + 1, closeKind: close.kind, detail: `the relay closes (${close.kind}) right after answer ${cap}, without Connection: close: a pooled client may write request ${cap + 1} into the closing connection` }
    }
    const next = await conn.request(options.timeoutMs)
    if (next.outcome === 'answered') return { kind: 'unknown', cap, tried: cap + 1, closeKind, detail: `a first connection ended after ${cap} answers (${closeKind}), a second one answered request ${cap + 1}: the cap is not fixed (or the close was an idle close)` }
    const how = next.outcome === 'lost' || next.outcome === 'cut' ? next.close.kind : next.outcome
    return { kind: 'loses-next', cap, tried: cap + 1, closeKind: how, detail: `the relay reads request ${cap + 1} on a connection and closes it (${how}) without answering: that request is lost` }
  } finally {
    options.signal.removeEventListener('abort', stop)
    conn.destroy()
  }
}
