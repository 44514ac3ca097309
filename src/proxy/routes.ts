/**
 * The proxy's ingress: who may call it, and which route answers. Every request first passes the guard
 * (a request target in origin form; a `Host` that names this proxy, not a rebound DNS name; no `Origin`
 * of a foreign web page), then qcc's routes: `/__qcc__/stats`, `/__qcc__/logs`, local
 * `POST /v1/messages/count_tokens`, and everything else forwarded through the attempt loop with its body
 * read whole, up to a cap.
 */
import type http from 'node:http'
import { performance } from 'node:perf_hooks'
import { runAttemptLoop, sendJson, type AttemptLoopContext } from './attempt-loop.ts'
import { queryLogs } from './log.ts'
import { countTokens } from './count-tokens.ts'
import type { ProxyStats } from './stats.ts'

export interface IngressPolicy {
  /** Host names (without port) a request's `Host` may carry; `'*'` allows any. */
  readonly allowedHosts: ReadonlySet<string> | '*'
  /** Largest request body accepted (bytes); larger ones get 413. */
  readonly maxBodyBytes: number
}

/** The loopback names a local client uses for this proxy. */
export const loopbackHosts: readonly string[] = ['localhost', '127.0.0.1', '::1']

export interface RouteContext extends AttemptLoopContext {
  readonly policy: IngressPolicy
  readonly stats: () => ProxyStats
}

/** `host:port`, `[v6]:port` or `host` → the host name, lower-case, without brackets. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase()
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') < 0 ? undefined : h.indexOf(']'))
  const colon = h.lastIndexOf(':')
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h
}

/** Why the guard refuses a request (the 403 message), or undefined when it may pass. */
export function refusal(req: http.IncomingMessage, policy: IngressPolicy): string | undefined {
  if (policy.allowedHosts === '*') return undefined
  const host = req.headers.host
  if (host === undefined || host === '') return 'the request has no Host header'
  const name = hostName(host)
  if (!policy.allowedHosts.has(name) && !/^127(\.\d{1,3}){3}$/.test(name)) {
    return `Host "${host}" is not this proxy (allowed: ${[...policy.allowedHosts].join(', ')}); a web page that re-bound its DNS name to 127.0.0.1 cannot use it. Add the name to allowedHosts if it is yours.`
  }
  const origin = req.headers.origin
  if (origin !== undefined) {
    let originHost: string | undefined
    try { originHost = new URL(origin).hostname.replace(/^\[|\]$/g, '').toLowerCase() } catch { originHost = undefined }
    if (originHost === undefined || (!policy.allowedHosts.has(originHost) && !/^127(\.\d{1,3}){3}$/.test(originHost))) {
      return `Origin "${origin}" is a web page, not a local client: browsers may not spend this proxy's API keys.`
    }
  }
  return undefined
}

class BodyTooLarge extends Error {}

/** What the routes and the attempt loop use of a request target: `URL`'s `pathname` and `search`. */
export interface RequestTarget {
  readonly pathname: string
  /** `?` and the query, or `''` (as `URL.search`: a bare `?` gives `''`). */
  readonly search: string
}

/**
 * Paths and queries made of characters `URL` keeps as they are: no `%` (so no encoded dot segment), no
 * `\\`, `#`, quote, space, control or non-ASCII character, not `//` first (a scheme-relative URL).
 */
const plainTarget = /^\/(?!\/)[\w\-.~!$&'()*+,;=:@/]*(?:\?[\w\-.~!$&()*+,;=:@/?%]*)?$/
/** A `.` or `..` path segment, which `URL` would resolve away. */
const dotSegment = /\/\.\.?(?:\/|$)/

/**
 * The request target as `new URL(target, 'http://proxy')` reads it, or undefined when it is not in
 * origin form (`/…`) or `URL` refuses it. A plain target (nearly every one) is split by hand, with the
 * same result: parsing a URL was a measurable part of the proxy's CPU per request.
 */
export function requestTarget(raw: string | undefined): RequestTarget | undefined {
  if (raw === undefined || !raw.startsWith('/')) return undefined
  if (plainTarget.test(raw)) {
    const q = raw.indexOf('?')
    const pathname = q < 0 ? raw : raw.slice(0, q)
    if (!dotSegment.test(pathname)) return { pathname, search: q < 0 || q === raw.length - 1 ? '' : raw.slice(q) }
  }
  try {
    return new URL(raw, 'http://proxy')
  } catch {
    return undefined
  }
}

/**
 * The whole request body, or BodyTooLarge past `max` bytes (checked against Content-Length first).
 * Rejects when the client goes away before the end. Over the cap the request stream is destroyed (not
 * its socket), as leaving a `for await` over it would.
 */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > max) return Promise.reject(new BodyTooLarge())
  return new Promise<Buffer | null>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    // Settled once; the listeners stay on the request (it is this request's alone) and do nothing after.
    let done = false
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > max) {
        done = true
        // As leaving a `for await` over a server request does (stream.destroyer): the request is
        // destroyed, its socket is not, so the 413 still reaches the client.
        ;(req as { socket: unknown }).socket = null
        req.destroy()
        reject(new BodyTooLarge())
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (done) return
      done = true
      resolve(chunks.length === 0 ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
    })
    // No 'error' listener: a request that fails is destroyed and closes without its 'end' (and Node
    // emits no unhandled 'error' on a server request nobody listens to).
    req.on('close', () => {
      if (done) return
      done = true
      reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }))
    })
  })
}

function tooLarge(res: http.ServerResponse, max: number): void {
  // The rest of the body is not read: the connection cannot carry another request.
  sendJson(res, 413, { error: `Request body too large: over ${max} bytes (the proxy's maxBodyBytes).` }, { connection: 'close' })
}

/**
 * Answers one request. Errors that escape are bugs; the server answers them with 500. Not an async
 * function: a forwarded request's promise is forward()'s own, without one more promise around it.
 */
export function route(ctx: RouteContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  try {
    return routeTarget(ctx, req, res)
  } catch (err) {
    return Promise.reject(err)
  }
}

const answered = Promise.resolve()

function routeTarget(ctx: RouteContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const method = req.method ?? 'GET'
  const url = requestTarget(req.url)
  if (url === undefined) {
    sendJson(res, 400, { error: `Bad request target ${JSON.stringify(req.url ?? '')}: expected a path such as /v1/messages.` })
    return answered
  }
  const refused = refusal(req, ctx.policy)
  if (refused !== undefined) {
    ctx.log.warn('request.refused', `${method} ${url.pathname}: ${refused}`)
    sendJson(res, 403, { error: `Forbidden: ${refused}` })
    return answered
  }
  if ((method === 'GET' || method === 'HEAD') && url.pathname === '/__qcc__/stats') {
    sendJson(res, 200, ctx.stats())
    return answered
  }
  if ((method === 'GET' || method === 'HEAD') && url.pathname === '/__qcc__/logs') {
    const r = queryLogs(ctx.log, new URLSearchParams(url.search))
    sendJson(res, r.status, r.body)
    return answered
  }
  if (method === 'POST' && url.pathname === '/v1/messages/count_tokens') return countTokensLocally(ctx, req, res)
  return forward(ctx, req, res, url, method)
}

async function countTokensLocally(ctx: RouteContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let body: Buffer | null
  try {
    body = await readBody(req, ctx.policy.maxBodyBytes)
  } catch (err) {
    if (err instanceof BodyTooLarge) tooLarge(res, ctx.policy.maxBodyBytes)
    return
  }
  const tokens = countTokens(body)
  ctx.log.info('request.count-tokens', `answered locally: ${tokens} tokens`)
  sendJson(res, 200, { input_tokens: tokens })
}

async function forward(ctx: RouteContext, req: http.IncomingMessage, res: http.ServerResponse, url: RequestTarget, method: string): Promise<void> {
  const started = performance.now()
  const counters = ctx.counters
  counters.total++
  const idHeader = req.headers['x-request-id']
  const requestId = typeof idHeader === 'string' && idHeader !== '' ? idHeader : `req-${counters.total}`
  let body: Buffer | null
  try {
    body = await readBody(req, ctx.policy.maxBodyBytes)
  } catch (err) {
    // Counted as failed, like every request that does not end in a success: total = ok + failed.
    counters.failed++
    if (err instanceof BodyTooLarge) {
      ctx.log.warn('request.too-large', `[${requestId}] ${method} ${url.pathname}: body over ${ctx.policy.maxBodyBytes} bytes → 413`)
      tooLarge(res, ctx.policy.maxBodyBytes)
    } else {
      ctx.log.info('request.client-aborted', `[${requestId}] the client went away while sending its body`)
    }
    return
  }
  try {
    await runAttemptLoop(ctx, { requestId, method, url, rawHeaders: req.rawHeaders, conversationHeader: req.headers['x-conversation-id'], body, started }, res)
  } catch (err) {
    counters.failed++
    throw err
  }
}
