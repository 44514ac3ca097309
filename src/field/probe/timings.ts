/**
 * Connection set-up costs, measured before anything else runs (a quiet network): TCP connect, the TLS
 * handshake (full, and resumed with a session the relay gave out), and the request round trip on a
 * fresh and on a reused connection. What force-close costs per request is measured, not modelled: a
 * fresh connection's connect + handshake + first request, minus a reused connection's request (the
 * fastest of each over the samples). Over a
 * real network that is about one RTT for TCP plus one or two for TLS; it also counts whatever else a
 * relay spends on a new connection.
 */
import { ProbeConnectError, ProbeConnection, type Exchange, type SocketRegistry } from './connection.ts'
import type { ProbeTarget } from './target.ts'
import { median, round1 } from './stats.ts'

export interface Spread {
  readonly min: number
  readonly median: number
  readonly max: number
}

export interface TimingsResult {
  readonly samples: number
  /** TCP connect (SYN → SYN-ACK): about one network RTT. */
  readonly tcpConnectMs: Spread
  /** TLS handshake without a session (what aiohttp does on every new connection). */
  readonly tlsFullMs?: Spread
  /** TLS handshake resuming a session (what undici does: it caches sessions per origin). */
  readonly tlsResumedMs?: Spread
  /** Whether the relay accepted the sessions offered (`resumed`) or made every handshake a full one. */
  readonly tlsResumption?: 'resumed' | 'refused'
  /** Time to the response head of the first request on a fresh connection (after connect + handshake). */
  readonly firstRequestMs: Spread
  /** Time to the response head of a request on a reused connection. */
  readonly reusedRequestMs: Spread
  /**
   * Round trip of a request on a warm connection (the minimum over samples): an upper bound on the
   * network RTT, since it includes the relay's own time to answer. Without any reused connection, the
   * TCP connect time instead (about one RTT on a real network).
   */
  readonly rttMs: number
  /** Whether a second request on a connection was answered: without one there is nothing to compare with. */
  readonly reuseMeasured: boolean
  /**
   * Connect + handshake + first request on a fresh connection, minus a request on a reused one (ms;
   * null without reuse). From the fastest of each: delays on a busy network or machine only ever add,
   * so the minimum is the one least disturbed.
   */
  readonly freshCostMs: number | null
  /** The same with a resumed TLS session (HTTPS only). */
  readonly freshCostResumedMs?: number | null
  /** `Keep-Alive` headers the relay sent. */
  readonly keepAliveHeaders: readonly string[]
  /** The relay answered with `Connection: close`. */
  readonly noKeepAlive: boolean
  /** Status of the first answer, e.g. 404 for `GET /` on an API relay (fine: any answer will do). */
  readonly status: number
}

function spreadOf(values: readonly number[]): Spread {
  return { min: round1(Math.min(...values)), median: round1(median(values)), max: round1(Math.max(...values)) }
}

const ttfb = (e: Exchange & { outcome: 'answered' }): number => e.headAt - e.sentAt

export interface TimingsOptions {
  readonly address: string
  readonly timeoutMs: number
  readonly samples: number
  readonly onSample?: (done: number, total: number) => void
}

export async function measureTimings(target: ProbeTarget, registry: SocketRegistry, options: TimingsOptions): Promise<TimingsResult> {
  const connects: number[] = []
  const full: number[] = []
  const resumed: number[] = []
  const first: number[] = []
  const reused: number[] = []
  const freshFull: number[] = []
  const freshResumed: number[] = []
  const headers: string[] = []
  let accepted = 0
  let offered = 0
  let noKeepAlive = false
  let status = 0
  let session: Buffer | undefined
  const rounds = target.tls ? options.samples * 2 : options.samples
  const answered = (e: Exchange, what: string): Exchange & { outcome: 'answered' } => {
    if (e.outcome !== 'answered') {
      const how = e.outcome === 'lost' || e.outcome === 'cut' ? ` (${e.close.kind}${e.close.code ? ` ${e.close.code}` : ''})` : e.outcome === 'protocol-error' ? `: ${e.message}` : ''
      throw new ProbeConnectError(`Failed to probe ${target.url}: the ${what} request on a new connection was ${e.outcome}${how}. Check that the URL is an HTTP/1.1 relay, or try another --request.`)
    }
    return e
  }
  for (let i = 0; i < rounds; i++) {
    // Over TLS, every second connection offers the last session the relay handed out.
    const offer = target.tls && i % 2 === 1 ? session : undefined
    const conn = await ProbeConnection.open(target, registry, { address: options.address, timeoutMs: options.timeoutMs, session: offer })
    try {
      const a = answered(await conn.request(options.timeoutMs), 'first')
      status ||= a.head.status
      const ka = a.head.headers['keep-alive']
      if (ka !== undefined) headers.push(ka)
      const setup = conn.connectMs + (conn.tlsMs ?? 0)
      connects.push(conn.connectMs)
      first.push(ttfb(a))
      if (offer !== undefined) {
        offered++
        if (conn.sessionReused) accepted++
      }
      if (conn.tlsMs !== undefined) (offer !== undefined && conn.sessionReused ? resumed : full).push(conn.tlsMs)
      const fresh = offer !== undefined && conn.sessionReused ? freshResumed : freshFull
      fresh.push(setup + ttfb(a))
      if (!a.keepAlive) {
        noKeepAlive = true
      } else {
        const b = await conn.request(options.timeoutMs)
        if (b.outcome === 'answered') reused.push(ttfb(b))
      }
      session = conn.session ?? session
    } finally {
      conn.destroy()
    }
    options.onSample?.(i + 1, rounds)
  }
  // Without reuse there is no warm request to compare a fresh one with.
  const warm = reused.length > 0 ? reused : first
  const cost = (fresh: readonly number[]): number | null => (reused.length === 0 ? null : round1(Math.max(0, Math.min(...fresh) - Math.min(...reused))))
  return {
    samples: rounds,
    tcpConnectMs: spreadOf(connects),
    ...(full.length > 0 ? { tlsFullMs: spreadOf(full) } : {}),
    ...(resumed.length > 0 ? { tlsResumedMs: spreadOf(resumed) } : {}),
    ...(target.tls && offered > 0 ? { tlsResumption: accepted > 0 ? 'resumed' as const : 'refused' as const } : {}),
    firstRequestMs: spreadOf(first),
    reusedRequestMs: spreadOf(warm),
    rttMs: round1(reused.length > 0 ? Math.min(...reused) : Math.min(...connects)),
    reuseMeasured: reused.length > 0,
    freshCostMs: cost(freshFull.length > 0 ? freshFull : freshResumed),
    ...(freshResumed.length > 0 ? { freshCostResumedMs: cost(freshResumed) } : {}),
    keepAliveHeaders: headers,
    noKeepAlive,
    status,
  }
}
