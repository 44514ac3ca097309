/**
 * The proxy's ingress: a node:http server on 127.0.0.1 with qcc's routes — `/__qcc__/stats`,
 * `/__qcc__/logs`, local `POST /v1/messages/count_tokens`, and everything else forwarded through qcc's
 * attempt loop: at most 5 attempts and 2 per endpoint, endpoints excluded per request, success only on
 * 2xx, the last upstream answer returned if any arrived, else `502 {"error": "All N endpoints failed"}`
 * with N the distinct endpoints tried. Nothing is retried once a byte went to the client.
 */
import http from 'node:http'
import type net from 'node:net'
import { once } from 'node:events'
import { randomInt, randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { installSocketReuseTracking } from './connector/socket-reuse.ts'
import type { ConnectorProfileName } from './connector/profiles.ts'
import { clusterDefaults, type ProxyConfig } from './config.ts'
import { forwardAttempt, isHopByHop, sendAnswer, type AttemptResult, type BufferedAnswer, type UpstreamRequest } from './forward.ts'
import { publishAttempt, publishRequest } from './events.ts'
import { attemptOutcomes, isFinal4xx, outcomeLabels, type AttemptOutcome } from './outcome.ts'
import { resolveCompat } from './compat.ts'
import { Cluster, type Endpoint } from './cluster.ts'
import { ProxyLog, queryLogs, type LogRecord } from './log.ts'
import { SessionAffinity, conversationIdOf } from './affinity.ts'
import { countTokens } from './count-tokens.ts'
import { verifyEndpoint } from './health/verifier.ts'
import { createRandom } from '../shared/random.ts'
import { QccLabError } from '../shared/errors.ts'
import { setTimeout as sleep } from 'node:timers/promises'

export interface ProxyHandle {
  readonly id: string
  readonly url: string
  readonly port: number
  stats(): ProxyStats
  /** Log records kept in memory (the ones `/__qcc__/logs` serves). */
  logs(): readonly LogRecord[]
  /** Verifies every queued endpoint now, as the background verifier does on its interval. */
  verifyNow(): Promise<void>
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes everything. */
  close(graceMs?: number): Promise<void>
}

/** qcc's stats keys (spec §6.1) plus qcc-lab's own. */
export interface ProxyStats {
  readonly total_requests: number
  readonly successful_requests: number
  readonly failed_requests: number
  readonly success_rate: number
  readonly start_time: string
  readonly uptime: number
  readonly last_used_endpoint_id: string | null
  readonly endpoints: ReadonlyArray<Record<string, unknown> & { readonly id: string; readonly connector_profile: ConnectorProfileName; readonly attempts: number; readonly stale_retries: number }>
  readonly total_endpoints: number
  readonly healthy_endpoints: number
  readonly failed_endpoints: readonly string[]
  readonly failure_queue_size: number
  readonly endpoint_verify_counts: Readonly<Record<string, number>>
  readonly proxy: 'qcc-lab'
  readonly cluster: string
  readonly strategy: string
  readonly compat: readonly string[]
  readonly stale_retries: number
  readonly attempts_by_outcome: Record<AttemptOutcome, number>
  readonly failure_queue_stats: { total_failed: number; total_verified: number; total_recovered: number; total_still_failed: number }
  readonly sessions: number
}


/**
 * Request headers for the upstream: hop-by-hop, `Host`, `Content-Length` and the client's auth dropped
 * case-insensitively; the endpoint's key set as `x-api-key` and `Authorization: Bearer`;
 * `anthropic-version: 2023-06-01` as qcc forces it. With `duplicateAuth` (compat) a client's mixed-case
 * `X-Api-Key` / `Anthropic-Version` is forwarded too, as qcc's case-sensitive lookup did.
 */
export function upstreamHeaders(rawHeaders: readonly string[], apiKey: string, duplicateAuth = false): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]!
    const name = raw.toLowerCase()
    const value = rawHeaders[i + 1]!
    if (duplicateAuth && (name === 'x-api-key' || name === 'anthropic-version') && raw !== name) {
      out[raw] = value
      continue
    }
    if (isHopByHop(name) || name === 'host' || name === 'content-length' || name === 'x-api-key' || name === 'authorization' || name === 'anthropic-version') continue
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`
  }
  out['x-api-key'] = apiKey
  out.authorization = `Bearer ${apiKey}`
  out['anthropic-version'] = '2023-06-01'
  return out
}

/** Python's naive `datetime.now().isoformat()`, as qcc's stats print it. */
function localIso(epochMs: number): string {
  const d = new Date(epochMs - new Date(epochMs).getTimezoneOffset() * 60_000)
  return `${d.toISOString().slice(0, 23)}000`
}

export async function startProxy(config: ProxyConfig): Promise<ProxyHandle> {
  installSocketReuseTracking()
  const proxyId = config.id ?? randomUUID().slice(0, 8)
  const clock = config.clock ?? Date.now
  const random = createRandom(config.seed ?? randomInt(2 ** 31)).next
  const { switches: compat, unknown } = resolveCompat(config.cluster.compat ?? [])
  if (unknown.length > 0) throw new QccLabError('CONFIG_INVALID', `Failed to start the proxy: unknown compat switch ${unknown.map((u) => `"${u}"`).join(', ')}. See \`qcc-lab list\`.`)
  if (config.cluster.endpoints.length === 0) throw new QccLabError('CONFIG_INVALID', `Failed to start the proxy: cluster "${config.cluster.name}" has no endpoints.`)
  const log = new ProxyLog({ proxyId, file: config.logFile, secrets: config.cluster.endpoints.map((e) => e.apiKey), clock })
  const cluster = new Cluster(config.cluster, { compat, log, clock, random })
  const affinity = new SessionAffinity(config.cluster.affinityTtlMs ?? clusterDefaults.affinityTtlMs)
  const attemptLimits = { ...clusterDefaults.attempts, ...config.cluster.attempts }
  const verifierConfig = { ...clusterDefaults.verifier, ...config.cluster.verifier }
  const startedAt = clock()

  const counters = {
    total: 0,
    ok: 0,
    failed: 0,
    staleRetries: 0,
    byOutcome: Object.fromEntries(attemptOutcomes.map((o) => [o, 0])) as Record<AttemptOutcome, number>,
  }
  let lastUsed: string | null = null
  let inFlight = 0

  const stats = (): ProxyStats => {
    const endpoints = cluster.endpoints.map((e) => cluster.endpointStats(e) as ProxyStats['endpoints'][number])
    return {
      total_requests: counters.total,
      successful_requests: counters.ok,
      failed_requests: counters.failed,
      success_rate: counters.total === 0 ? 100 : Math.round((counters.ok / counters.total) * 10_000) / 100,
      start_time: localIso(startedAt),
      uptime: Math.round((clock() - startedAt) / 10) / 100,
      last_used_endpoint_id: lastUsed,
      endpoints,
      total_endpoints: endpoints.length,
      healthy_endpoints: endpoints.filter((e) => e.is_healthy === true).length,
      failed_endpoints: cluster.queue.ids(),
      failure_queue_size: cluster.queue.size,
      endpoint_verify_counts: cluster.queue.verifyCounts(),
      proxy: 'qcc-lab',
      cluster: cluster.name,
      strategy: cluster.strategyName,
      compat: [...compat],
      stale_retries: counters.staleRetries,
      attempts_by_outcome: { ...counters.byOutcome },
      failure_queue_stats: {
        total_failed: cluster.queue.stats.totalFailed,
        total_verified: cluster.queue.stats.totalVerified,
        total_recovered: cluster.queue.stats.totalRecovered,
        total_still_failed: cluster.queue.stats.totalStillFailed,
      },
      sessions: affinity.size,
    }
  }

  /**
   * One attempt on one endpoint, with the connector's stale-socket retry; publishes each try. Like nginx's
   * extra try after an error on a cached connection, that retry does not use up the attempt loop's budget
   * (5 attempts, 2 per endpoint): it is at most one per attempt, on a brand-new connection.
   */
  const attemptEndpoint = async (ep: Endpoint, request: UpstreamRequest, res: http.ServerResponse, requestId: string, attemptNo: number): Promise<{ result: AttemptResult; tries: number }> => {
    const options = { bufferBody: compat.has('buffered-streaming'), silentCut: compat.has('midstream-silent-cut') }
    const publish = (result: AttemptResult, attempt: number, staleRetry: boolean): void => {
      ep.attempts++
      counters.byOutcome[result.outcome]++
      publishAttempt({
        proxyId, requestId, attempt, endpointId: ep.id, outcome: result.outcome, status: result.status,
        reusedConnection: result.reusedConnection, staleRetry, durationMs: result.durationMs,
        errorCode: result.errorCode, errorMessage: result.errorMessage,
      })
    }
    ep.inFlight++
    try {
      const first = await forwardAttempt(ep.connector.pool, ep.connector.dispatchOptions, request, res, options)
      publish(first, attemptNo, false)
      if (first.outcome === 'stale-socket') {
        log.warn('upstream.stale-socket', `[${requestId}] ${ep.id}: ${outcomeLabels['stale-socket']} — ${first.errorCode ?? ''} ${first.errorMessage ?? ''}`.trim())
      }
      if (first.outcome !== 'stale-socket' || first.committed || !ep.connector.settings.retryStaleOnFreshConnection) {
        return { result: first, tries: 1 }
      }
      ep.staleRetries++
      counters.staleRetries++
      log.info('upstream.retry-fresh', `[${requestId}] ${ep.id}: retrying once on a fresh connection (no response byte had arrived)`)
      const client = ep.connector.fresh()
      try {
        const retry = await forwardAttempt(client, ep.connector.dispatchOptions, request, res, options)
        publish(retry, attemptNo + 1, true)
        return { result: retry, tries: 2 }
      } finally {
        ep.connector.release(client)
      }
    } finally {
      ep.inFlight--
    }
  }

  const sendJson = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }

  /** qcc's model override: replace `model` in a JSON /v1/messages body. */
  const overrideModel = (body: Buffer | null, requestId: string): Buffer | null => {
    const model = config.cluster.modelOverride
    if (!model || !body) return body
    try {
      const data = JSON.parse(body.toString('utf8')) as Record<string, unknown>
      if (typeof data !== 'object' || data === null || Array.isArray(data)) return body
      log.info('request.model-override', `[${requestId}] model ${JSON.stringify(data.model)} -> ${JSON.stringify(model)}`)
      return Buffer.from(JSON.stringify({ ...data, model }))
    } catch {
      return body
    }
  }

  const proxyRequest = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
    const started = performance.now()
    counters.total++
    const idHeader = req.headers['x-request-id']
    const requestId = typeof idHeader === 'string' && idHeader !== '' ? idHeader : `req-${counters.total}`
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const original = chunks.length === 0 ? null : Buffer.concat(chunks)
    const body = url.pathname === '/v1/messages' && config.cluster.modelOverride ? overrideModel(original, requestId) : original
    const headers = (ep: Endpoint): Record<string, string> => {
      const h = upstreamHeaders(req.rawHeaders, ep.apiKey, compat.has('duplicate-auth-headers'))
      // The historical bug: the client's length travels with a re-serialised body.
      if (compat.has('stale-content-length') && body !== original && original) h['content-length'] = String(original.length)
      return h
    }
    const path = (ep: Endpoint): string => ep.basePath + (compat.has('drop-query') ? url.pathname : `${url.pathname}${url.search}`)
    log.info('request.start', `[${requestId}] ${req.method} ${url.pathname}`)

    const conversation = conversationIdOf(req.headers['x-conversation-id'], original)
    const failures = new Map<string, number>()
    const excluded = new Set<string>()
    const tried = new Set<string>()
    let attempts = 0
    let last: AttemptResult | undefined
    let lastAnswer: BufferedAnswer | undefined

    for (let n = 0; n < attemptLimits.max && !res.destroyed; n++) {
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
      ep ??= cluster.select(excluded, requestId)
      if (!ep) break
      tried.add(ep.id)
      lastUsed = ep.id
      ep.breaker.onAttempt(clock())
      const request: UpstreamRequest = { method: req.method ?? 'GET', path: path(ep), headers: headers(ep), body }
      const { result, tries } = await attemptEndpoint(ep, request, res, requestId, attempts + 1)
      attempts += tries
      last = result
      cluster.recordResult(ep, result, requestId)
      if (result.answer) lastAnswer = result.answer
      if (result.outcome === 'ok') {
        if (conversation !== undefined && affinity.bind(conversation, ep.id, clock())) log.info('affinity.rebind', `[${requestId}] session rebound to ${ep.id}`)
        break
      }
      // Once the client's response started, nothing else may be written: no retry.
      if (result.committed || result.outcome === 'client-aborted') break
      const count = (failures.get(ep.id) ?? 0) + 1
      failures.set(ep.id, count)
      if (isFinal4xx(result.outcome, result.status)) {
        // A bad request or a refused key: asking the same endpoint again gets the same answer.
        excluded.add(ep.id)
      } else if (!ep.breaker.allows(clock())) {
        excluded.add(ep.id)
        log.warn('attempt.exclude', `[${requestId}] ${ep.id}: circuit open; excluded for this request`)
      } else if (count >= attemptLimits.perEndpoint) {
        excluded.add(ep.id)
        log.info('attempt.exclude', `[${requestId}] ${ep.id} failed ${count} times; trying other endpoints`)
      }
    }

    let status: number
    if (last?.outcome === 'ok') {
      counters.ok++
      status = last.status ?? 200
      log.info('request.ok', `[${requestId}] HTTP ${status} from ${lastUsed} after ${attempts} attempt(s)`)
    } else {
      counters.failed++
      if (last?.committed || res.destroyed || last?.outcome === 'client-aborted') {
        status = last?.committed ? (last.status ?? 0) : 0
      } else if (lastAnswer) {
        sendAnswer(res, lastAnswer)
        status = lastAnswer.status
        log.warn('request.failed', `[${requestId}] tried ${tried.size} endpoint(s), ${attempts} attempt(s); returning the last answer (HTTP ${status})`)
      } else {
        sendJson(res, 502, { error: `All ${tried.size} endpoints failed` })
        status = 502
        log.error('request.failed', `[${requestId}] tried ${tried.size} endpoint(s), ${attempts} attempt(s); all failed → 502 All ${tried.size} endpoints failed`)
      }
    }
    publishRequest({
      proxyId, requestId, method: req.method ?? 'GET', path: url.pathname, status,
      outcome: last?.outcome ?? 'no-endpoint', attempts, durationMs: performance.now() - started,
    })
  }

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://proxy')
    const method = req.method ?? 'GET'
    if ((method === 'GET' || method === 'HEAD') && url.pathname === '/__qcc__/stats') {
      sendJson(res, 200, stats())
      return
    }
    if ((method === 'GET' || method === 'HEAD') && url.pathname === '/__qcc__/logs') {
      const r = queryLogs(log, url.searchParams)
      sendJson(res, r.status, r.body)
      return
    }
    if (method === 'POST' && url.pathname === '/v1/messages/count_tokens') {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const tokens = countTokens(chunks.length === 0 ? null : Buffer.concat(chunks))
      log.info('request.count-tokens', `answered locally: ${tokens} tokens`)
      sendJson(res, 200, { input_tokens: tokens })
      return
    }
    await proxyRequest(req, res, url)
  }

  // The verifier: every intervalMs, prove queued endpoints back with the verification-code prompt.
  let verifierTimer: NodeJS.Timeout | undefined
  let verifying: Promise<void> | undefined
  let closing = false
  const verifyQueued = async (): Promise<void> => {
    const queued = cluster.endpoints.filter((e) => cluster.queue.has(e.id))
    if (queued.length > 0) log.info('verify.start', `verifying ${queued.length} endpoint(s) in the failure queue`)
    for (const ep of queued) {
      if (closing) return
      // On a fresh connection of the endpoint's own connector: its TLS setting and timeouts, and never a
      // pooled socket the upstream may already have closed.
      const client = ep.connector.fresh()
      const r = await verifyEndpoint(ep, {
        dispatcher: client, model: verifierConfig.model, timeoutMs: verifierConfig.timeoutMs,
        random, acceptAny200: compat.has('verifier-accepts-any-200'),
      }).finally(() => ep.connector.release(client))
      cluster.queue.verified(ep.id, r.recovered)
      if (r.recovered) {
        cluster.recovered(ep, r.durationMs)
        log.info('verify.ok', `endpoint ${ep.id} recovered (${r.durationMs} ms): ${r.reason}`)
      } else {
        log.warn('verify.fail', `endpoint ${ep.id} still failing: ${r.reason}`)
      }
    }
  }
  const verifyNow = (): Promise<void> => {
    verifying ??= verifyQueued().finally(() => { verifying = undefined })
    return verifying
  }
  const scheduleVerifier = (): void => {
    if (!verifierConfig.enabled || closing) return
    verifierTimer = setTimeout(() => { void verifyNow().finally(scheduleVerifier) }, verifierConfig.intervalMs)
    verifierTimer.unref()
  }

  const server = http.createServer()
  // Longer than any common client pool expiry (undici hint-2 s, httpx 5 s, aiohttp 15 s): the client, not
  // the proxy, must be the side that gives up an idle connection first.
  server.keepAliveTimeout = 65_000
  server.on('request', (req, res) => {
    inFlight++
    handle(req, res)
      .catch((err: unknown) => {
        log.error('request.internal-error', String((err as Error)?.stack ?? err))
        if (!res.headersSent) sendJson(res, 500, { error: String((err as Error)?.message ?? err) })
        else res.destroy()
      })
      .finally(() => { inFlight-- })
  })
  const host = config.host ?? '127.0.0.1'
  server.listen(config.port ?? 7860, host)
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([err]) => { throw err as Error }),
    ])
  } catch (err) {
    await cluster.close()
    await log.close()
    throw err
  }
  const address = server.address() as net.AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`
  log.info('proxy.start', `listening on ${url}; cluster '${cluster.name}' with ${cluster.endpoints.length} endpoint(s), strategy ${cluster.strategyName}, connector ${cluster.endpoints.map((e) => e.profile).join('/')}${compat.size > 0 ? `, compat ${[...compat].join(',')}` : ''}`)
  scheduleVerifier()

  return {
    id: proxyId,
    url,
    port: address.port,
    stats,
    logs: () => log.records(),
    verifyNow,
    async close(graceMs = 5_000) {
      closing = true
      clearTimeout(verifierTimer)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const deadline = performance.now() + graceMs
      while (inFlight > 0 && performance.now() < deadline) await sleep(10)
      server.closeAllConnections()
      await closed
      await verifying
      await cluster.close()
      log.info('proxy.stop', 'stopped')
      await log.close()
    },
  }
}
