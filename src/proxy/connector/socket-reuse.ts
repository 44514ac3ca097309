/**
 * Tells whether a failed request had been written onto a *reused* pooled connection: the fact that makes
 * `other side closed` / ECONNRESET / EPIPE a stale-socket failure. undici does not put this on the error,
 * so we watch its diagnostics channels: `undici:client:sendHeaders` names the socket a request is written
 * to (we count requests per socket), and `undici:request:error` is published with the very error object
 * that the request's handler receives next, so the error can be tagged before the handler sees it.
 */
import diagnosticsChannel from 'node:diagnostics_channel'

/**
 * Kept on undici's own socket and request objects under private symbols, not in WeakMaps: a WeakMap
 * entry per request (an ephemeron the GC must trace) was about 1 % of the proxy's CPU under load.
 */
const requestsSent = Symbol('qcc-lab:requests-sent')
const onReusedSocket = Symbol('qcc-lab:on-reused-socket')
interface Tracked { [requestsSent]?: number; [onReusedSocket]?: boolean }
const reusedByError = new WeakMap<object, boolean>()

let installed = false

/** Subscribes once per process. Idempotent. */
export function installSocketReuseTracking(): void {
  if (installed) return
  installed = true
  diagnosticsChannel.subscribe('undici:client:sendHeaders', (message) => {
    const { request, socket } = message as { request: Tracked; socket: Tracked }
    const sent = socket[requestsSent] ?? 0
    socket[requestsSent] = sent + 1
    request[onReusedSocket] = sent > 0
  })
  diagnosticsChannel.subscribe('undici:request:error', (message) => {
    const { request, error } = message as { request: Tracked; error: unknown }
    const reused = request[onReusedSocket]
    if (reused !== undefined && typeof error === 'object' && error !== null) reusedByError.set(error, reused)
  })
}

/** True when the request that failed with `err` had been written onto a connection that carried an earlier request. */
export function failedOnReusedSocket(err: unknown): boolean {
  return typeof err === 'object' && err !== null && reusedByError.get(err) === true
}
