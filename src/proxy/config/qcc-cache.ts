/**
 * qcc's own config store, `~/.fastcc/cache.json` (profiles, where a cluster is a profile with
 * `endpoints`), and its EndpointGroups, `~/.fastcc/endpoint_groups.json`. Endpoint ids are the stored
 * `id`, else sha256(`base_url|api_key`)[:8] — as qcc does, so failure-queue, breaker and stats ids match
 * what qcc's users see.
 *
 * Read as qcc reads them:
 * - `--cluster NAME` is an EndpointGroup first, then a profile (spec §1.5 step 2): a group's primary
 *   profiles give their endpoints with priority 1 (a plain profile gives one endpoint from its
 *   base_url/api_key), its secondary profiles priority 2; a listed profile that does not exist is
 *   skipped (a warning), and a group that gives no endpoint at all is an error;
 * - only the profiles that make up the cluster are validated: qcc does not look at the others either;
 * - plain profiles (`qcc add`) sit alongside clusters, `null` stands for an unset field anywhere
 *   (`settings.default_profile` is null after `qcc init` until a `qcc add`), and `max_failures: 0` is
 *   allowed. The profile `settings.default_profile` names comes with the cluster as `defaultProfile`, for
  the compat switch that replays qcc's silent fallback to it (spec §3.2).
 *
 * Two deliberate differences: a base URL must be http(s) (qcc would fail every request to an `ftp://`
 * one), and two endpoints with the same id are refused (qcc lets them share one failure-queue entry,
 * breaker and affinity slot while keeping two health records, which no stats reader can tell apart).
 */
import { z } from 'zod'
import { endpointId, type ClusterConfig, type EndpointConfig } from '../config.ts'
import { formatZodIssues } from '../../shared/zod-issues.ts'
import { isHttpUrl, httpUrlSchema } from './lab-config.ts'

/** qcc reads every optional field with `.get(key, default)` and writes `null` for unset ones, so here
 * `null` means the same as absent. */
const opt = <T extends z.ZodType>(t: T) => t.nullish()

const endpointSchema = z.object({
  id: opt(z.string().min(1)),
  base_url: httpUrlSchema,
  api_key: z.string().min(1),
  weight: opt(z.number().nonnegative()),
  priority: opt(z.number()),
  enabled: opt(z.boolean()),
  /** qcc accepts 0 (the endpoint is then never healthy). */
  max_failures: opt(z.number().int().nonnegative()),
  timeout: opt(z.number()),
}).passthrough()

/** A plain profile (`qcc add`: base_url/api_key) or a cluster (`qcc endpoint add`: endpoints). */
const profileSchema = z.object({
  name: opt(z.string()),
  description: opt(z.string()),
  priority: opt(z.string()),
  enabled: opt(z.boolean()),
  created_at: opt(z.string()),
  last_used: opt(z.string()),
  endpoints: opt(z.array(endpointSchema)),
  /** A cluster keeps a copy of endpoints[0] here; only a plain profile's is used (and then checked). */
  base_url: opt(z.string()),
  api_key: opt(z.string()),
}).passthrough()

type QccProfile = z.infer<typeof profileSchema>

/** The file as a whole; each profile is validated when it is used. */
export const qccCacheSchema = z.object({
  user_id: opt(z.string()),
  settings: opt(z.object({
    default_profile: opt(z.string()),
    test_model: opt(z.string()),
    proxy_model_mode: opt(z.string()),
    proxy_model_override: opt(z.string()),
  }).passthrough()),
  profiles: z.record(z.string(), z.unknown()),
}).passthrough()

export type QccCache = z.infer<typeof qccCacheSchema>

/** One EndpointGroup (`EndpointGroup.to_dict`); only the two lists matter to the proxy. */
const groupSchema = z.object({
  primary_configs: opt(z.array(z.string())),
  secondary_configs: opt(z.array(z.string())),
}).passthrough()

/** `endpoint_groups.json`: `{"version":"1.0","last_updated":iso,"groups":{name: group}}`. */
export const endpointGroupsSchema = z.object({
  version: opt(z.string()),
  last_updated: opt(z.string()),
  groups: opt(z.record(z.string(), z.unknown())),
}).passthrough()

export type EndpointGroups = z.infer<typeof endpointGroupsSchema>

/** The file name qcc keeps its EndpointGroups under, next to cache.json. */
export const endpointGroupsFileName = 'endpoint_groups.json'

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Is this parsed JSON qcc's cache.json (it has `profiles`)? */
export function looksLikeQccCache(data: unknown): boolean {
  return isObject(data) && Object.hasOwn(data, 'profiles') && !Object.hasOwn(data, 'clusters')
}

/** Is this parsed JSON qcc's endpoint_groups.json (passed where cache.json belongs)? */
export function looksLikeEndpointGroups(data: unknown): boolean {
  return isObject(data) && Object.hasOwn(data, 'groups') && !Object.hasOwn(data, 'profiles') && !Object.hasOwn(data, 'clusters')
}

/** A problem in one of the two files, with the field path first. */
export interface QccProblem {
  readonly in: 'cache' | 'groups'
  readonly text: string
}

export interface QccResolution {
  readonly cluster?: ClusterConfig
  readonly problems: readonly QccProblem[]
  /** What qcc does silently and a user would want to know (a group names a profile that is gone). */
  readonly warnings: readonly string[]
  /** Whether NAME was an EndpointGroup. */
  readonly fromGroup: boolean
}

/** `profiles.prod`, or `profiles["my relay"]` for a name that is not a plain word. */
function profilePath(name: string): string {
  return /^[A-Za-z_][\w-]*$/.test(name) ? `profiles.${name}` : `profiles[${JSON.stringify(name)}]`
}

function groupPath(name: string): string {
  return /^[A-Za-z_][\w-]*$/.test(name) ? `groups.${name}` : `groups[${JSON.stringify(name)}]`
}

/** An endpoint on its way into the cluster, with where it came from (for duplicate-id messages). */
interface Placed {
  readonly endpoint: EndpointConfig
  readonly id: string
  /** `profiles.prod.endpoints[1]` or `profiles.work` (a plain profile's base_url/api_key). */
  readonly where: string
  readonly storedId: boolean
  /** For a group: which list entry brought it in (`primary_configs[0]`). */
  readonly via?: string
}

/** Validates one profile and turns it into endpoints (priority forced when given), or problems. */
function profileEndpoints(raw: unknown, name: string, forcePriority: number | undefined, via: string | undefined): { placed: Placed[]; problems: QccProblem[]; empty: boolean } {
  const at = profilePath(name)
  const parsed = profileSchema.safeParse(raw)
  if (!parsed.success) return { placed: [], problems: formatZodIssues(parsed.error, at).map((text) => ({ in: 'cache', text })), empty: false }
  const p: QccProfile = parsed.data
  if (p.endpoints && p.endpoints.length > 0) {
    return {
      empty: false,
      problems: [],
      placed: p.endpoints.map((e, i) => ({
        endpoint: {
          id: e.id ?? undefined,
          baseUrl: e.base_url,
          apiKey: e.api_key,
          weight: e.weight ?? undefined,
          priority: forcePriority ?? e.priority ?? undefined,
          enabled: e.enabled ?? undefined,
          maxFailures: e.max_failures ?? undefined,
        },
        id: e.id ?? endpointId(e.base_url, e.api_key),
        where: `${at}.endpoints[${i}]`,
        storedId: e.id != null,
        via,
      })),
    }
  }
  if (p.base_url && p.api_key) {
    const url = isHttpUrl(p.base_url)
    if (!url.ok) return { placed: [], problems: [{ in: 'cache', text: `${at}.base_url: ${url.problem}` }], empty: false }
    return {
      empty: false,
      problems: [],
      placed: [{
        endpoint: forcePriority === undefined ? { baseUrl: p.base_url, apiKey: p.api_key } : { baseUrl: p.base_url, apiKey: p.api_key, priority: forcePriority },
        id: endpointId(p.base_url, p.api_key),
        where: at,
        storedId: false,
        via,
      }],
    }
  }
  return { placed: [], problems: [], empty: true }
}

/** Two endpoints with one id: a problem at the second, naming the first. */
function duplicateIds(placed: readonly Placed[], group: string | undefined): QccProblem[] {
  const seen = new Map<string, Placed>()
  const problems: QccProblem[] = []
  for (const p of placed) {
    const first = seen.get(p.id)
    if (!first) {
      seen.set(p.id, p)
      continue
    }
    const why = 'endpoint ids must be unique in a cluster (the failure queue, breaker and stats are keyed by id)'
    if (group !== undefined && first.via !== p.via) {
      // Two profiles of the group bring in the same endpoint: the fix is in the group.
      problems.push({ in: 'groups', text: `${group}.${p.via}: adds endpoint ${p.id} (${p.where}), which ${first.via} already adds (${first.where}); ${why}. Remove one of the two profiles from the group, or the endpoint from one profile` })
    } else if (!p.storedId && !first.storedId) {
      problems.push({ in: 'cache', text: `${p.where}: has the same base_url and api_key as ${first.where}, so the same id ${p.id}; ${why}. Remove one of the two` })
    } else {
      problems.push({ in: 'cache', text: `${p.where}${p.storedId ? '.id' : ''}: "${p.id}" is also the id of ${first.where}; ${why}. Give one of them another id, or remove the duplicate` })
    }
  }
  return problems
}

/** The cluster's settings that come from cache.json's `settings`, and the default profile's endpoints. */
function fromSettings(cache: QccCache): Pick<ClusterConfig, 'modelOverride' | 'verifier' | 'defaultProfile'> {
  const settings = cache.settings ?? {}
  const name = settings.default_profile
  // Only what qcc could fall back to: a default profile that exists and yields endpoints. A broken one is
  // not this cluster's problem (qcc would only meet it on the fallback path).
  const fallback = typeof name === 'string' && Object.hasOwn(cache.profiles, name) ? profileEndpoints(cache.profiles[name], name, undefined, undefined) : undefined
  return {
    ...(settings.proxy_model_mode === 'override' ? { modelOverride: settings.proxy_model_override ?? 'claude-3-5-sonnet-20241022' } : {}),
    ...(settings.test_model ? { verifier: { model: settings.test_model } } : {}),
    ...(fallback && fallback.problems.length === 0 && fallback.placed.length > 0
      ? { defaultProfile: { name: name!, endpoints: fallback.placed.map((p) => p.endpoint), legacy: fallback.placed[0]!.where === profilePath(name!) } }
      : {}),
  }
}

/** Names of the profiles that are clusters (have endpoints), for "clusters here:". */
function clusterNames(cache: QccCache): string[] {
  return Object.entries(cache.profiles)
    .filter(([, p]) => isObject(p) && Array.isArray(p.endpoints) && p.endpoints.length > 0)
    .map(([n]) => n)
}

/** An EndpointGroup as qcc's `proxy start --cluster NAME` builds it (spec §1.5 step 2a). */
function clusterFromGroup(cache: QccCache, name: string, rawGroup: unknown): QccResolution {
  const at = groupPath(name)
  const parsed = groupSchema.safeParse(rawGroup)
  if (!parsed.success) return { problems: formatZodIssues(parsed.error, at).map((text) => ({ in: 'groups', text })), warnings: [], fromGroup: true }
  const group = parsed.data
  const placed: Placed[] = []
  const problems: QccProblem[] = []
  const warnings: string[] = []
  const skipped: string[] = []
  for (const [list, priority] of [['primary_configs', 1], ['secondary_configs', 2]] as const) {
    (group[list] ?? []).forEach((profileName, i) => {
      const via = `${list}[${i}]`
      if (!Object.hasOwn(cache.profiles, profileName)) {
        // qcc's `get_profile` returns None and the loop goes on.
        skipped.push(`${via} "${profileName}" (no such profile)`)
        warnings.push(`${at}.${via}: no profile named "${profileName}" in cache.json; skipped, as qcc does`)
        return
      }
      const r = profileEndpoints(cache.profiles[profileName], profileName, priority, via)
      if (r.empty) {
        skipped.push(`${via} "${profileName}" (no endpoints and no base_url/api_key)`)
        warnings.push(`${at}.${via}: profile "${profileName}" has no endpoints and no base_url/api_key; skipped`)
      }
      placed.push(...r.placed)
      problems.push(...r.problems)
    })
  }
  if (problems.length > 0) return { problems, warnings, fromGroup: true }
  if (placed.length === 0) {
    const lists = skipped.length > 0 ? `it lists ${skipped.join(', ')}` : 'its primary_configs and secondary_configs are empty'
    return {
      problems: [{ in: 'groups', text: `${at}: the EndpointGroup gives no endpoints (${lists}). Add to primary_configs the names of profiles in cache.json that have endpoints or a base_url and api_key` }],
      warnings: [],
      fromGroup: true,
    }
  }
  const dup = duplicateIds(placed, at)
  if (dup.length > 0) return { problems: dup, warnings, fromGroup: true }
  return { cluster: { name, endpoints: placed.map((p) => p.endpoint), ...fromSettings(cache) }, problems: [], warnings, fromGroup: true }
}

/**
 * The cluster `--cluster NAME` means in a validated cache (and its EndpointGroups, when there is a
 * groups file): a group of that name first, else a profile with endpoints, else a plain profile.
 * Names are looked up among the files' own keys only (`__proto__` is just a name).
 */
export function resolveQccCluster(cache: QccCache, name: string, groups?: EndpointGroups): QccResolution {
  const groupMap = groups?.groups ?? {}
  if (Object.hasOwn(groupMap, name)) return clusterFromGroup(cache, name, groupMap[name])
  if (!Object.hasOwn(cache.profiles, name)) {
    const groupNames = Object.keys(groupMap)
    const text = groups === undefined
      ? `profiles: no profile named "${name}"; clusters here: ${clusterNames(cache).join(', ') || '(none)'}`
      : `profiles: no EndpointGroup or profile named "${name}"; EndpointGroups in ${endpointGroupsFileName}: ${groupNames.join(', ') || '(none)'}; clusters here: ${clusterNames(cache).join(', ') || '(none)'}`
    return { problems: [{ in: 'cache', text }], warnings: [], fromGroup: false }
  }
  const r = profileEndpoints(cache.profiles[name], name, undefined, undefined)
  if (r.problems.length > 0) return { problems: r.problems, warnings: [], fromGroup: false }
  if (r.empty) {
    return { problems: [{ in: 'cache', text: `${profilePath(name)}: has no endpoints and no base_url/api_key; add endpoints with \`qcc endpoint add ${name}\`` }], warnings: [], fromGroup: false }
  }
  const dup = duplicateIds(r.placed, undefined)
  if (dup.length > 0) return { problems: dup, warnings: [], fromGroup: false }
  return { cluster: { name, endpoints: r.placed.map((p) => p.endpoint), ...fromSettings(cache) }, problems: [], warnings: [], fromGroup: false }
}

/** The cluster named `name` in a validated cache, without EndpointGroups (one problem, or the cluster). */
export function clusterFromQccCache(cache: QccCache, name: string): { cluster?: ClusterConfig; problem?: string } {
  const r = resolveQccCluster(cache, name)
  return r.cluster ? { cluster: r.cluster } : { problem: r.problems.map((p) => p.text).join('\n') }
}
