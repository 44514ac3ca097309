/**
 * qcc-lab's own proxy config (YAML or JSON): clusters with endpoints, or endpoints imported from a qcc
 * cache.json profile, and per cluster and per endpoint: connector profile and timeouts, strategy,
 * attempt limits, breaker, verifier and compat switches. Keys may come from the environment
 * (`apiKeyEnv`) so they need not sit in a file.
 */
import { z } from 'zod'
import { connectorSelectionSchema } from '../connector/profiles.ts'
import { strategyNames } from '../balancer/index.ts'

const durationMs = z.number().int().nonnegative()

export const labEndpointSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{8}$/, 'expected 8 lower-case hex characters').optional(),
  baseUrl: z.string().url('expected a URL such as https://relay.example.com'),
  apiKey: z.string().min(1).optional(),
  /** Name of an environment variable holding the key. */
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
  weight: z.number().nonnegative().optional(),
  priority: z.number().int().optional(),
  enabled: z.boolean().optional(),
  maxFailures: z.number().int().positive().optional(),
  connector: connectorSelectionSchema.optional(),
  rejectUnauthorized: z.boolean().optional(),
}).strict()

/** Overrides for endpoints imported from qcc, keyed by endpoint id. */
const endpointOverrideSchema = labEndpointSchema.pick({ weight: true, priority: true, enabled: true, maxFailures: true, connector: true, rejectUnauthorized: true }).strict()

export const labClusterSchema = z.object({
  endpoints: z.array(labEndpointSchema).min(1).optional(),
  /** Import endpoints from a qcc cache.json profile instead. */
  qcc: z.object({ cache: z.string().optional(), profile: z.string() }).strict().optional(),
  endpointOverrides: z.record(z.string(), endpointOverrideSchema).optional(),
  connector: connectorSelectionSchema.optional(),
  strategy: z.enum(strategyNames as [string, ...string[]]).optional(),
  attempts: z.object({ max: z.number().int().positive().max(20), perEndpoint: z.number().int().positive().max(20) }).partial().strict().optional(),
  breaker: z.object({ threshold: z.number().int().positive(), openMs: durationMs }).partial().strict().optional(),
  recoverAfterMs: durationMs.optional(),
  verifier: z.object({ enabled: z.boolean(), intervalMs: z.number().int().positive(), model: z.string().min(1), timeoutMs: z.number().int().positive() }).partial().strict().optional(),
  affinityTtlMs: durationMs.optional(),
  compat: z.array(z.string()).optional(),
  modelOverride: z.string().min(1).optional(),
}).strict()

export const labConfigSchema = z.object({
  host: z.string().optional(),
  port: z.number().int().min(0).max(65_535).optional(),
  logFile: z.string().optional(),
  clusters: z.record(z.string().regex(/^[A-Za-z0-9][\w.-]*$/), labClusterSchema),
}).strict()

export type LabConfig = z.infer<typeof labConfigSchema>
export type LabCluster = z.infer<typeof labClusterSchema>
