/**
 * What the proxy needs to run: a listen address and one cluster of endpoints, with its connector,
 * strategy, attempt limits, breaker, verifier and compat switches. Loaders (qcc's cache.json, qcc-lab
 * config files) produce this; the proxy never reads files itself.
 */
import { createHash } from 'node:crypto'
import type { ConnectorOverrides, ConnectorProfileName, ConnectorSelection } from './connector/profiles.ts'
import type { StrategyName } from './balancer/index.ts'

export interface EndpointConfig {
  /** Default: first 8 hex characters of sha256(`base_url|api_key`), as qcc computes it. */
  readonly id?: string
  /** The upstream URL is the base URL followed by the request path. */
  readonly baseUrl: string
  readonly apiKey: string
  /** Default 100; only the `weighted` strategy uses it. */
  readonly weight?: number
  /** Default 1; lower is preferred by `priority_failover`. */
  readonly priority?: number
  /** Default true. */
  readonly enabled?: boolean
  /** Consecutive failures after which qcc's `is_healthy()` says no. Default 3. */
  readonly maxFailures?: number
  /** Overrides the cluster's connector for this endpoint. */
  readonly connector?: ConnectorSelection
  /** Default true. false only for self-signed fake upstreams. */
  readonly rejectUnauthorized?: boolean
}

export interface ClusterConfig {
  readonly name: string
  readonly endpoints: readonly EndpointConfig[]
  /** Default `tuned-keepalive`. */
  readonly connector?: ConnectorSelection
  /** Default `priority_failover` (qcc's). */
  readonly strategy?: StrategyName
  /** qcc: at most 5 attempts per request, at most 2 per endpoint. */
  readonly attempts?: { readonly max?: number; readonly perEndpoint?: number }
  /** qcc: open after 3 consecutive failures, for 60 s. */
  readonly breaker?: { readonly threshold?: number; readonly openMs?: number }
  /** A degraded endpoint is tried again after this long without a new failure (ms). Default 30 000. */
  readonly recoverAfterMs?: number
  readonly verifier?: {
    /** Default true. */
    readonly enabled?: boolean
    /** How often queued endpoints are verified (ms). qcc: 60 000. */
    readonly intervalMs?: number
    /** qcc's `settings.test_model`. */
    readonly model?: string
    readonly timeoutMs?: number
  }
  /** Session affinity TTL (ms). qcc: 5 h. */
  readonly affinityTtlMs?: number
  /** Compat switch or preset names (`qcc-lab list` shows them). */
  readonly compat?: readonly string[]
  /** qcc's `proxy_model_mode: override`: replace the model of every /v1/messages request. */
  readonly modelOverride?: string
  /**
   * qcc's `settings.default_profile`, for compat `default-profile-fallback`: the profile qcc silently
   * falls back to when the cluster has nothing to offer (spec §3.2). Its endpoints, or one built from its
   * legacy base_url/api_key.
   */
  readonly defaultProfile?: {
    readonly name: string
    readonly endpoints: readonly EndpointConfig[]
    /**
     * The profile has no `endpoints`, only a legacy `base_url`/`api_key`: qcc then builds a temporary
     * endpoint and refuses it when its id is excluded, in the failure queue or circuit-open; a profile
     * with endpoints is used whatever their state.
     */
    readonly legacy?: boolean
  }
}

export interface ProxyConfig {
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 0 (a free port); the CLI's `proxy start` defaults to 7860, qcc's. */
  readonly port?: number
  /**
   * Host names a request's `Host` (and a browser's `Origin`) may carry besides the loopback names and the
   * listen address; `'*'` allows any. Guards against DNS rebinding and web pages spending the keys.
   */
  readonly allowedHosts?: readonly string[]
  /** Largest request body accepted (bytes); larger ones get 413. Default 32 MiB. */
  readonly maxBodyBytes?: number
  readonly cluster: ClusterConfig
  /** Names this proxy in its events and logs; default a random id. */
  readonly id?: string
  /** Append log lines to this file too. */
  readonly logFile?: string
  /** Epoch ms; injected by tests to move breaker and affinity time. Default Date.now. */
  readonly clock?: () => number
  /** Seeds strategies and verification codes. Default: random. */
  readonly seed?: number
}

/**
 * A connector as `startProxy` takes it: a profile name (`'naive-keepalive'`), the profile with overrides
 * beside it as a config file writes it (`{ profile: 'tuned-keepalive', idleTimeoutMs: 2000 }`), or
 * `{ profile, overrides }` (ConnectorSelection, what the proxy runs).
 */
export type ConnectorInput = ConnectorProfileName | ConnectorSelection | ({ readonly profile: ConnectorProfileName } & ConnectorOverrides)

/** An endpoint as `startProxy` takes it. */
export type EndpointInput = Omit<EndpointConfig, 'connector'> & { readonly connector?: ConnectorInput }

/** A cluster as `startProxy` takes it. */
export type ClusterInput = Omit<ClusterConfig, 'connector' | 'endpoints' | 'defaultProfile'> & {
  readonly endpoints: readonly EndpointInput[]
  /** Default `tuned-keepalive`. */
  readonly connector?: ConnectorInput
  readonly defaultProfile?: { readonly name: string; readonly endpoints: readonly EndpointInput[]; readonly legacy?: boolean }
}

/**
 * What `startProxy` takes: a ProxyConfig whose connectors may be written as a config file writes them.
 * Checked at start with the schema config files are checked with (config/validate-proxy-config.ts).
 */
export type ProxyConfigInput = Omit<ProxyConfig, 'cluster'> & { readonly cluster: ClusterInput }

export const clusterDefaults = {
  strategy: 'priority_failover',
  attempts: { max: 5, perEndpoint: 2 },
  breaker: { threshold: 3, openMs: 60_000 },
  recoverAfterMs: 30_000,
  verifier: { enabled: true, intervalMs: 60_000, model: 'claude-3-5-haiku-20241022', timeoutMs: 30_000 },
  affinityTtlMs: 5 * 60 * 60 * 1000,
  endpoint: { weight: 100, priority: 1, enabled: true, maxFailures: 3 },
} as const

/** qcc's endpoint id: sha256(`${base_url}|${api_key}`), first 8 hex characters. */
export function endpointId(baseUrl: string, apiKey: string): string {
  return createHash('sha256').update(`${baseUrl}|${apiKey}`).digest('hex').slice(0, 8)
}

/** Shows at most the last 4 characters of a key. */
export function redactKey(key: string): string {
  return key.length <= 4 ? '****' : `…${key.slice(-4)}`
}
