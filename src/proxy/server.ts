/**
 * The proxy's lifecycle: a node:http server on 127.0.0.1 wired to the routes (routes.ts: guard, qcc's
 * `/__qcc__/*` routes, count_tokens, the attempt loop in attempt-loop.ts), the stats (stats.ts) and the
 * failure queue's verifier (health/verifier-loop.ts). Closing drains in-flight requests up to a grace
 * period, then ends what is still streaming with an SSE error event rather than a silent cut.
 */
import http from 'node:http'
import type net from 'node:net'
import { once } from 'node:events'
import { randomInt, randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { installSocketReuseTracking } from './connector/socket-reuse.ts'
import { clusterDefaults, type ProxyConfig, type ProxyConfigInput } from './config.ts'
import { validateProxyConfig } from './config/validate-proxy-config.ts'
import { resolveCompat } from './compat.ts'
import { Cluster } from './cluster.ts'
import { ProxyLog, type LogRecord } from './log.ts'
import { SessionAffinity } from './affinity.ts'
import { startVerifierLoop } from './health/verifier-loop.ts'
import { sendJson } from './attempt-loop.ts'
import { loopbackHosts, route, type IngressPolicy, type RouteContext } from './routes.ts'
import { buildStats, RequestCounters, type ProxyStats } from './stats.ts'
import { createRandom } from '../shared/random.ts'

export type { ProxyStats } from './stats.ts'
export { upstreamHeaders } from './upstream-headers.ts'

export interface ProxyHandle {
  readonly id: string
  readonly url: string
  readonly port: number
  stats(): ProxyStats
  /** Log records kept in memory (the ones `/__qcc__/logs` serves). */
  logs(): readonly LogRecord[]
  /** Verifies every queued endpoint now, as the background verifier does on its interval. */
  verifyNow(): Promise<void>
  /**
   * Stops accepting, lets in-flight requests finish for up to `graceMs`, then ends the rest (a stream
   * gets an SSE `event: error` first) and closes everything.
   */
  close(graceMs?: number): Promise<void>
  /** `await using proxy = await startProxy(…)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void>
}

/** Default request-body cap: 32 MiB, far above any Claude Code context. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024

const unspecified = new Set(['0.0.0.0', '::', ''])

/** Who may call: loopback names and the listen address, plus the config's; `*` in the config allows any. */
function ingressPolicy(config: ProxyConfig, host: string): IngressPolicy {
  const extra = config.allowedHosts ?? []
  const allowedHosts: IngressPolicy['allowedHosts'] = extra.includes('*') || (unspecified.has(host) && config.allowedHosts === undefined)
    ? '*'
    : new Set([...loopbackHosts, host.toLowerCase(), ...extra.map((h) => h.toLowerCase())])
  return { allowedHosts, maxBodyBytes: config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES }
}

/**
 * Starts the proxy on `config.port` (default 0: a free port). The config is checked first with the schema
 * config files are checked with: connectors may be written as a file writes them (`'naive-keepalive'`,
 * `{ profile, idleTimeoutMs }`), and a bad field throws a QccLabError naming it before anything listens.
 */
export async function startProxy(input: ProxyConfigInput): Promise<ProxyHandle> {
  const config = validateProxyConfig(input)
  installSocketReuseTracking()
  const proxyId = config.id ?? randomUUID().slice(0, 8)
  const clock = config.clock ?? Date.now
  const random = createRandom(config.seed ?? randomInt(2 ** 31)).next
  const { switches: compat } = resolveCompat(config.cluster.compat ?? [])
  const log = new ProxyLog({ proxyId, file: config.logFile, secrets: config.cluster.endpoints.map((e) => e.apiKey), clock })
  const cluster = new Cluster(config.cluster, { compat, log, clock, random })
  const affinity = new SessionAffinity(config.cluster.affinityTtlMs ?? clusterDefaults.affinityTtlMs)
  const verifierConfig = { ...clusterDefaults.verifier, ...config.cluster.verifier }
  const counters = new RequestCounters()
  const startedAt = clock()
  const shutdown = new AbortController()
  const host = config.host ?? '127.0.0.1'

  const stats = (): ProxyStats => buildStats({ counters, cluster, compat, sessions: affinity.size, startedAt, now: clock() })
  const ctx: RouteContext = {
    proxyId, cluster, compat, log, affinity, clock, counters,
    limits: { ...clusterDefaults.attempts, ...config.cluster.attempts },
    modelOverride: config.cluster.modelOverride,
    shutdown: shutdown.signal,
    policy: ingressPolicy(config, host),
    stats,
  }

  let inFlight = 0
  let closing: Promise<void> | undefined
  const server = http.createServer()
  // Longer than any common client pool expiry (undici hint-2 s, httpx 5 s, aiohttp 15 s): the client, not
  // the proxy, must be the side that gives up an idle connection first.
  server.keepAliveTimeout = 65_000
  const settled = (): void => { inFlight-- }
  server.on('request', (req, res) => {
    inFlight++
    // One reaction per request (not .catch().finally(): two more promises on every request).
    route(ctx, req, res).then(settled, (err: unknown) => {
      try {
        log.error('request.internal-error', String((err as Error)?.stack ?? err))
        if (!res.headersSent) sendJson(res, 500, { error: `Internal error in qcc-lab's proxy: ${String((err as Error)?.message ?? err)}` })
        else res.destroy()
      } finally {
        inFlight--
      }
    })
  })
  // A malformed request line or header: a 400 from Node's parser, never a crash or a stack in the log.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    if (err.code !== 'ECONNRESET' && socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    else socket.destroy()
  })
  server.listen(config.port ?? 0, host)
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
  const verifier = startVerifierLoop(cluster, log, {
    enabled: verifierConfig.enabled,
    intervalMs: verifierConfig.intervalMs,
    timeoutMs: verifierConfig.timeoutMs,
    model: verifierConfig.model,
    random,
    acceptAny200: compat.has('verifier-accepts-any-200'),
  })

  const handle: ProxyHandle = {
    id: proxyId,
    url,
    port: address.port,
    stats,
    logs: () => log.records(),
    verifyNow: () => verifier.verifyNow(),
    close(graceMs = 5_000) {
      // Idempotent: a second close waits for the first.
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        const deadline = performance.now() + graceMs
        while (inFlight > 0 && performance.now() < deadline) await sleep(10)
        if (inFlight > 0) {
          // The drain deadline passed: end every attempt still running; streams get an SSE error event.
          log.warn('proxy.drain-deadline', `${inFlight} request(s) still running after ${graceMs} ms; ending them`)
          shutdown.abort()
          const cut = performance.now() + 1_000
          while (inFlight > 0 && performance.now() < cut) await sleep(10)
        }
        server.closeAllConnections()
        await closed
        await verifier.stop()
        await cluster.close()
        log.info('proxy.stop', 'stopped')
        await log.close()
      })()
      return closing
    },
    [Symbol.asyncDispose]: () => handle.close(),
  }
  return handle
}
