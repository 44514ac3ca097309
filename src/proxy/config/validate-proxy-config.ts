/**
 * `startProxy`'s input, checked with the schema a qcc-lab config file is checked with (lab-config.ts):
 * what a YAML file may say, a caller may pass (`connector: 'naive-keepalive'`), and a bad field is named
 * the way a file's is (`cluster.endpoints[0].baseUrl: expected an http:// or https:// URL …`), every
 * problem at once, before anything listens.
 */
import { z } from 'zod'
import { QccLabError } from '../../shared/errors.ts'
import { formatZodIssues } from '../../shared/zod-issues.ts'
import { compatNames, resolveCompat } from '../compat.ts'
import { connectorOverridesSchema, connectorProfileNames, type ConnectorProfileName, type ConnectorSelection } from '../connector/profiles.ts'
import type { StrategyName } from '../balancer/index.ts'
import type { ClusterConfig, EndpointConfig, ProxyConfig } from '../config.ts'
import { checkConnectorLimits, labClusterSchema, labConfigSchema, labConnectorSchema, labEndpointSchema, toConnectorSelection } from './lab-config.ts'

/** `{ profile, overrides }`: the resolved form (ConnectorSelection), as the runner and older callers pass it. */
const selectionSchema = z.object({
  profile: z.enum(connectorProfileNames as [string, ...string[]]),
  overrides: connectorOverridesSchema.optional(),
}).strict().superRefine((s, ctx) => {
  if (s.overrides) checkConnectorLimits(s.overrides, ctx, ['overrides'])
})

const hasOverrides = (v: unknown): boolean => typeof v === 'object' && v !== null && Object.hasOwn(v, 'overrides')

/**
 * A connector as a config file writes it, or `{ profile, overrides }`. Which of the two is decided by the
 * `overrides` key, so a problem is reported in the words of the form the caller used, at its own path.
 */
export const proxyConnectorSchema = z.union([
  z.custom((v) => !hasOverrides(v), { abort: true }).pipe(labConnectorSchema),
  z.custom((v) => hasOverrides(v), { abort: true }).pipe(selectionSchema),
], {
  error: `expected a connector profile (${connectorProfileNames.join(', ')}), a mapping with "profile" and overrides (${Object.keys(connectorOverridesSchema.shape).join(', ')}), or { profile, overrides }`,
})

/**
 * An endpoint: a config file's fields, with the key itself (`apiKeyEnv` is the file loader's to read),
 * and ids, priorities, weights and failure counts as wide as qcc's cache.json allows them (the proxy runs
 * clusters from either file: a qcc id is any string, a qcc priority any number, `max_failures: 0` valid).
 */
const endpointSchema = labEndpointSchema.omit({ apiKeyEnv: true }).extend({
  id: z.string().min(1).optional(),
  apiKey: z.string().min(1),
  weight: z.number().nonnegative().optional(),
  priority: z.number().optional(),
  maxFailures: z.number().int().nonnegative().optional(),
  connector: proxyConnectorSchema.optional(),
}).strict()

const clusterSchema = labClusterSchema.omit({ endpoints: true, qcc: true, endpointOverrides: true, connector: true }).extend({
  name: z.string().min(1),
  endpoints: z.array(endpointSchema).min(1, 'expected at least one endpoint'),
  connector: proxyConnectorSchema.optional(),
  /** qcc's `settings.default_profile` (compat default-profile-fallback). */
  defaultProfile: z.object({ name: z.string().min(1), endpoints: z.array(endpointSchema), legacy: z.boolean().optional() }).strict().optional(),
}).strict()

/** ProxyConfig as a schema: the config file's listen fields and one cluster, plus what only code can pass. */
export const proxyConfigSchema = labConfigSchema.pick({ host: true, port: true, logFile: true, allowedHosts: true, maxBodyBytes: true }).extend({
  cluster: clusterSchema,
  id: z.string().min(1).optional(),
  clock: z.custom<() => number>((v) => typeof v === 'function', { error: 'expected a function returning epoch ms' }).optional(),
  seed: z.number().int().optional(),
}).strict()

type WrittenConnector = z.output<typeof proxyConnectorSchema>

function selection(c: WrittenConnector): ConnectorSelection
function selection(c: WrittenConnector | undefined): ConnectorSelection | undefined
function selection(c: WrittenConnector | undefined): ConnectorSelection | undefined {
  if (typeof c === 'object' && 'overrides' in c) return { profile: c.profile as ConnectorProfileName, ...(c.overrides ? { overrides: c.overrides } : {}) }
  return toConnectorSelection(c as z.output<typeof labConnectorSchema> | undefined)
}

function endpoint(e: z.output<typeof endpointSchema>): EndpointConfig {
  return { ...e, connector: selection(e.connector) }
}

/**
 * Checks and normalises what a caller passed to `startProxy`: connectors become ConnectorSelections.
 * Throws a QccLabError (`CONFIG_INVALID`) that names every bad field.
 */
export function validateProxyConfig(input: unknown): ProxyConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new QccLabError('CONFIG_INVALID', 'Failed to start the proxy: expected a config object such as { cluster: { name, endpoints: [{ baseUrl, apiKey }] } }.')
  }
  const parsed = proxyConfigSchema.safeParse(input)
  const issues = parsed.success ? [] : formatZodIssues(parsed.error, '')
  const compat = (input as { cluster?: { compat?: unknown } }).cluster?.compat
  if (Array.isArray(compat)) {
    for (const u of resolveCompat(compat.filter((c): c is string => typeof c === 'string')).unknown) {
      issues.push(`cluster.compat: unknown compat switch "${u}"; expected one of ${compatNames.join(', ')} (\`qcc-lab list\` describes them)`)
    }
  }
  if (!parsed.success || issues.length > 0) {
    throw new QccLabError('CONFIG_INVALID', issues.length === 1
      ? `Failed to start the proxy: ${issues[0]!.replace(/\.$/, '')}.`
      : `Failed to start the proxy: ${issues.length} problems in its config:\n${issues.map((i) => `  ${i}`).join('\n')}`)
  }
  const { cluster: { strategy, connector, endpoints, defaultProfile, ...rest }, ...top } = parsed.data
  const cluster: ClusterConfig = {
    ...rest,
    strategy: strategy as StrategyName | undefined,
    connector: selection(connector),
    endpoints: endpoints.map(endpoint),
    ...(defaultProfile ? { defaultProfile: { ...defaultProfile, endpoints: defaultProfile.endpoints.map(endpoint) } } : {}),
  }
  return { ...top, cluster }
}
