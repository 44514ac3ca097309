/**
 * Connector profiles: how the proxy holds connections to one upstream endpoint. Each profile is plain
 * data; `createConnector` turns it into undici dispatchers. HTTP/1.1 is pinned (`allowH2: false`):
 * undici 8 would otherwise negotiate HTTP/2 over TLS and none of the keep-alive questions would apply.
 */
import { z } from 'zod'

export interface ConnectorSettings {
  /** Keep connections open between requests. false = `Connection: close` on every request. */
  readonly reuse: boolean
  /** How long an idle connection is kept when the upstream sends no `Keep-Alive: timeout=` hint (ms). */
  readonly idleTimeoutMs: number
  /** Use the upstream's `Keep-Alive: timeout=N` hint, minus `hintMarginMs`, as the idle expiry. */
  readonly honourKeepAliveHint: boolean
  /** Subtracted from the hint so the client gives up a connection before the server does (ms). */
  readonly hintMarginMs: number
  /** Upper bound on any idle expiry (ms). */
  readonly maxIdleTimeoutMs: number
  /**
   * Retry once, on a fresh connection, when a *reused* connection failed before any response byte
   * arrived (the request body is buffered, so it can be sent again). Every such retry is counted.
   */
  readonly retryStaleOnFreshConnection: boolean
  /**
   * Maximum connections per endpoint; requests past it queue for a free one. null = unlimited (then a
   * burst can open as many sockets as there are requests, until the machine runs out of descriptors).
   */
  readonly connections: number | null
  readonly connectTimeoutMs: number
  /** Time allowed for the response head (ms). */
  readonly headersTimeoutMs: number
  /** Time allowed between two body chunks (ms); SSE streams idle longer than this are cut. */
  readonly bodyTimeoutMs: number
}

const common = {
  // httpx's max_connections in qcc v0.6.x; aiohttp's TCPConnector limit is the same 100.
  connections: 100,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 300_000,
  bodyTimeoutMs: 300_000,
} as const

export const connectorProfiles = {
  /** qcc's fix: a new connection per request. No stale sockets, a handshake every time. */
  'force-close': {
    summary: 'a new connection per request (Connection: close); what qcc shipped as its fix',
    settings: {
      ...common,
      reuse: false,
      idleTimeoutMs: 0,
      honourKeepAliveHint: false,
      hintMarginMs: 0,
      maxIdleTimeoutMs: 0,
      retryStaleOnFreshConnection: false,
    },
  },
  /** What qcc had when it failed: aiohttp `keepalive_timeout=60`, hints ignored, no retry. */
  'naive-keepalive': {
    summary: 'idle sockets kept 60 s, Keep-Alive hint ignored, no retry; what qcc had when it failed',
    settings: {
      ...common,
      reuse: true,
      idleTimeoutMs: 60_000,
      honourKeepAliveHint: false,
      hintMarginMs: 0,
      maxIdleTimeoutMs: 60_000,
      retryStaleOnFreshConnection: false,
    },
  },
  /** Reuse with the client expiring first, and a safety net for the race that expiry cannot close. */
  'tuned-keepalive': {
    summary: 'idle expiry below the upstream\'s (hint - 2 s, else 4 s), one counted retry of a stale reused socket on a fresh one',
    settings: {
      ...common,
      reuse: true,
      idleTimeoutMs: 4_000,
      honourKeepAliveHint: true,
      hintMarginMs: 2_000,
      maxIdleTimeoutMs: 60_000,
      retryStaleOnFreshConnection: true,
    },
  },
} as const satisfies Record<string, { summary: string; settings: ConnectorSettings }>

export type ConnectorProfileName = keyof typeof connectorProfiles

export const connectorProfileNames = Object.keys(connectorProfiles) as ConnectorProfileName[]

export function isConnectorProfileName(name: unknown): name is ConnectorProfileName {
  return typeof name === 'string' && Object.hasOwn(connectorProfiles, name)
}

/** Overrides a config may apply on top of a profile. */
export const connectorOverridesSchema = z.object({
  idleTimeoutMs: z.number().int().nonnegative(),
  honourKeepAliveHint: z.boolean(),
  hintMarginMs: z.number().int().nonnegative(),
  maxIdleTimeoutMs: z.number().int().nonnegative(),
  retryStaleOnFreshConnection: z.boolean(),
  connections: z.number().int().positive().nullable(),
  connectTimeoutMs: z.number().int().positive(),
  headersTimeoutMs: z.number().int().positive(),
  bodyTimeoutMs: z.number().int().positive(),
}).partial().strict()

export type ConnectorOverrides = z.infer<typeof connectorOverridesSchema>

/** As a config or scenario writes it: a profile name, or `{ profile, ...overrides }`. */
export const connectorSelectionSchema = z.union([
  z.enum(connectorProfileNames as [string, ...string[]]),
  connectorOverridesSchema.extend({ profile: z.enum(connectorProfileNames as [string, ...string[]]) }).strict(),
], {
  error: `expected a connector profile (${connectorProfileNames.join(', ')}), or a mapping with "profile" and overrides (${Object.keys(connectorOverridesSchema.shape).join(', ')})`,
})

/** A profile name plus optional overrides, resolved. */
export interface ConnectorSelection {
  readonly profile: ConnectorProfileName
  readonly overrides?: ConnectorOverrides
}

export interface ResolvedConnector {
  readonly profile: ConnectorProfileName
  readonly settings: ConnectorSettings
}

export function resolveConnector(selection: ConnectorSelection): ResolvedConnector {
  return {
    profile: selection.profile,
    settings: { ...connectorProfiles[selection.profile].settings, ...selection.overrides },
  }
}
