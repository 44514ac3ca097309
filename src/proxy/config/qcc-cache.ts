/**
 * qcc's own config store, `~/.fastcc/cache.json`: profiles, where a cluster is a profile with
 * `endpoints`. Endpoint ids are the stored `id`, else sha256(`base_url|api_key`)[:8] — as qcc does, so
 * failure-queue, breaker and stats ids match what qcc's users see.
 *
 * Read as qcc reads it: plain profiles (`qcc add`) sit alongside clusters, `null` stands for an unset
 * field anywhere (`settings.default_profile` is null after `qcc init` until a `qcc add`), and
 * `max_failures: 0` is allowed. Only the named profile is turned into the cluster; qcc's fallback to
 * `settings.default_profile` (spec §3.2) is not modelled here.
 */
import { z } from 'zod'
import type { ClusterConfig, EndpointConfig } from '../config.ts'

/** qcc reads every optional field with `.get(key, default)` and writes `null` for unset ones, so here
 * `null` means the same as absent. */
const opt = <T extends z.ZodType>(t: T) => t.nullish()

const endpointSchema = z.object({
  id: opt(z.string()),
  base_url: z.string().url(),
  api_key: z.string().min(1),
  weight: opt(z.number()),
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
  base_url: opt(z.string()),
  api_key: opt(z.string()),
}).passthrough()

export const qccCacheSchema = z.object({
  user_id: opt(z.string()),
  settings: z.object({
    default_profile: opt(z.string()),
    test_model: opt(z.string()),
    proxy_model_mode: opt(z.string()),
    proxy_model_override: opt(z.string()),
  }).passthrough().optional(),
  profiles: z.record(z.string(), profileSchema),
}).passthrough()

export type QccCache = z.infer<typeof qccCacheSchema>

/** Is this parsed JSON qcc's cache.json (it has `profiles`)? */
export function looksLikeQccCache(data: unknown): boolean {
  return typeof data === 'object' && data !== null && 'profiles' in data && !('clusters' in data)
}

/** The cluster named `name` in a validated cache: a profile with endpoints, or a single-endpoint profile. */
export function clusterFromQccCache(cache: QccCache, name: string): { cluster?: ClusterConfig; problem?: string } {
  const profile = cache.profiles[name]
  if (!profile) {
    const clusters = Object.entries(cache.profiles).filter(([, p]) => (p.endpoints?.length ?? 0) > 0).map(([n]) => n)
    return { problem: `profiles: no profile named "${name}"; clusters here: ${clusters.join(', ') || '(none)'}` }
  }
  let endpoints: EndpointConfig[]
  if (profile.endpoints && profile.endpoints.length > 0) {
    endpoints = profile.endpoints.map((e) => ({
      id: e.id ?? undefined,
      baseUrl: e.base_url,
      apiKey: e.api_key,
      weight: e.weight ?? undefined,
      priority: e.priority ?? undefined,
      enabled: e.enabled ?? undefined,
      maxFailures: e.max_failures ?? undefined,
    }))
  } else if (profile.base_url && profile.api_key) {
    endpoints = [{ baseUrl: profile.base_url, apiKey: profile.api_key }]
  } else {
    return { problem: `profiles.${name}: has no endpoints and no base_url/api_key; add endpoints with \`qcc endpoint add ${name}\`` }
  }
  const settings = cache.settings ?? {}
  return {
    cluster: {
      name,
      endpoints,
      ...(settings.proxy_model_mode === 'override' ? { modelOverride: settings.proxy_model_override ?? 'claude-3-5-sonnet-20241022' } : {}),
      ...(settings.test_model ? { verifier: { model: settings.test_model } } : {}),
    },
  }
}
