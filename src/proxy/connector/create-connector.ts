/**
 * Turns connector settings into undici dispatchers for one endpoint: a pooled dispatcher for normal
 * traffic and, for the stale-socket retry, a one-shot client whose only connection is brand new.
 */
import { Client, Pool, type Dispatcher } from 'undici'
import type { ConnectorSettings } from './profiles.ts'

export interface Connector {
  readonly settings: ConnectorSettings
  /** The pooled dispatcher for first attempts (replaced by `reset()`). */
  readonly pool: Pool
  /** Per-request dispatch options the profile adds (force-close sends `Connection: close`). */
  readonly dispatchOptions: Partial<Dispatcher.DispatchOptions>
  /** A client guaranteed to open a new connection, for one request. */
  fresh(): Client
  /** Closes a client from `fresh()` once its request settled. */
  release(client: Client): void
  /** Destroys the pool, failing what is in flight, and starts a new one (compat `shared-client-reset`). */
  reset(): void
  close(): Promise<void>
}

/**
 * undici derives the idle expiry from the server's hint as `min(hint - threshold, max)`. To *ignore* the
 * hint (aiohttp's behaviour) we pass a threshold of minus the max, so the result is always the max.
 */
function keepAliveOptions(s: ConnectorSettings): Pool.Options {
  if (!s.reuse) return {}
  if (!s.honourKeepAliveHint) {
    return {
      keepAliveTimeout: s.idleTimeoutMs,
      keepAliveMaxTimeout: s.idleTimeoutMs,
      keepAliveTimeoutThreshold: -s.idleTimeoutMs,
    }
  }
  return {
    keepAliveTimeout: s.idleTimeoutMs,
    keepAliveMaxTimeout: s.maxIdleTimeoutMs,
    keepAliveTimeoutThreshold: s.hintMarginMs,
  }
}

export interface ConnectorOptions {
  /** Verify the upstream's TLS certificate. Default true; false only for self-signed fake upstreams. */
  readonly rejectUnauthorized?: boolean
}

export function createConnector(origin: string, settings: ConnectorSettings, options: ConnectorOptions = {}): Connector {
  const base = {
    allowH2: false,
    connectTimeout: settings.connectTimeoutMs,
    headersTimeout: settings.headersTimeoutMs,
    bodyTimeout: settings.bodyTimeoutMs,
    connect: options.rejectUnauthorized === false ? { rejectUnauthorized: false } : undefined,
  }
  const newPool = (): Pool => new Pool(origin, { ...base, ...keepAliveOptions(settings), connections: settings.connections })
  let pool = newPool()
  const retired = new Set<Pool>()
  const fresh = new Set<Client>()
  return {
    settings,
    get pool() { return pool },
    dispatchOptions: settings.reuse ? {} : { reset: true },
    fresh() {
      const client = new Client(origin, { ...base })
      fresh.add(client)
      return client
    },
    release(client) {
      fresh.delete(client)
      client.close().catch(() => undefined)
    },
    reset() {
      const old = pool
      pool = newPool()
      retired.add(old)
      old.destroy().catch(() => undefined).finally(() => retired.delete(old))
    },
    async close() {
      await Promise.all([
        pool.close(),
        ...[...retired].map((p) => p.destroy().catch(() => undefined)),
        ...[...fresh].map((c) => c.close().catch(() => undefined)),
      ])
    },
  }
}
