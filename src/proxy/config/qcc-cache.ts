/**
 * qcc's own config store, `~/.fastcc/cache.json`: profiles, where a cluster is a profile with
 * `endpoints`. Endpoint ids are the stored `id`, else sha256(`base_url|api_key`)[:8] — as qcc does, so
 * failure-queue, breaker and stats ids match what qcc's users see.
 */
import { z } from 'zod'
import type { ClusterConfig, EndpointConfig } from '../config.ts'

const endpointSchema = z.object({
  id: z.string().optional(),
  base_url: z.string().url(),
  api_key: z.string().min(1),
  weight: z.number().optional(),
  priority: z.number().optional(),
  enabled: z.boolean().optional(),
  max_failures: z.number().int().positive().optional(),
}).passthrough()

const profileSchema = z.object({
  name: z.string().optional(),
  enabled: z.boolean().optional(),
  endpoints: z.array(endpointSchema).optional(),
  base_url: z.string().optional(),
  api_key: z.string().optional(),
}).passthrough()

export const qccCacheSchema = z.object({
  settings: z.object({
    default_profile: z.string().optional(),
    test_model: z.string().optional(),
    proxy_model_mode: z.string().optional(),
    proxy_model_override: z.string().optional(),
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
      id: e.id,
      baseUrl: e.base_url,
      apiKey: e.api_key,
      weight: e.weight,
      priority: e.priority,
      enabled: e.enabled,
      maxFailures: e.max_failures,
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
