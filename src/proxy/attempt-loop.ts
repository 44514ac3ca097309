/**
 * qcc's attempt loop for one forwarded client request: at most 5 attempts and 2 per endpoint, endpoints
 * excluded per request, success only on 2xx, the last upstream answer returned if any arrived, else
 * `502 {"error": "All N endpoints failed"}` with N the distinct endpoints tried. Nothing is retried once
 * a byte went to the client, and a proxy-side failure is never retried elsewhere or blamed on an endpoint.
 */
import type http from 'node:http'
import { performance } from 'node:perf_hooks'
import type { ClusterConfig } from './config.ts'
import { forwardAttempt, sendAnswer, type AttemptResult, type BufferedAnswer, type ForwardOptions, type UpstreamRequest } from './forward.ts'
import { proxyChannels, publishAttempt, publishRequest } from './events.ts'
import { isFinal4xx, outcomeLabels } from './outcome.ts'
import type { Compat } from './compat.ts'
import type { Cluster, Endpoint } from './cluster.ts'
import type { ProxyLog } from './log.ts'
import { conversationIdOf, type SessionAffinity } from './affinity.ts'
import { upstreamHeaders } from './upstream-headers.ts'
import type { RequestCounters } from './stats.ts'
import type { RequestTarget } from './routes.ts'

export interface AttemptLoopContext {
  readonly proxyId: string
  readonly cluster: Cluster
  readonly compat: Compat
  readonly log: ProxyLog
  readonly affinity: SessionAffinity
  readonly clock: () => number
  readonly counters: RequestCounters
  readonly limits: { readonly max: number; readonly perEndpoint: number }
  readonly modelOverride?: ClusterConfig['modelOverride']
  /** Aborted when the proxy's drain deadline passed. */
  readonly shutdown: AbortSignal
}

/** A forwarded request as the ingress read it: the body is whole (the attempt loop may send it again). */
export interface ForwardedRequest {
  readonly requestId: string
  readonly method: string
  readonly url: RequestTarget
  readonly rawHeaders: readonly string[]
  readonly conversationHeader: string | string[] | undefined
  readonly body: Buffer | null
  /** performance.now() when the request arrived. */
  readonly started: number
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** qcc's model override: replace `model` in a JSON /v1/messages body. */
function overrideModel(ctx: AttemptLoopContext, body: Buffer | null, requestId: string): Buffer | null {
  const model = ctx.modelOverride
  if (!model || !body) return body
  try {
    const data = JSON.parse(body.toString('utf8')) as Record<string, unknown>
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return body
    ctx.log.info('request.model-override', `[${requestId}] model ${JSON.stringify(data.model)} -> ${JSON.stringify(model)}`)
    return Buffer.from(JSON.stringify({ ...data, model }))
  } catch {
    return body
  }
}

/**
 * The connector's stale-socket retry of attempt `attemptNo`, on a brand-new connection; publishes it.
 * Like nginx's extra try after an error on a cached connection, it does not use up the attempt loop's
 * budget (5 attempts, 2 per endpoint): it is at most one per attempt.
 */
async function staleRetry(ctx: AttemptLoopContext, ep: Endpoint, request: UpstreamRequest, res: http.ServerResponse, requestId: string, attemptNo: number, options: ForwardOptions): Promise<AttemptResult> {
  ep.staleRetries++
  ctx.counters.staleRetries++
  ctx.log.info('upstream.retry-fresh', `[${requestId}] ${ep.id}: retrying once on a fresh connection (no response byte had arrived)`)
  const client = ep.connector.fresh()
  try {
    const retry = await forwardAttempt(client, ep.connector.dispatchOptions, request, res, options)
    publishTry(ctx, ep, requestId, retry, attemptNo + 1, true)
    return retry
  } finally {
    ep.connector.release(client)
  }
}

/** Counts one try and publishes it (the event is built only when someone listens). */
function publishTry(ctx: AttemptLoopContext, ep: Endpoint, requestId: string, result: AttemptResult, attempt: number, staleRetry: boolean): void {
  ep.attempts++
  ctx.counters.byOutcome[result.outcome]++
  if (!proxyChannels.attempt.hasSubscribers) return
  publishAttempt({
    proxyId: ctx.proxyId, requestId, attempt, endpointId: ep.id, outcome: result.outcome, status: result.status,
    reusedConnection: result.reusedConnection, staleRetry, durationMs: result.durationMs,
    errorCode: result.errorCode, errorMessage: result.errorMessage,
  })
}

/** Nothing excluded yet: most requests never exclude an endpoint, so they share this empty set. */
const noExclusions: ReadonlySet<string> = new Set()

/** An upstream's error answer for the client, with any of the cluster's keys it echoed masked. */
function redactedAnswer(ctx: AttemptLoopContext, answer: BufferedAnswer): BufferedAnswer {
  if (!ctx.cluster.endpoints.some((e) => answer.body.includes(e.apiKey))) return answer
  return { ...answer, body: Buffer.from(ctx.log.redact(answer.body.toString('utf8'))) }
}

/** Runs the attempt loop for `request` and answers the client. Counts the request as ok or failed. */
export async function runAttemptLoop(ctx: AttemptLoopContext, request: ForwardedRequest, res: http.ServerResponse): Promise<void> {
  const { cluster, compat, log, affinity, clock, counters } = ctx
  const { requestId, url } = request
  const original = request.body
  const body = url.pathname === '/v1/messages' && ctx.modelOverride ? overrideModel(ctx, original, requestId) : original
  const duplicateAuth = compat.has('duplicate-auth-headers')
  const staleLength = compat.has('stale-content-length') && body !== original && original !== null
  const query = compat.has('drop-query') ? '' : url.search
  const options: ForwardOptions = { bufferBody: compat.has('buffered-streaming'), silentCut: compat.has('midstream-silent-cut'), shutdown: ctx.shutdown }
  log.info('request.start', `[${requestId}] ${request.method} ${url.pathname}`)

  const conversation = conversationIdOf(request.conversationHeader, original)
  // Allocated on the first failure: a request that succeeds at once needs none of them.
  let failures: Map<string, number> | undefined
  let excluded: Set<string> | undefined
  /** Endpoints tried: the one id until a second one is tried, then a set. */
  let tried: string | Set<string> | undefined
  let attempts = 0
  let last: AttemptResult | undefined
  let lastAnswer: BufferedAnswer | undefined

  for (let n = 0; n < ctx.limits.max && !res.destroyed; n++) {
    let ep: Endpoint | null = null
    if (n === 0 && conversation !== undefined) {
      const boundId = affinity.get(conversation, clock())
      const bound = boundId === undefined ? undefined : cluster.byId(boundId)
      if (bound && cluster.usableForAffinity(bound)) ep = bound
      else if (boundId !== undefined) {
        affinity.unbind(conversation)
        log.info('affinity.unbind', `[${requestId}] bound endpoint ${boundId} unavailable; session unbound, selecting anew`)
      }
    }
    ep ??= cluster.select(excluded ?? noExclusions, requestId)
    if (!ep) break
    if (tried === undefined) tried = ep.id
    else if (typeof tried === 'string') { if (tried !== ep.id) tried = new Set([tried, ep.id]) } else tried.add(ep.id)
    counters.lastUsed = ep.id
    ep.breaker.onAttempt(clock())
    const headers = upstreamHeaders(request.rawHeaders, ep.apiKey, duplicateAuth)
    // The historical bug: the client's length travels with a re-serialised body.
    if (staleLength) headers['content-length'] = String(original!.length)
    const upstream: UpstreamRequest = { method: request.method, path: ep.basePath + url.pathname + query, headers, body }
    // One attempt on this endpoint, with the connector's stale-socket retry (inline, not in an async
    // helper: one promise less per request); each try is published.
    let result: AttemptResult
    let tries = 1
    ep.inFlight++
    try {
      result = await forwardAttempt(ep.connector.pool, ep.connector.dispatchOptions, upstream, res, options)
      publishTry(ctx, ep, requestId, result, attempts + 1, false)
      if (result.outcome === 'stale-socket') {
        log.warn('upstream.stale-socket', `[${requestId}] ${ep.id}: ${outcomeLabels['stale-socket']} — ${result.errorCode ?? ''} ${result.errorMessage ?? ''}`.trim())
        if (!result.committed && ep.connector.settings.retryStaleOnFreshConnection) {
          result = await staleRetry(ctx, ep, upstream, res, requestId, attempts + 1, options)
          tries = 2
        }
      }
    } finally {
      ep.inFlight--
    }
    attempts += tries
    last = result
    cluster.recordResult(ep, result, requestId)
    if (result.answer) lastAnswer = result.answer
    if (result.outcome === 'ok') {
      if (conversation !== undefined && affinity.bind(conversation, ep.id, clock())) log.info('affinity.rebind', `[${requestId}] session rebound to ${ep.id}`)
      break
    }
    // Once the client's response started, nothing else may be written: no retry. A proxy-side failure
    // would come back the same from any endpoint.
    if (result.committed || result.outcome === 'client-aborted' || result.outcome === 'proxy-error') break
    failures ??= new Map()
    excluded ??= new Set()
    const count = (failures.get(ep.id) ?? 0) + 1
    failures.set(ep.id, count)
    if (isFinal4xx(result.outcome, result.status)) {
      // A bad request or a refused key: asking the same endpoint again gets the same answer.
      excluded.add(ep.id)
    } else if (!ep.breaker.allows(clock())) {
      excluded.add(ep.id)
      log.warn('attempt.exclude', `[${requestId}] ${ep.id}: circuit open; excluded for this request`)
    } else if (count >= ctx.limits.perEndpoint) {
      excluded.add(ep.id)
      log.info('attempt.exclude', `[${requestId}] ${ep.id} failed ${count} times; trying other endpoints`)
    }
  }

  const triedCount = tried === undefined ? 0 : typeof tried === 'string' ? 1 : tried.size
  let status: number
  if (last?.outcome === 'ok') {
    counters.ok++
    status = last.status ?? 200
    log.info('request.ok', `[${requestId}] HTTP ${status} from ${counters.lastUsed} after ${attempts} attempt(s)`)
  } else {
    counters.failed++
    if (last?.committed || res.destroyed || last?.outcome === 'client-aborted') {
      status = last?.committed ? (last.status ?? 0) : 0
    } else if (last?.outcome === 'proxy-error') {
      // Ours: a 4xx when the request itself cannot be sent as given, else a 503 (no resources, stopping).
      const invalid = last.errorCode === 'UND_ERR_INVALID_ARG' || last.errorCode === 'UND_ERR_NOT_SUPPORTED'
      status = invalid ? 400 : 503
      sendJson(res, status, { error: `Failed to forward the request: ${last.errorMessage ?? 'proxy-side failure'} (a failure of this proxy, not of the endpoint; no endpoint was blamed).` })
      log.error('request.proxy-error', `[${requestId}] ${last.errorCode ?? ''} ${last.errorMessage ?? ''} → ${status}; not counted against ${counters.lastUsed}`.trim())
    } else if (lastAnswer) {
      sendAnswer(res, redactedAnswer(ctx, lastAnswer))
      status = lastAnswer.status
      log.warn('request.failed', `[${requestId}] tried ${triedCount} endpoint(s), ${attempts} attempt(s); returning the last answer (HTTP ${status})`)
    } else {
      sendJson(res, 502, { error: `All ${triedCount} endpoints failed` })
      status = 502
      log.error('request.failed', `[${requestId}] tried ${triedCount} endpoint(s), ${attempts} attempt(s); all failed → 502 All ${triedCount} endpoints failed`)
    }
  }
  if (proxyChannels.request.hasSubscribers) {
    publishRequest({
      proxyId: ctx.proxyId, requestId, method: request.method, path: url.pathname, status,
      outcome: last?.outcome ?? 'no-endpoint', attempts, durationMs: performance.now() - request.started,
    })
  }
}
