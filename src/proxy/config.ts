/**
 * What the proxy needs to run: a listen address and one cluster of endpoints, each with the connector
 * profile it uses. (Reading qcc's `cache.json` and qcc-lab config files builds on this.)
 */
import { createHash } from 'node:crypto'
import type { ConnectorSelection } from './connector/profiles.ts'

export interface EndpointConfig {
  /** Default: first 8 hex characters of sha256(`base_url|api_key`), as qcc computes it. */
  readonly id?: string
  /** Used as qcc does: the upstream URL is the base URL followed by the request path. */
  readonly baseUrl: string
  readonly apiKey: string
  /** Overrides the cluster's connector for this endpoint. */
  readonly connector?: ConnectorSelection
  /** Default true. false only for self-signed fake upstreams. */
  readonly rejectUnauthorized?: boolean
}

export interface ProxyConfig {
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 7860 (qcc's); 0 picks a free port. */
  readonly port?: number
  readonly cluster: {
    readonly name: string
    readonly endpoints: readonly EndpointConfig[]
    /** Default `tuned-keepalive`. */
    readonly connector?: ConnectorSelection
  }
  /** Names this proxy in its events; default a random id. */
  readonly id?: string
}

/** qcc's endpoint id: sha256(`${base_url}|${api_key}`), first 8 hex characters. */
export function endpointId(baseUrl: string, apiKey: string): string {
  return createHash('sha256').update(`${baseUrl}|${apiKey}`).digest('hex').slice(0, 8)
}

/** Shows at most the last 4 characters of a key. */
export function redactKey(key: string): string {
  return key.length <= 4 ? '****' : `…${key.slice(-4)}`
}
