/**
 * Every proxy→upstream attempt is classified once, here, into a closed union. Failures of the path to
 * the upstream (connect, reset, timeout, stale socket) are kept apart from the upstream's own answers
 * (http-4xx/5xx), as Envoy's outlier detection does. Errors are matched on `code`, never `instanceof`:
 * the npm undici and Node's bundled one are different classes.
 */

export const attemptOutcomes = [
  'ok',
  'http-4xx',
  'http-5xx',
  'stale-socket',
  'connection-closed',
  'connection-reset',
  'connect-refused',
  'connect-timeout',
  'headers-timeout',
  'body-timeout',
  'reset-mid-stream',
  'client-aborted',
  'network-error',
  /**
   * The proxy's own side failed (a request undici refuses to send, no file descriptor left, shutting
   * down): says nothing about the endpoint and is never counted against it.
   */
  'proxy-error',
] as const

export type AttemptOutcome = (typeof attemptOutcomes)[number]

/** What we know about the attempt besides the error itself. */
export interface ErrorContext {
  /** The request was written onto a pooled connection that had carried an earlier request. */
  readonly reusedConnection: boolean
  /** Response bytes had already arrived (headers or body) when the error happened. */
  readonly responseStarted: boolean
}

/** Codes undici and Node raise when the peer closed or reset the connection under a request. */
const peerClosedCodes: Readonly<Record<string, 'connection-closed' | 'connection-reset'>> = {
  UND_ERR_SOCKET: 'connection-closed', // SocketError('other side closed') and SocketError('closed')
  ECONNRESET: 'connection-reset',
  EPIPE: 'connection-reset',
}

const codeTable: Readonly<Record<string, AttemptOutcome>> = {
  ECONNREFUSED: 'connect-refused',
  UND_ERR_CONNECT_TIMEOUT: 'connect-timeout',
  ETIMEDOUT: 'connect-timeout',
  UND_ERR_HEADERS_TIMEOUT: 'headers-timeout',
  UND_ERR_BODY_TIMEOUT: 'body-timeout',
  UND_ERR_ABORTED: 'client-aborted',
  ABORT_ERR: 'client-aborted',
  // Ours, not the upstream's: a request undici will not send as given, or no resources left here.
  UND_ERR_INVALID_ARG: 'proxy-error',
  UND_ERR_NOT_SUPPORTED: 'proxy-error',
  EMFILE: 'proxy-error',
  ENFILE: 'proxy-error',
  ENOBUFS: 'proxy-error',
  ENOMEM: 'proxy-error',
  QCC_LAB_SHUTDOWN: 'proxy-error',
}

/** The `code` of an error or of its `cause` chain (fetch wraps undici errors in `TypeError('fetch failed')`). */
export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    if ((e as { name?: unknown }).name === 'AbortError') return 'ABORT_ERR'
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** Classifies a failed attempt. */
export function classifyError(err: unknown, ctx: ErrorContext): AttemptOutcome {
  const code = errorCode(err)
  if (code !== undefined && (codeTable[code] === 'client-aborted' || codeTable[code] === 'proxy-error')) return codeTable[code]!
  if (ctx.responseStarted) return 'reset-mid-stream'
  if (code === undefined) return 'network-error'
  const peerClosed = peerClosedCodes[code]
  if (peerClosed !== undefined) return ctx.reusedConnection ? 'stale-socket' : peerClosed
  return codeTable[code] ?? 'network-error'
}

/** Classifies an upstream answer by status. */
export function classifyStatus(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'ok'
  if (status >= 500) return 'http-5xx'
  return 'http-4xx'
}

/**
 * A 4xx that is the request's own doing and would come back the same from any retry: not 408 (timeout)
 * or 429 (rate limit), which pass. 401/403 are in: the key was refused.
 */
export function isFinal4xx(outcome: AttemptOutcome, status: number | undefined): boolean {
  return outcome === 'http-4xx' && status !== 408 && status !== 429
}

/** Human labels; stale-socket carries the name qcc's users knew it by. */
export const outcomeLabels: Readonly<Record<AttemptOutcome, string>> = {
  ok: 'ok',
  'http-4xx': 'upstream answered 4xx',
  'http-5xx': 'upstream answered 5xx',
  'stale-socket': 'stale socket (aiohttp: "Cannot write to closing transport")',
  'connection-closed': 'connection closed before a response',
  'connection-reset': 'connection reset before a response',
  'connect-refused': 'connection refused',
  'connect-timeout': 'connect timeout',
  'headers-timeout': 'no response headers in time',
  'body-timeout': 'response body stalled',
  'reset-mid-stream': 'connection lost mid-response',
  'client-aborted': 'client went away',
  'network-error': 'other network error',
  'proxy-error': 'the proxy\'s own side failed (not the upstream\'s)',
}
