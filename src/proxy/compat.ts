/**
 * Named historical qcc behaviours, each off by default, so a failure qcc's users saw can be replayed
 * exactly and the fix shown beside it. A preset turns on the set a qcc version had.
 */

export const compatSwitches = {
  'lb-healthy-only': {
    replays: 'the balancer of the seed\'s 502: it accepts only healthy endpoints and picks none when all are degraded or circuit-open → `All 0 endpoints failed`',
    since: 'fc93cca and the uncommitted tree before 07a3e15',
  },
  'queue-on-any-failure': {
    replays: 'qcc v0.6.1: every failed attempt (any non-2xx answer, timeout or error) puts the endpoint in the failure queue; default: only auth failures (401/403) do',
    since: 'f39a609 … 7ee81e9 (v0.6.1)',
  },
  'queue-never-panics': {
    replays: 'qcc v0.6.1: endpoints in the failure queue are never used, even when no other endpoint is left → `All 0 endpoints failed` until the verifier passes; default: used as the last resort',
    since: 'v0.6.1',
  },
  'queue-ignored-by-selection': {
    replays: 'before the failure-queue isolation fix (docs/tasks/failure-queue-isolation-fix.md): selection ignores the failure queue, so an isolated endpoint keeps getting normal traffic',
    since: 'f39a609 … the isolation fix',
  },
  'midstream-silent-cut': {
    replays: 'qcc never sent an SSE error frame (its plan P1-3 was not implemented): when the upstream dies mid-stream the client\'s stream is cut with no error event',
    since: 'all versions',
  },
  'buffered-streaming': {
    replays: 'qcc v0.6.1 (httpx): the whole upstream body is read before the first byte reaches the client; SSE time to first byte = the full stream duration',
    since: '07a3e15 (v0.6.0) … v0.6.1',
  },
  'drop-query': {
    replays: 'qcc forwards base_url + path only: `/v1/messages?beta=true` reaches the upstream as `/v1/messages`',
    since: 'all versions',
  },
  'breaker-reset-on-timeout': {
    replays: 'qcc v0.6.1: after 60 s open, the breaker forgets everything (count 0) instead of letting one half-open probe through; re-opening needs 3 new failures',
    since: 'v0.6.0 … v0.6.1',
  },
  'duplicate-auth-headers': {
    replays: 'qcc v0.6.1: client headers `X-Api-Key` / `Anthropic-Version` in mixed case are forwarded beside the proxy\'s lower-case ones: the upstream gets both',
    since: 'v0.6.1',
  },
  'stale-content-length': {
    replays: 'model override mode re-serialises the body but forwards the client\'s Content-Length: every overridden request fails (httpx: "Too much data for declared Content-Length")',
    since: 'v0.6.1',
  },
  'verifier-accepts-any-200': {
    replays: 'before 1a5f966: any 200 from the verification call recovers the endpoint, even an error body or one without the code (the 88code disabled-key incident)',
    since: 'f39a609 … 1a5f966',
  },
  'least-connections-lifetime': {
    replays: 'qcc\'s least_connections picks the endpoint with the fewest *lifetime* requests, not the fewest in flight',
    since: 'all versions',
  },
  'sticky-health': {
    replays: 'qcc: a degraded endpoint gets no traffic again while a healthy one exists, so it never recovers (a primary that blinked once loses all traffic); default: after recoverAfterMs without a new failure it is tried again',
    since: 'all versions',
  },
  'default-profile-fallback': {
    replays: 'qcc (spec §3.2): when the cluster has nothing to offer, the request silently goes to settings.default_profile (its first endpoint not tried yet, whatever its health), outside the cluster; with the layout `qcc add` leaves, that is the first plain profile, so real qcc answers 200 where the cluster alone would say `All 0 endpoints failed`',
    since: 'f39a609 … 7ee81e9 (v0.6.1)',
  },
  'shared-client-reset': {
    replays: 'qcc v0.6.1 (§5.5): a transient error on one endpoint closes the shared client, failing requests in flight on every endpoint',
    since: '07a3e15 … v0.6.1',
  },
} as const satisfies Record<string, { replays: string; since: string }>

export type CompatSwitch = keyof typeof compatSwitches

export const compatPresets = {
  'qcc-0.6.1': [
    'queue-on-any-failure', 'queue-never-panics', 'buffered-streaming', 'drop-query', 'breaker-reset-on-timeout',
    'duplicate-auth-headers', 'stale-content-length', 'least-connections-lifetime', 'shared-client-reset', 'sticky-health',
    'midstream-silent-cut', 'default-profile-fallback',
  ],
  'qcc-aiohttp': [
    'lb-healthy-only', 'queue-on-any-failure', 'queue-never-panics', 'drop-query', 'duplicate-auth-headers', 'stale-content-length',
    'least-connections-lifetime', 'sticky-health', 'midstream-silent-cut', 'default-profile-fallback',
  ],
} as const satisfies Record<string, readonly CompatSwitch[]>

export type CompatPreset = keyof typeof compatPresets

export const compatNames = [...Object.keys(compatSwitches), ...Object.keys(compatPresets)] as Array<CompatSwitch | CompatPreset>

export function isCompatSwitch(name: string): name is CompatSwitch {
  return Object.hasOwn(compatSwitches, name)
}

/** Expands presets into switches. Returns the unknown names separately so the caller can say which. */
export function resolveCompat(names: readonly string[]): { switches: ReadonlySet<CompatSwitch>; unknown: string[] } {
  const switches = new Set<CompatSwitch>()
  const unknown: string[] = []
  for (const name of names) {
    if (isCompatSwitch(name)) switches.add(name)
    else if (Object.hasOwn(compatPresets, name)) for (const s of compatPresets[name as CompatPreset]) switches.add(s)
    else unknown.push(name)
  }
  return { switches, unknown }
}

export type Compat = ReadonlySet<CompatSwitch>
export const noCompat: Compat = new Set()
