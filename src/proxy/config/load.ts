/**
 * Reads a proxy config file — qcc's cache.json, or a qcc-lab YAML/JSON file — and returns the cluster
 * to run. Every problem names the file, the field and the fix; nothing is half-started on bad input.
 */
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseYaml } from '../../shared/yaml.ts'
import { QccLabError } from '../../shared/errors.ts'
import { formatZodIssues } from '../../shared/zod-issues.ts'
import { resolveCompat, compatNames } from '../compat.ts'
import type { ClusterConfig, EndpointConfig } from '../config.ts'
import type { ConnectorSelection, ConnectorProfileName } from '../connector/profiles.ts'
import type { StrategyName } from '../balancer/index.ts'
import { clusterFromQccCache, looksLikeQccCache, qccCacheSchema } from './qcc-cache.ts'
import { labConfigSchema, type LabCluster } from './lab-config.ts'

export class ConfigError extends QccLabError {
  constructor(file: string, issues: readonly string[]) {
    super('CONFIG_INVALID', issues.map((i) => `${file}: ${i}`).join('\n'))
    this.name = 'ConfigError'
  }
}

export interface LoadedConfig {
  readonly cluster: ClusterConfig
  readonly host?: string
  readonly port?: number
  readonly logFile?: string
  /** Which format the file was. */
  readonly format: 'qcc-cache' | 'qcc-lab'
}

export const defaultQccCache = (): string => path.join(os.homedir(), '.fastcc', 'cache.json')

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (err as Error).message}`])
  }
}

function parseData(file: string, text: string): unknown {
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text)
    } catch (err) {
      throw new ConfigError(file, [`invalid JSON: ${(err as Error).message}`])
    }
  }
  const parsed = parseYaml(text)
  if (!parsed.ok) throw new ConfigError(file, parsed.problems)
  return parsed.value
}

function selection(s: LabCluster['connector']): ConnectorSelection | undefined {
  if (s === undefined) return undefined
  if (typeof s === 'string') return { profile: s as ConnectorProfileName }
  const { profile, ...overrides } = s
  return { profile: profile as ConnectorProfileName, overrides }
}

function loadQccCluster(file: string, data: unknown, name: string): ClusterConfig {
  const parsed = qccCacheSchema.safeParse(data)
  if (!parsed.success) throw new ConfigError(file, formatZodIssues(parsed.error, ''))
  const { cluster, problem } = clusterFromQccCache(parsed.data, name)
  if (!cluster) throw new ConfigError(file, [problem!])
  return cluster
}

export function loadProxyConfig(fileArg: string, clusterName: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = expandHome(fileArg)
  const data = parseData(file, readText(file))
  if (looksLikeQccCache(data)) return { cluster: loadQccCluster(file, data, clusterName), format: 'qcc-cache' }

  const parsed = labConfigSchema.safeParse(data)
  if (!parsed.success) throw new ConfigError(file, formatZodIssues(parsed.error, ''))
  const config = parsed.data
  const c = config.clusters[clusterName]
  if (!c) throw new ConfigError(file, [`clusters: no cluster named "${clusterName}"; this file has ${Object.keys(config.clusters).join(', ') || '(none)'}`])
  const at = `clusters.${clusterName}`
  const issues: string[] = []

  let endpoints: EndpointConfig[] = []
  if ((c.endpoints === undefined) === (c.qcc === undefined)) {
    issues.push(`${at}: set exactly one of endpoints (a list) or qcc (import from a qcc cache.json profile)`)
  } else if (c.endpoints) {
    c.endpoints.forEach((e, i) => {
      let apiKey = e.apiKey
      if ((e.apiKey === undefined) === (e.apiKeyEnv === undefined)) {
        issues.push(`${at}.endpoints[${i}]: set exactly one of apiKey or apiKeyEnv`)
      } else if (e.apiKeyEnv !== undefined) {
        apiKey = env[e.apiKeyEnv]
        if (!apiKey) issues.push(`${at}.endpoints[${i}].apiKeyEnv: the environment variable ${e.apiKeyEnv} is not set`)
      }
      const { apiKeyEnv: _env, connector, ...rest } = e
      endpoints.push({ ...rest, apiKey: apiKey ?? '', connector: selection(connector) })
    })
  } else if (c.qcc) {
    const cacheFile = expandHome(c.qcc.cache ?? defaultQccCache())
    const imported = loadQccCluster(cacheFile, parseData(cacheFile, readText(cacheFile)), c.qcc.profile)
    endpoints = imported.endpoints.map((e) => {
      const id = e.id
      const o = id ? c.endpointOverrides?.[id] : undefined
      return o ? { ...e, ...o, connector: selection(o.connector) } : e
    })
  }
  const { unknown } = resolveCompat(c.compat ?? [])
  for (const u of unknown) issues.push(`${at}.compat: unknown compat switch "${u}"; expected one of ${compatNames.join(', ')}`)
  if (issues.length > 0) throw new ConfigError(file, issues)

  return {
    format: 'qcc-lab',
    host: config.host,
    port: config.port,
    logFile: config.logFile === undefined ? undefined : expandHome(config.logFile),
    cluster: {
      name: clusterName,
      endpoints,
      connector: selection(c.connector),
      strategy: c.strategy as StrategyName | undefined,
      attempts: c.attempts,
      breaker: c.breaker,
      recoverAfterMs: c.recoverAfterMs,
      verifier: c.verifier,
      affinityTtlMs: c.affinityTtlMs,
      compat: c.compat,
      modelOverride: c.modelOverride,
    },
  }
}
