/**
 * qcc-lab's own proxy config (YAML or JSON): clusters with endpoints, or endpoints imported from a qcc
 * cache.json profile, and per cluster and per endpoint: connector profile and timeouts, strategy,
 * attempt limits, breaker, verifier and compat switches. Keys may come from the environment
 * (`apiKeyEnv`) so they need not sit in a file.
 *
 * Every duration is a whole number of ms no longer than Node's longest timer (2³¹−1 ms): a longer one
 * is not "very long", Node fires it after 1 ms (a verifier interval of 3 000 000 000 ms made hundreds
 * of billable verification calls a second). Every count has a ceiling no real config comes near.
 */
import { z } from 'zod'
import { connectorSelectionSchema, type ConnectorProfileName, type ConnectorSelection } from '../connector/profiles.ts'
import { strategyNames } from '../balancer/index.ts'
import { MAX_TIMER_MS } from '../../shared/timers.ts'

export { MAX_TIMER_MS }


/** Breaker thresholds, failure counts, weights and priorities above this are typos. */
export const MAX_COUNT = 1_000_000

/** Connections per endpoint above this would run the machine out of file descriptors first. */
export const MAX_CONNECTIONS = 10_000

const timerTooLong = `expected at most ${MAX_TIMER_MS} ms (2^31-1, about 24.8 days: Node fires a longer timer after 1 ms)`
const countTooBig = `expected at most ${MAX_COUNT}`

/** A duration in ms that may be 0 (off, or "at once"). */
const durationMs = z.number().int().nonnegative().max(MAX_TIMER_MS, timerTooLong)
/** A duration in ms that must be positive (an interval, a timeout). */
const positiveMs = z.number().int().positive().max(MAX_TIMER_MS, timerTooLong)
const count = z.number().int().positive().max(MAX_COUNT, countTooBig)

/** A base URL the proxy can forward to: `http://` or `https://` with a host. */
export function isHttpUrl(text: string): { ok: true } | { ok: false; problem: string } {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { ok: false, problem: 'expected an http:// or https:// URL such as https://relay.example.com' }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, problem: `expected an http:// or https:// URL such as https://relay.example.com, not "${url.protocol}" (the proxy forwards over HTTP only)` }
  }
  if (url.hostname === '') return { ok: false, problem: 'expected an http:// or https:// URL with a host, such as https://relay.example.com' }
  return { ok: true }
}

/** `z.string()` that is an http(s) URL, with the problem worded by isHttpUrl. */
export const httpUrlSchema = z.string().superRefine((text, ctx) => {
  const r = isHttpUrl(text)
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.problem })
})

/** The connector timers (ms) an override may set. */
const connectorTimerFields = ['idleTimeoutMs', 'hintMarginMs', 'maxIdleTimeoutMs', 'connectTimeoutMs', 'headersTimeoutMs', 'bodyTimeoutMs'] as const

/** Connector overrides (`{ idleTimeoutMs, … }`) within bounds: timers at most MAX_TIMER_MS, connections at most MAX_CONNECTIONS. */
export function checkConnectorLimits(overrides: Readonly<Record<string, unknown>>, ctx: z.RefinementCtx, at: ReadonlyArray<string | number> = []): void {
  for (const field of connectorTimerFields) {
    const v = overrides[field]
    if (typeof v === 'number' && v > MAX_TIMER_MS) ctx.addIssue({ code: 'custom', path: [...at, field], message: timerTooLong })
  }
  if (typeof overrides.connections === 'number' && overrides.connections > MAX_CONNECTIONS) {
    ctx.addIssue({ code: 'custom', path: [...at, 'connections'], message: `expected at most ${MAX_CONNECTIONS} connections per endpoint, or null for no limit` })
  }
}

/** A connector profile name or `{ profile, ...overrides }`, with its timers and connection limit bounded. */
export const labConnectorSchema = connectorSelectionSchema.superRefine((selection, ctx) => {
  if (typeof selection === 'object' && selection !== null) checkConnectorLimits(selection as Record<string, unknown>, ctx)
})

/** A connector as written (`'force-close'` or `{ profile, ...overrides }`) → the selection the proxy runs. */
export function toConnectorSelection(written: z.output<typeof labConnectorSchema>): ConnectorSelection
export function toConnectorSelection(written: z.output<typeof labConnectorSchema> | undefined): ConnectorSelection | undefined
export function toConnectorSelection(written: z.output<typeof labConnectorSchema> | undefined): ConnectorSelection | undefined {
  if (written === undefined) return undefined
  if (typeof written === 'string') return { profile: written as ConnectorProfileName }
  const { profile, ...overrides } = written
  return { profile: profile as ConnectorProfileName, overrides }
}

export const labEndpointSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{8}$/, 'expected 8 lower-case hex characters').optional(),
  baseUrl: httpUrlSchema,
  apiKey: z.string().min(1).optional(),
  /** Name of an environment variable holding the key. */
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
  weight: z.number().nonnegative().max(MAX_COUNT, countTooBig).optional(),
  priority: z.number().int().nonnegative().max(MAX_COUNT, countTooBig).optional(),
  enabled: z.boolean().optional(),
  maxFailures: count.optional(),
  connector: labConnectorSchema.optional(),
  rejectUnauthorized: z.boolean().optional(),
}).strict()

/** Overrides for endpoints imported from qcc, keyed by endpoint id. */
const endpointOverrideSchema = labEndpointSchema.pick({ weight: true, priority: true, enabled: true, maxFailures: true, connector: true, rejectUnauthorized: true }).strict()

export const labClusterSchema = z.object({
  endpoints: z.array(labEndpointSchema).min(1).optional(),
  /** Import endpoints from a qcc cache.json profile (or EndpointGroup) instead. */
  qcc: z.object({ cache: z.string().min(1).optional(), profile: z.string().min(1) }).strict().optional(),
  endpointOverrides: z.record(z.string(), endpointOverrideSchema).optional(),
  connector: labConnectorSchema.optional(),
  strategy: z.enum(strategyNames as [string, ...string[]]).optional(),
  attempts: z.object({ max: z.number().int().positive().max(20), perEndpoint: z.number().int().positive().max(20) }).partial().strict().optional(),
  breaker: z.object({ threshold: count, openMs: durationMs }).partial().strict().optional(),
  recoverAfterMs: durationMs.optional(),
  verifier: z.object({ enabled: z.boolean(), intervalMs: positiveMs, model: z.string().min(1), timeoutMs: positiveMs }).partial().strict().optional(),
  affinityTtlMs: durationMs.optional(),
  compat: z.array(z.string()).optional(),
  modelOverride: z.string().min(1).optional(),
}).strict()

export const labConfigSchema = z.object({
  host: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65_535).optional(),
  logFile: z.string().min(1).optional(),
  /** Host names a request's Host/Origin may carry besides loopback and the listen address; "*" = any. */
  allowedHosts: z.array(z.string().regex(/^(\*|[A-Za-z0-9.:[\]-]+)$/, 'expected a host name such as qcc.lan, or "*"')).optional(),
  /** Largest request body accepted (bytes), default 32 MiB. */
  maxBodyBytes: z.number().int().positive().max(2 ** 31).optional(),
  clusters: z.record(z.string().regex(/^[A-Za-z0-9][\w.-]*$/, 'expected a cluster name of letters, digits, "_", "." or "-", starting with a letter or digit'), labClusterSchema),
}).strict()

export type LabConfig = z.infer<typeof labConfigSchema>
export type LabCluster = z.infer<typeof labClusterSchema>
