/**
 * The proxy's ingress: a node:http server on 127.0.0.1 that forwards every request to the cluster's
 * endpoints through their connectors, streams answers back, and serves `/__qcc__/stats`.
 *
 * Attempt loop (minimal for now): endpoints in configured order, one attempt each (plus the connector's
 * own stale-socket retry where its profile allows); success = 2xx; otherwise the last upstream answer is
 * returned, or `502 {"error": "All N endpoints failed"}` when none answered, N = endpoints tried.
 */
import http from 'node:http'
import type net from 'node:net'
import { once } from 'node:events'
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createConnector, type Connector } from './connector/create-connector.ts'
import { resolveConnector, type ConnectorProfileName } from './connector/profiles.ts'
import { installSocketReuseTracking } from './connector/socket-reuse.ts'
import { endpointId, redactKey, type ProxyConfig } from './config.ts'
import { forwardAttempt, isHopByHop, type AttemptResult, type BufferedAnswer, type UpstreamRequest } from './forward.ts'
import { publishAttempt, publishRequest } from './events.ts'
import { attemptOutcomes, type AttemptOutcome } from './outcome.ts'

interface Endpoint {
  readonly id: string
  readonly baseUrl: string
  readonly apiKey: string
  /** Path prefix of the base URL, without a trailing slash. */
  readonly basePath: string
  readonly profile: ConnectorProfileName
  readonly connector: Connector
  attempts: number
  failures: number
  staleRetries: number
}

export interface ProxyStats {
  readonly proxy: 'qcc-lab'
  readonly cluster: string
  readonly total_requests: number
  readonly successful_requests: number
  readonly failed_requests: number
  readonly success_rate: number
  readonly stale_retries: number
  readonly attempts_by_outcome: Record<AttemptOutcome, number>
  readonly endpoints: ReadonlyArray<{
    readonly id: string
    readonly base_url: string
    readonly api_key: string
    readonly connector_profile: ConnectorProfileName
    readonly attempts: number
    readonly failures: number
    readonly stale_retries: number
    readonly pool: { readonly connected: number; readonly free: number; readonly pending: number; readonly running: number }
  }>
}

export interface ProxyHandle {
  readonly id: string
  readonly url: string
  readonly port: number
  stats(): ProxyStats
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes everything. */
  close(graceMs?: number): Promise<void>
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Request headers for the upstream: hop-by-hop and auth dropped case-insensitively, the endpoint's key set. */
export function upstreamHeaders(rawHeaders: readonly string[], apiKey: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase()
    if (isHopByHop(name) || name === 'host' || name === 'content-length' || name === 'x-api-key' || name === 'authorization' || name === 'anthropic-version') continue
    const value = rawHeaders[i + 1]!
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`
  }
  out['x-api-key'] = apiKey
  out.authorization = `Bearer ${apiKey}`
  out['anthropic-version'] = '2023-06-01'
  return out
}

export async function startProxy(config: ProxyConfig): Promise<ProxyHandle> {
  installSocketReuseTracking()
  const proxyId = config.id ?? randomUUID().slice(0, 8)
  const clusterConnector = config.cluster.connector ?? { profile: 'tuned-keepalive' as const }
  const endpoints: Endpoint[] = config.cluster.endpoints.map((ep) => {
    const url = new URL(ep.baseUrl)
    const resolved = resolveConnector(ep.connector ?? clusterConnector)
    return {
      id: ep.id ?? endpointId(ep.baseUrl, ep.apiKey),
      baseUrl: ep.baseUrl,
      apiKey: ep.apiKey,
      basePath: url.pathname.replace(/\/+$/, ''),
      profile: resolved.profile,
      connector: createConnector(url.origin, resolved.settings, { rejectUnauthorized: ep.rejectUnauthorized }),
      attempts: 0,
      failures: 0,
      staleRetries: 0,
    }
  })

  const counters = {
    total: 0,
    ok: 0,
    failed: 0,
    staleRetries: 0,
    byOutcome: Object.fromEntries(attemptOutcomes.map((o) => [o, 0])) as Record<AttemptOutcome, number>,
  }
  let inFlight = 0

  const stats = (): ProxyStats => ({
    proxy: 'qcc-lab',
    cluster: config.cluster.name,
    total_requests: counters.total,
    successful_requests: counters.ok,
    failed_requests: counters.failed,
    success_rate: counters.total === 0 ? 100 : Math.round((counters.ok / counters.total) * 10_000) / 100,
    stale_retries: counters.staleRetries,
    attempts_by_outcome: { ...counters.byOutcome },
    endpoints: endpoints.map((ep) => {
      const s = ep.connector.pool.stats
      return {
        id: ep.id,
        base_url: ep.baseUrl,
        api_key: redactKey(ep.apiKey),
        connector_profile: ep.profile,
        attempts: ep.attempts,
        failures: ep.failures,
        stale_retries: ep.staleRetries,
        pool: { connected: s.connected, free: s.free, pending: s.pending, running: s.running },
      }
    }),
  })

  /** One attempt on one endpoint, with the connector's stale-socket retry; publishes each attempt. */
  const attemptEndpoint = async (ep: Endpoint, request: UpstreamRequest, res: http.ServerResponse, requestId: string, attemptNo: number): Promise<{ result: AttemptResult; attempts: number }> => {
    const record = (result: AttemptResult, attempt: number, staleRetry: boolean): void => {
      ep.attempts++
      counters.byOutcome[result.outcome]++
      if (result.outcome !== 'ok' && result.outcome !== 'client-aborted') ep.failures++
      publishAttempt({
        proxyId, requestId, attempt, endpointId: ep.id, outcome: result.outcome, status: result.status,
        reusedConnection: result.reusedConnection, staleRetry, durationMs: result.durationMs,
        errorCode: result.errorCode, errorMessage: result.errorMessage,
      })
    }
    const first = await forwardAttempt(ep.connector.pool, ep.connector.dispatchOptions, request, res)
    record(first, attemptNo, false)
    if (first.outcome !== 'stale-socket' || first.committed || !ep.connector.settings.retryStaleOnFreshConnection) {
      return { result: first, attempts: 1 }
    }
    ep.staleRetries++
    counters.staleRetries++
    const client = ep.connector.fresh()
    try {
      const retry = await forwardAttempt(client, ep.connector.dispatchOptions, request, res)
      record(retry, attemptNo + 1, true)
      return { result: retry, attempts: 2 }
    } finally {
      ep.connector.release(client)
    }
  }

  const sendJson = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }

  const sendAnswer = (res: http.ServerResponse, answer: BufferedAnswer): void => {
    res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length })
    res.end(answer.body)
  }

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = req.url ?? '/'
    if (req.method === 'GET' && (url === '/__qcc__/stats' || url.startsWith('/__qcc__/stats?'))) {
      sendJson(res, 200, stats())
      return
    }
    const started = performance.now()
    counters.total++
    const idHeader = req.headers['x-request-id']
    const requestId = typeof idHeader === 'string' && idHeader !== '' ? idHeader : `req-${counters.total}`
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = chunks.length === 0 ? null : Buffer.concat(chunks)

    let attempts = 0
    let tried = 0
    let last: AttemptResult | undefined
    let lastAnswer: BufferedAnswer | undefined
    for (const ep of endpoints) {
      if (res.destroyed) break
      tried++
      const request: UpstreamRequest = {
        method: req.method ?? 'GET',
        path: ep.basePath + url,
        headers: upstreamHeaders(req.rawHeaders, ep.apiKey),
        body,
      }
      const { result, attempts: n } = await attemptEndpoint(ep, request, res, requestId, attempts + 1)
      attempts += n
      last = result
      if (result.answer) lastAnswer = result.answer
      // Once the client's response started, nothing else may be written: no retry.
      if (result.outcome === 'ok' || result.committed || result.outcome === 'client-aborted') break
    }

    let status: number
    if (last?.outcome === 'ok') {
      counters.ok++
      status = last.status ?? 200
    } else {
      counters.failed++
      if (last?.committed || res.destroyed || last?.outcome === 'client-aborted') {
        status = last?.committed ? (last.status ?? 0) : 0
      } else if (lastAnswer) {
        sendAnswer(res, lastAnswer)
        status = lastAnswer.status
      } else {
        sendJson(res, 502, { error: `All ${tried} endpoints failed` })
        status = 502
      }
    }
    publishRequest({
      proxyId, requestId, method: req.method ?? 'GET', path: url, status,
      outcome: last?.outcome ?? 'no-endpoint', attempts, durationMs: performance.now() - started,
    })
  }

  const server = http.createServer()
  // Longer than any common client pool expiry (undici hint-2 s, httpx 5 s, aiohttp 15 s): the client, not
  // the proxy, must be the side that gives up an idle connection first.
  server.keepAliveTimeout = 65_000
  server.on('request', (req, res) => {
    inFlight++
    handle(req, res)
      .catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: String((err as Error)?.message ?? err) })
        else res.destroy()
      })
      .finally(() => { inFlight-- })
  })
  server.listen(config.port ?? 7860, config.host ?? '127.0.0.1')
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([err]) => { throw err as Error }),
    ])
  } catch (err) {
    await Promise.all(endpoints.map((ep) => ep.connector.close()))
    throw err
  }
  const address = server.address() as net.AddressInfo
  const host = config.host ?? '127.0.0.1'

  return {
    id: proxyId,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    port: address.port,
    stats,
    async close(graceMs = 5_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const deadline = performance.now() + graceMs
      while (inFlight > 0 && performance.now() < deadline) await sleep(10)
      server.closeAllConnections()
      await closed
      await Promise.all(endpoints.map((ep) => ep.connector.close()))
    },
  }
}
