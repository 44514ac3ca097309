/**
 * Reads a proxy config file — qcc's cache.json (with the endpoint_groups.json next to it), or a qcc-lab
 * YAML/JSON file — and returns the cluster to run. Every problem names the file, the field and the fix,
 * all of them at once; nothing is half-started on bad input.
 */
import os from 'node:os'
import path from 'node:path'
import { parseYaml } from '../../shared/yaml.ts'
import { QccLabError } from '../../shared/errors.ts'
import { inputLimits, readInputFile } from '../../shared/input-file.ts'
import { formatZodIssues } from '../../shared/zod-issues.ts'
import { resolveCompat, compatNames } from '../compat.ts'
import { endpointId, type ClusterConfig, type EndpointConfig } from '../config.ts'
import type { ConnectorSelection } from '../connector/profiles.ts'
import type { StrategyName } from '../balancer/index.ts'
import {
  endpointGroupsFileName, endpointGroupsSchema, looksLikeEndpointGroups, looksLikeQccCache, qccCacheSchema, resolveQccCluster,
  type EndpointGroups, type QccProblem,
} from './qcc-cache.ts'
import { labConfigSchema, toConnectorSelection, type LabCluster } from './lab-config.ts'

/** One line per problem, each `<file>: <field path>: <what was expected>. <fix>`; problems may be in several files. */
export class ConfigError extends QccLabError {
  readonly problems: ReadonlyArray<{ readonly file: string; readonly issue: string }>
  constructor(file: string, issues: readonly string[])
  constructor(problems: ReadonlyArray<{ readonly file: string; readonly issue: string }>)
  constructor(fileOrProblems: string | ReadonlyArray<{ readonly file: string; readonly issue: string }>, issues: readonly string[] = []) {
    const problems = typeof fileOrProblems === 'string' ? issues.map((issue) => ({ file: fileOrProblems, issue })) : fileOrProblems
    super('CONFIG_INVALID', problems.map((p) => `${p.file}: ${p.issue}`).join('\n'))
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export interface LoadedConfig {
  readonly cluster: ClusterConfig
  readonly host?: string
  readonly port?: number
  readonly logFile?: string
  readonly allowedHosts?: readonly string[]
  readonly maxBodyBytes?: number
  /** Which format the file was. */
  readonly format: 'qcc-cache' | 'qcc-lab'
  /**
   * What qcc passes over silently and the user should hear about (an EndpointGroup naming a profile
   * that does not exist), one `<file>: <field>: …` line each.
   */
  readonly warnings: readonly string[]
}

export const defaultQccCache = (): string => path.join(os.homedir(), '.fastcc', 'cache.json')

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p
}

const isJson = (file: string): boolean => file.endsWith('.json')

function readText(file: string, what: string): string {
  const read = readInputFile(file, { maxBytes: isJson(file) ? inputLimits.json : inputLimits.yaml, what })
  if (!read.ok) throw new ConfigError(file, [read.problem])
  return read.text
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new ConfigError(file, [`invalid JSON: ${(err as Error).message}. Fix the syntax there (a .json file must be JSON; use .yaml for YAML)`])
  }
}

function parseData(file: string, text: string): unknown {
  if (isJson(file)) return parseJson(file, text)
  const parsed = parseYaml(text)
  if (!parsed.ok) throw new ConfigError(file, parsed.problems)
  return parsed.value
}

const selection = (s: LabCluster['connector']): ConnectorSelection | undefined => toConnectorSelection(s)

/** The EndpointGroups next to a cache.json, or undefined when there is no such file (as for qcc). */
function readEndpointGroups(cacheFile: string): { file: string; groups?: EndpointGroups } {
  const file = path.join(path.dirname(cacheFile), endpointGroupsFileName)
  const why = `qcc-lab reads the EndpointGroups next to ${path.basename(cacheFile)} first, as qcc does; fix or remove this file`
  const read = readInputFile(file, { maxBytes: inputLimits.json, what: 'qcc endpoint_groups.json file' })
  if (!read.ok) {
    if (read.reason === 'missing') return { file }
    throw new ConfigError(file, [`${read.problem} (${why})`])
  }
  let data: unknown
  try {
    data = JSON.parse(read.text)
  } catch (err) {
    throw new ConfigError(file, [`invalid JSON: ${(err as Error).message}. Fix the syntax (${why})`])
  }
  const parsed = endpointGroupsSchema.safeParse(data)
  if (!parsed.success) {
    const issues = typeof data !== 'object' || data === null || Array.isArray(data)
      ? [`(root): expected an object {"version": "1.0", "groups": {name: group}} as qcc writes it (${why})`]
      : formatZodIssues(parsed.error, '')
    throw new ConfigError(file, issues)
  }
  return { file, groups: parsed.data }
}

/** A cluster out of qcc's cache.json: an EndpointGroup of that name first, then a profile. */
function loadQccCluster(file: string, data: unknown, name: string): { cluster: ClusterConfig; warnings: string[] } {
  const parsed = qccCacheSchema.safeParse(data)
  if (!parsed.success) throw new ConfigError(file, formatZodIssues(parsed.error, ''))
  const { file: groupsFile, groups } = readEndpointGroups(file)
  const r = resolveQccCluster(parsed.data, name, groups)
  const where = (p: QccProblem): string => (p.in === 'groups' ? groupsFile : file)
  if (!r.cluster) throw new ConfigError(r.problems.map((p) => ({ file: where(p), issue: p.text })))
  return { cluster: r.cluster, warnings: r.warnings.map((w) => `${groupsFile}: ${w}`) }
}

export function loadProxyConfig(fileArg: string, clusterName: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = expandHome(fileArg)
  const data = parseData(file, readText(file, 'qcc-lab proxy config (YAML or JSON) or qcc cache.json'))
  if (looksLikeQccCache(data)) {
    const { cluster, warnings } = loadQccCluster(file, data, clusterName)
    return { cluster, format: 'qcc-cache', warnings }
  }
  if (looksLikeEndpointGroups(data)) {
    throw new ConfigError(file, [`(root): this is qcc's ${endpointGroupsFileName}, not a config; pass the cache.json next to it (--config ${path.join(path.dirname(file), 'cache.json')}): the EndpointGroups are read from the same folder`])
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(file, ['(root): expected a mapping with clusters (a qcc-lab config), or qcc\'s cache.json with profiles'])
  }

  const parsed = labConfigSchema.safeParse(data)
  if (!parsed.success) throw new ConfigError(file, formatZodIssues(parsed.error, ''))
  const config = parsed.data
  // Own keys only: `--cluster __proto__` or `toString` is a name like any other.
  if (!Object.hasOwn(config.clusters, clusterName)) {
    throw new ConfigError(file, [`clusters: no cluster named "${clusterName}"; this file has ${Object.keys(config.clusters).join(', ') || '(none)'}`])
  }
  const c = config.clusters[clusterName]!
  const at = `clusters.${clusterName}`
  const issues: string[] = []
  let warnings: string[] = []

  let endpoints: EndpointConfig[] = []
  if ((c.endpoints === undefined) === (c.qcc === undefined)) {
    issues.push(`${at}: set exactly one of endpoints (a list) or qcc (import from a qcc cache.json profile)`)
  } else if (c.endpoints) {
    // Two endpoints with one id would share the failure queue, breaker and stats entry.
    const seen = new Map<string, string>()
    c.endpoints.forEach((e, i) => {
      const where = `${at}.endpoints[${i}]`
      let apiKey = e.apiKey
      if ((e.apiKey === undefined) === (e.apiKeyEnv === undefined)) {
        issues.push(`${where}: set exactly one of apiKey or apiKeyEnv`)
      } else if (e.apiKeyEnv !== undefined) {
        apiKey = env[e.apiKeyEnv]
        if (!apiKey) issues.push(`${where}.apiKeyEnv: the environment variable ${e.apiKeyEnv} is not set; set it (export ${e.apiKeyEnv}=…) or give apiKey instead`)
      }
      const { apiKeyEnv: _env, connector, ...rest } = e
      endpoints.push({ ...rest, apiKey: apiKey ?? '', connector: selection(connector) })
      if (e.id === undefined && !apiKey) return
      const id = e.id ?? endpointId(e.baseUrl, apiKey!)
      const first = seen.get(id)
      if (first === undefined) {
        seen.set(id, where)
        return
      }
      const why = 'endpoint ids must be unique in a cluster (the failure queue, breaker and stats are keyed by id)'
      issues.push(e.id !== undefined
        ? `${where}.id: "${id}" is also the id of ${first}; ${why}. Give one of them another id, or remove the duplicate`
        : `${where}: has the same baseUrl and key as ${first}, so the same id ${id}; ${why}. Remove one of the two, or give one an id`)
    })
    if (c.endpointOverrides !== undefined) issues.push(`${at}.endpointOverrides: applies to endpoints imported with qcc only; set these fields on the endpoints themselves`)
  } else if (c.qcc) {
    const cacheFile = expandHome(c.qcc.cache ?? defaultQccCache())
    const cacheData = parseData(cacheFile, readText(cacheFile, 'qcc cache.json'))
    if (!looksLikeQccCache(cacheData)) {
      throw new ConfigError(file, [`${at}.qcc.cache: ${cacheFile} is not qcc's cache.json (it has no "profiles"); give the path of ~/.fastcc/cache.json or a copy of it`])
    }
    // The loader has checked that the imported ids are unique.
    const imported = loadQccCluster(cacheFile, cacheData, c.qcc.profile)
    warnings = imported.warnings
    const overrides = c.endpointOverrides ?? {}
    const ids = imported.cluster.endpoints.map((e) => e.id ?? endpointId(e.baseUrl, e.apiKey))
    for (const id of Object.keys(overrides)) {
      if (!ids.includes(id)) issues.push(`${at}.endpointOverrides.${id}: no imported endpoint has this id; the ids of "${c.qcc.profile}" are ${ids.join(', ')}. Use one of those, or remove this override`)
    }
    endpoints = imported.cluster.endpoints.map((e, i) => {
      const o = Object.hasOwn(overrides, ids[i]!) ? overrides[ids[i]!] : undefined
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
    allowedHosts: config.allowedHosts,
    maxBodyBytes: config.maxBodyBytes,
    warnings,
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
