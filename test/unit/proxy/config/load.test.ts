import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadProxyConfig, ConfigError } from '../../../../src/proxy/config/load.ts'
import { endpointId } from '../../../../src/proxy/config.ts'
import { qccCacheFor, qccLayouts } from '../../../../src/harness/runner/target.ts'

let dir: string
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-config-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

const file = async (name: string, text: string): Promise<string> => {
  const f = path.join(dir, name)
  await writeFile(f, text)
  return f
}

/** The shape of spec §1.2 (qcc's own writer). */
const qccCache = {
  user_id: 'local:alice',
  settings: { default_profile: 'work', test_model: 'claude-3-5-haiku-20241022', proxy_model_mode: 'passthrough' },
  profiles: {
    work: { name: 'work', priority: 'primary', enabled: true, base_url: 'https://api.example.com', api_key: 'sk-primary-0001' },
    prod: {
      name: 'prod', enabled: true,
      endpoints: [
        { base_url: 'https://api.example.com', api_key: 'sk-primary-0001', weight: 100, priority: 1, enabled: true, max_failures: 3, timeout: 30, source_profile: 'work', metadata: {} },
        { id: 'legacy01', base_url: 'https://relay.example.net/api', api_key: 'sk-secondary-0002', weight: 50, priority: 2, enabled: true, max_failures: 3, timeout: 30 },
      ],
      base_url: 'https://api.example.com', api_key: 'sk-primary-0001',
    },
  },
}

function problems(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('endpoint ids', () => {
  it('are sha256(base_url|api_key)[:8], matching the ids qcc wrote (spec §1.2)', () => {
    expect(endpointId('https://api.example.com', 'sk-primary-0001')).toBe('29a0dbab')
    expect(endpointId('https://relay.example.net/api', 'sk-secondary-0002')).toBe('9eae99f5')
  })
})

describe('qcc cache.json', () => {
  it('reads a cluster profile, keeping stored ids and computing the others', async () => {
    const f = await file('cache.json', JSON.stringify(qccCache))
    const { cluster, format } = loadProxyConfig(f, 'prod')
    expect(format).toBe('qcc-cache')
    expect(cluster.endpoints.map((e) => [e.id, e.baseUrl, e.priority, e.weight])).toEqual([
      [undefined, 'https://api.example.com', 1, 100],
      ['legacy01', 'https://relay.example.net/api', 2, 50],
    ])
    expect(cluster.verifier?.model).toBe('claude-3-5-haiku-20241022')
    expect(cluster.modelOverride).toBeUndefined()
  })

  it('treats a single-endpoint profile as a one-endpoint cluster, and reads override mode', async () => {
    const f = await file('cache2.json', JSON.stringify({ ...qccCache, settings: { proxy_model_mode: 'override', proxy_model_override: 'claude-x' } }))
    const { cluster } = loadProxyConfig(f, 'work')
    expect(cluster.endpoints).toEqual([{ baseUrl: 'https://api.example.com', apiKey: 'sk-primary-0001' }])
    expect(cluster.modelOverride).toBe('claude-x')
  })

  it('names the clusters it has when the one asked for is missing', async () => {
    const f = await file('cache3.json', JSON.stringify(qccCache))
    expect(problems(() => loadProxyConfig(f, 'nope'))).toBe(`${f}: profiles: no profile named "nope"; clusters here: prod`)
  })

  it('names a bad endpoint field', async () => {
    const bad = structuredClone(qccCache) as any
    bad.profiles.prod.endpoints[1].base_url = 'not a url'
    const f = await file('cache4.json', JSON.stringify(bad))
    expect(problems(() => loadProxyConfig(f, 'prod'))).toMatch(/profiles\.prod\.endpoints\[1\]\.base_url: /)
  })
})

describe('qcc cache.json as qcc writes and reads it', () => {
  const upstreams = [
    { name: 'relay-a', baseUrl: 'http://127.0.0.1:8001', apiKey: 'sk-a', priority: 1 },
    { name: 'relay-b', baseUrl: 'http://127.0.0.1:8002/api', apiKey: 'sk-b', priority: 2 },
    { baseUrl: 'http://127.0.0.1:8003', apiKey: 'sk-c', priority: 2 },
  ]

  it.each(qccLayouts)('reads the cluster out of the %s layout qcc-lab writes for target mode', async (layout) => {
    const f = await file(`layout-${layout}.json`, qccCacheFor('lab', upstreams, layout))
    const { cluster, format } = loadProxyConfig(f, 'lab')
    expect(format).toBe('qcc-cache')
    expect(cluster.name).toBe('lab')
    expect(cluster.endpoints.map((e) => [e.id ?? endpointId(e.baseUrl, e.apiKey), e.baseUrl, e.apiKey, e.priority, e.enabled, e.maxFailures])).toEqual([
      [endpointId('http://127.0.0.1:8001', 'sk-a'), 'http://127.0.0.1:8001', 'sk-a', 1, true, 3],
      [endpointId('http://127.0.0.1:8002/api', 'sk-b'), 'http://127.0.0.1:8002/api', 'sk-b', 2, true, 3],
      [endpointId('http://127.0.0.1:8003', 'sk-c'), 'http://127.0.0.1:8003', 'sk-c', 2, true, 3],
    ])
    expect(cluster.modelOverride).toBeUndefined()
    // The plain profiles `qcc add` wrote are single-endpoint profiles of their own.
    if (layout !== 'cluster-default') {
      expect(loadProxyConfig(f, 'relay-b').cluster.endpoints).toEqual([{ baseUrl: 'http://127.0.0.1:8002/api', apiKey: 'sk-b' }])
      expect(loadProxyConfig(f, 'endpoint-3').cluster.endpoints).toEqual([{ baseUrl: 'http://127.0.0.1:8003', apiKey: 'sk-c' }])
    }
  })

  it('takes null as absent everywhere, and max_failures 0', async () => {
    const f = await file('nulls.json', JSON.stringify({
      user_id: null,
      settings: { default_profile: null, auto_sync: null, test_model: null, proxy_model_mode: null, proxy_model_override: null, storage_backend_type: null },
      profiles: {
        plain: { name: 'plain', description: null, priority: null, enabled: null, created_at: null, last_used: null, base_url: 'https://plain.example.com', api_key: 'sk-plain', endpoints: null },
        empty: { name: 'empty', description: null, last_used: null, base_url: null, api_key: null, endpoints: null },
        lab: {
          name: 'lab', description: null, priority: 'primary', enabled: true, created_at: null, last_used: null, base_url: null, api_key: null,
          endpoints: [
            { id: null, base_url: 'https://a.example.com', api_key: 'sk-a', weight: null, priority: null, enabled: null, max_failures: null, timeout: null, source_profile: null, metadata: null, created_at: null },
            { id: 'kept0001', base_url: 'https://b.example.com', api_key: 'sk-b', weight: 7, priority: 2, enabled: false, max_failures: 0, timeout: 30 },
          ],
        },
      },
    }))
    const { cluster } = loadProxyConfig(f, 'lab')
    expect(cluster.endpoints).toEqual([
      { id: undefined, baseUrl: 'https://a.example.com', apiKey: 'sk-a', weight: undefined, priority: undefined, enabled: undefined, maxFailures: undefined },
      { id: 'kept0001', baseUrl: 'https://b.example.com', apiKey: 'sk-b', weight: 7, priority: 2, enabled: false, maxFailures: 0 },
    ])
    expect(cluster.verifier).toBeUndefined()
    expect(cluster.modelOverride).toBeUndefined()
    expect(loadProxyConfig(f, 'plain').cluster.endpoints).toEqual([{ baseUrl: 'https://plain.example.com', apiKey: 'sk-plain' }])
    expect(problems(() => loadProxyConfig(f, 'empty'))).toMatch(/profiles\.empty: has no endpoints and no base_url\/api_key/)
    expect(problems(() => loadProxyConfig(f, 'nope'))).toMatch(/clusters here: lab$/)
  })

  it('still rejects a negative max_failures, naming the field', async () => {
    const bad = structuredClone(qccCache) as any
    bad.profiles.prod.endpoints[0].max_failures = -1
    const f = await file('cache-negative.json', JSON.stringify(bad))
    expect(problems(() => loadProxyConfig(f, 'prod'))).toMatch(/profiles\.prod\.endpoints\[0\]\.max_failures: /)
  })
})

describe('qcc-lab config files', () => {
  it('reads a YAML cluster with per-cluster and per-endpoint settings, and keys from the environment', async () => {
    const f = await file('lab.yaml', `
port: 7999
clusters:
  main:
    strategy: weighted
    connector: { profile: tuned-keepalive, idleTimeoutMs: 2000, headersTimeoutMs: 60000 }
    attempts: { max: 3 }
    breaker: { threshold: 5, openMs: 30000 }
    compat: [qcc-0.6.1]
    endpoints:
      - baseUrl: https://a.example.com
        apiKeyEnv: RELAY_A_KEY
        weight: 3
      - baseUrl: https://b.example.com
        apiKey: sk-b
        connector: force-close
`)
    const loaded = loadProxyConfig(f, 'main', { RELAY_A_KEY: 'sk-from-env' })
    expect(loaded.port).toBe(7999)
    expect(loaded.cluster).toMatchObject({
      strategy: 'weighted', attempts: { max: 3 }, breaker: { threshold: 5, openMs: 30_000 }, compat: ['qcc-0.6.1'],
      connector: { profile: 'tuned-keepalive', overrides: { idleTimeoutMs: 2000, headersTimeoutMs: 60_000 } },
    })
    expect(loaded.cluster.endpoints.map((e) => [e.apiKey, e.weight, e.connector])).toEqual([
      ['sk-from-env', 3, undefined],
      ['sk-b', undefined, { profile: 'force-close' }],
    ])
  })

  it('imports endpoints from a qcc profile and overrides one by id', async () => {
    const cache = await file('cache5.json', JSON.stringify(qccCache))
    const f = await file('import.yaml', `
clusters:
  prod:
    qcc: { cache: ${cache}, profile: prod }
    endpointOverrides:
      legacy01: { connector: naive-keepalive, priority: 9 }
`)
    const { cluster } = loadProxyConfig(f, 'prod')
    expect(cluster.endpoints[1]).toMatchObject({ id: 'legacy01', priority: 9, connector: { profile: 'naive-keepalive' } })
    expect(cluster.endpoints[0]!.connector).toBeUndefined()
  })

  it.each([
    ['an unknown field', 'clusters:\n  c:\n    endpoints: [{ baseUrl: "https://a.example.com", apiKey: k }]\n    stratgy: random\n', /clusters\.c\.stratgy: unknown field/],
    ['a bad URL', 'clusters:\n  c:\n    endpoints: [{ baseUrl: "relay", apiKey: k }]\n', /clusters\.c\.endpoints\[0\]\.baseUrl: expected an http:\/\/ or https:\/\/ URL/],
    ['an unknown strategy', 'clusters:\n  c:\n    strategy: fastest\n    endpoints: [{ baseUrl: "https://a.example.com", apiKey: k }]\n', /clusters\.c\.strategy: expected one of "priority_failover"/],
    ['an unknown compat switch', 'clusters:\n  c:\n    compat: [lb-healthy]\n    endpoints: [{ baseUrl: "https://a.example.com", apiKey: k }]\n', /clusters\.c\.compat: unknown compat switch "lb-healthy"/],
    ['a missing environment variable', 'clusters:\n  c:\n    endpoints: [{ baseUrl: "https://a.example.com", apiKeyEnv: NOT_SET_ANYWHERE }]\n', /clusters\.c\.endpoints\[0\]\.apiKeyEnv: the environment variable NOT_SET_ANYWHERE is not set/],
    ['no key at all', 'clusters:\n  c:\n    endpoints: [{ baseUrl: "https://a.example.com" }]\n', /clusters\.c\.endpoints\[0\]: set exactly one of apiKey or apiKeyEnv/],
    ['neither endpoints nor qcc', 'clusters:\n  c:\n    strategy: random\n', /clusters\.c: set exactly one of endpoints/],
    ['a negative open time', 'clusters:\n  c:\n    breaker: { openMs: -1 }\n    endpoints: [{ baseUrl: "https://a.example.com", apiKey: k }]\n', /clusters\.c\.breaker\.openMs: expected zero or a positive number/],
    ['an unknown cluster', 'clusters:\n  other:\n    endpoints: [{ baseUrl: "https://a.example.com", apiKey: k }]\n', /clusters: no cluster named "c"; this file has other/],
    ['bad YAML', 'clusters: [\n', /line \d+, column \d+: invalid YAML/],
  ])('rejects %s, naming the file and the field', async (_label, text, pattern) => {
    const f = await file(`bad-${Math.random().toString(36).slice(2)}.yaml`, text)
    const message = problems(() => loadProxyConfig(f, 'c', {}))
    expect(message.startsWith(`${f}: `)).toBe(true)
    expect(message).toMatch(pattern)
  })

  it('says when the file does not exist', () => {
    expect(problems(() => loadProxyConfig(path.join(dir, 'missing.yaml'), 'c'))).toMatch(/missing\.yaml: cannot read the file: it does not exist/)
  })
})

describe('base URLs, duplicate ids and own-property lookups', () => {
  const lab = (endpoints: string, extra = ''): string => `clusters:\n  c:\n${extra}    endpoints:\n${endpoints}`

  it.each([
    ['ftp://', 'ftp://relay.example.com', /clusters\.c\.endpoints\[0\]\.baseUrl: expected an http:\/\/ or https:\/\/ URL such as https:\/\/relay\.example\.com, not "ftp:"/],
    ['file://', 'file:///etc/passwd', /clusters\.c\.endpoints\[0\]\.baseUrl: expected an http:\/\/ or https:\/\/ URL .*not "file:"/],
    ['no host', 'http://', /clusters\.c\.endpoints\[0\]\.baseUrl: expected an http:\/\/ or https:\/\/ URL/],
  ])('refuses a %s base URL in a qcc-lab config, naming the field', async (_label, url, pattern) => {
    const f = await file(`url-${Math.random().toString(36).slice(2)}.yaml`, lab(`      - { baseUrl: "${url}", apiKey: k }\n`))
    expect(problems(() => loadProxyConfig(f, 'c', {}))).toMatch(pattern)
  })

  it.each([
    ['an endpoint', (c: any) => { c.profiles.prod.endpoints[1].base_url = 'ftp://relay.example.net' }, 'prod', /profiles\.prod\.endpoints\[1\]\.base_url: expected an http:\/\/ or https:\/\/ URL .*not "ftp:"/],
    ['a plain profile', (c: any) => { c.profiles.work.base_url = 'file:///etc/passwd' }, 'work', /profiles\.work\.base_url: expected an http:\/\/ or https:\/\/ URL .*not "file:"/],
  ])('refuses a non-http base URL of %s in cache.json, naming the field', async (_label, change, cluster, pattern) => {
    const bad = structuredClone(qccCache) as any
    change(bad)
    const f = await file(`cache-url-${cluster}.json`, JSON.stringify(bad))
    expect(problems(() => loadProxyConfig(f, cluster))).toMatch(pattern)
  })

  it('validates only the profiles that make up the cluster, as qcc reads only those', async () => {
    const f = await file('cache-other-bad.json', JSON.stringify({ ...qccCache, profiles: { ...qccCache.profiles, old: { endpoints: [{ base_url: 'ftp://x', api_key: 5 }] }, odd: 'not a profile' } }))
    expect(loadProxyConfig(f, 'prod').cluster.endpoints).toHaveLength(2)
  })

  it('refuses two endpoints with one stored id in cache.json, naming both', async () => {
    const bad = structuredClone(qccCache) as any
    bad.profiles.prod.endpoints[0].id = 'legacy01'
    const f = await file('cache-dup-id.json', JSON.stringify(bad))
    expect(problems(() => loadProxyConfig(f, 'prod'))).toBe(`${f}: profiles.prod.endpoints[1].id: "legacy01" is also the id of profiles.prod.endpoints[0]; endpoint ids must be unique in a cluster (the failure queue, breaker and stats are keyed by id). Give one of them another id, or remove the duplicate`)
  })

  it('refuses the same base_url and api_key twice in cache.json (one computed id), naming both', async () => {
    const bad = structuredClone(qccCache) as any
    bad.profiles.prod.endpoints[1] = { base_url: 'https://api.example.com', api_key: 'sk-primary-0001' }
    const f = await file('cache-dup-hash.json', JSON.stringify(bad))
    expect(problems(() => loadProxyConfig(f, 'prod'))).toMatch(/profiles\.prod\.endpoints\[1\]: has the same base_url and api_key as profiles\.prod\.endpoints\[0\], so the same id 29a0dbab; .*Remove one of the two/)
  })

  it('refuses duplicate ids in a qcc-lab config, stored or computed, naming both', async () => {
    const stored = await file('lab-dup-id.yaml', lab('      - { id: aaaaaaaa, baseUrl: "https://a.example.com", apiKey: k }\n      - { id: aaaaaaaa, baseUrl: "https://b.example.com", apiKey: k }\n'))
    expect(problems(() => loadProxyConfig(stored, 'c', {}))).toMatch(/clusters\.c\.endpoints\[1\]\.id: "aaaaaaaa" is also the id of clusters\.c\.endpoints\[0\]/)
    const computed = await file('lab-dup-hash.yaml', lab('      - { baseUrl: "https://a.example.com", apiKeyEnv: KEY_A }\n      - { baseUrl: "https://a.example.com", apiKey: same }\n'))
    expect(problems(() => loadProxyConfig(computed, 'c', { KEY_A: 'same' }))).toMatch(/clusters\.c\.endpoints\[1\]: has the same baseUrl and key as clusters\.c\.endpoints\[0\], so the same id [0-9a-f]{8}/)
    // Different keys from the environment: different ids, fine.
    expect(loadProxyConfig(computed, 'c', { KEY_A: 'other' }).cluster.endpoints).toHaveLength(2)
  })

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('looks up --cluster %s among the file\'s own clusters and profiles only', async (name) => {
    const labFile = await file(`own-${name}.yaml`, lab('      - { baseUrl: "https://a.example.com", apiKey: k }\n'))
    expect(problems(() => loadProxyConfig(labFile, name, {}))).toBe(`${labFile}: clusters: no cluster named "${name}"; this file has c`)
    const cache = await file(`own-${name}.json`, JSON.stringify(qccCache))
    expect(problems(() => loadProxyConfig(cache, name))).toBe(`${cache}: profiles: no profile named "${name}"; clusters here: prod`)
  })

  it('looks up an imported qcc profile by own property too', async () => {
    const cache = await file('own-import.json', JSON.stringify(qccCache))
    const f = await file('own-import.yaml', `clusters:\n  main:\n    qcc: { cache: ${JSON.stringify(cache)}, profile: toString }\n`)
    expect(problems(() => loadProxyConfig(f, 'main'))).toBe(`${cache}: profiles: no profile named "toString"; clusters here: prod`)
  })

  it('refuses an endpointOverrides id that matches no imported endpoint, and overrides without qcc', async () => {
    const cache = await file('override-cache.json', JSON.stringify(qccCache))
    const f = await file('override-unknown.yaml', `clusters:\n  prod:\n    qcc: { cache: ${JSON.stringify(cache)}, profile: prod }\n    endpointOverrides:\n      legacy02: { priority: 9 }\n`)
    expect(problems(() => loadProxyConfig(f, 'prod'))).toMatch(/clusters\.prod\.endpointOverrides\.legacy02: no imported endpoint has this id; the ids of "prod" are 29a0dbab, legacy01/)
    const g = await file('override-no-qcc.yaml', lab('      - { baseUrl: "https://a.example.com", apiKey: k }\n', '    endpointOverrides: { aaaaaaaa: { priority: 2 } }\n'))
    expect(problems(() => loadProxyConfig(g, 'c', {}))).toMatch(/clusters\.c\.endpointOverrides: applies to endpoints imported with qcc only/)
  })
})

describe('durations and counts in a qcc-lab config', () => {
  const ep = '    endpoints: [{ baseUrl: "https://a.example.com", apiKey: k }]\n'
  const timer = /expected at most 2147483647 ms \(2\^31-1, about 24\.8 days: Node fires a longer timer after 1 ms\)/
  it.each([
    ['verifier.intervalMs', '    verifier: { intervalMs: 3000000000 }\n', /clusters\.c\.verifier\.intervalMs: /, timer],
    ['verifier.timeoutMs', '    verifier: { timeoutMs: 2147483648 }\n', /clusters\.c\.verifier\.timeoutMs: /, timer],
    ['breaker.openMs', '    breaker: { openMs: 1e12 }\n', /clusters\.c\.breaker\.openMs: /, timer],
    ['recoverAfterMs', '    recoverAfterMs: 3000000000\n', /clusters\.c\.recoverAfterMs: /, timer],
    ['affinityTtlMs', '    affinityTtlMs: 3000000000\n', /clusters\.c\.affinityTtlMs: /, timer],
    ['connector.idleTimeoutMs', '    connector: { profile: tuned-keepalive, idleTimeoutMs: 3000000000 }\n', /clusters\.c\.connector\.idleTimeoutMs: /, timer],
    ['connector.headersTimeoutMs', '    connector: { profile: force-close, headersTimeoutMs: 3000000000 }\n', /clusters\.c\.connector\.headersTimeoutMs: /, timer],
    ['connector.bodyTimeoutMs', '    connector: { profile: force-close, bodyTimeoutMs: 3000000000 }\n', /clusters\.c\.connector\.bodyTimeoutMs: /, timer],
    ['connector.connectTimeoutMs', '    connector: { profile: force-close, connectTimeoutMs: 3000000000 }\n', /clusters\.c\.connector\.connectTimeoutMs: /, timer],
    ['connector.maxIdleTimeoutMs', '    connector: { profile: tuned-keepalive, maxIdleTimeoutMs: 3000000000 }\n', /clusters\.c\.connector\.maxIdleTimeoutMs: /, timer],
    ['connector.hintMarginMs', '    connector: { profile: tuned-keepalive, hintMarginMs: 3000000000 }\n', /clusters\.c\.connector\.hintMarginMs: /, timer],
    ['connector.connections', '    connector: { profile: tuned-keepalive, connections: 1000000 }\n', /clusters\.c\.connector\.connections: /, /expected at most 10000 connections per endpoint, or null for no limit/],
    ['breaker.threshold', '    breaker: { threshold: 1000000000 }\n', /clusters\.c\.breaker\.threshold: /, /expected at most 1000000/],
    ['verifier.intervalMs 0', '    verifier: { intervalMs: 0 }\n', /clusters\.c\.verifier\.intervalMs: /, /expected a positive number/],
    ['a fractional duration', '    recoverAfterMs: 1.5\n', /clusters\.c\.recoverAfterMs: /, /expected a whole number/],
  ])('refuses %s out of range, naming the field', async (_label, setting, field, expected) => {
    const f = await file(`range-${Math.random().toString(36).slice(2)}.yaml`, `clusters:\n  c:\n${setting}${ep}`)
    const message = problems(() => loadProxyConfig(f, 'c', {}))
    expect(message).toMatch(field)
    expect(message).toMatch(expected)
  })

  it.each([
    ['maxFailures', 'maxFailures: 2000000', /clusters\.c\.endpoints\[0\]\.maxFailures: expected at most 1000000/],
    ['weight', 'weight: 1e9', /clusters\.c\.endpoints\[0\]\.weight: expected at most 1000000/],
    ['priority', 'priority: -1', /clusters\.c\.endpoints\[0\]\.priority: expected zero or a positive number/],
    ['an endpoint connector timer', 'connector: { profile: force-close, headersTimeoutMs: 3000000000 }', /clusters\.c\.endpoints\[0\]\.connector\.headersTimeoutMs: expected at most 2147483647 ms/],
  ])('refuses an endpoint %s out of range', async (_label, field, pattern) => {
    const f = await file(`ep-range-${Math.random().toString(36).slice(2)}.yaml`, `clusters:\n  c:\n    endpoints:\n      - { baseUrl: "https://a.example.com", apiKey: k, ${field} }\n`)
    expect(problems(() => loadProxyConfig(f, 'c', {}))).toMatch(pattern)
  })

  it('accepts the largest timer Node can hold', async () => {
    const f = await file('range-max.yaml', `clusters:\n  c:\n    verifier: { intervalMs: 2147483647 }\n    breaker: { openMs: 2147483647 }\n    connector: { profile: tuned-keepalive, idleTimeoutMs: 2147483647 }\n${ep}`)
    expect(loadProxyConfig(f, 'c', {}).cluster.verifier?.intervalMs).toBe(2 ** 31 - 1)
  })

  it('lists every problem of the file at once', async () => {
    const f = await file('range-all.yaml', `clusters:\n  c:\n    verifier: { intervalMs: 3000000000 }\n    breaker: { openMs: 3000000000 }\n    endpoints: [{ baseUrl: "ftp://a.example.com", apiKey: k }]\n`)
    const lines = problems(() => loadProxyConfig(f, 'c', {})).split('\n')
    expect(lines).toHaveLength(3)
    expect(lines.every((l) => l.startsWith(`${f}: clusters.c.`))).toBe(true)
  })
})

describe('unsafe config files', () => {
  it('refuses a directory and a file over the size limit before reading them', async () => {
    const { mkdir, truncate } = await import('node:fs/promises')
    const d = path.join(dir, 'a-dir.yaml')
    await mkdir(d)
    expect(problems(() => loadProxyConfig(d, 'c'))).toBe(`${d}: is a directory, not a regular file. Give the path of a qcc-lab proxy config (YAML or JSON) or qcc cache.json.`)
    const big = await file('big.json', '')
    await truncate(big, 9 * 1024 * 1024)
    expect(problems(() => loadProxyConfig(big, 'c'))).toBe(`${big}: is 9.0 MiB; a qcc-lab proxy config (YAML or JSON) or qcc cache.json is at most 8.0 MiB. Check that this is the right file.`)
    const bigYaml = await file('big.yaml', '')
    await truncate(bigYaml, 2 * 1024 * 1024)
    expect(problems(() => loadProxyConfig(bigYaml, 'c'))).toMatch(/big\.yaml: is 2\.0 MiB; .* is at most 1\.0 MiB\./)
  })

  it('refuses a YAML alias bomb with a plain problem', async () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x]']
    for (let i = 1; i < 10; i++) lines.push(`${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(9).fill(`*${'abcdefghij'[i - 1]}`).join(', ')}]`)
    const f = await file('bomb.yaml', `${lines.join('\n')}\n`)
    expect(problems(() => loadProxyConfig(f, 'c'))).toBe(`${f}: invalid YAML: its aliases (*name) expand to more than 100 values. Write the values out instead of nesting aliases.`)
  })

  it('says when endpoint_groups.json was given instead of cache.json', async () => {
    // In a folder of its own: next to the other tests' cache.json files it would be read as their groups.
    const { mkdir } = await import('node:fs/promises')
    await mkdir(path.join(dir, 'groups-as-config'))
    const f = await file('groups-as-config/endpoint_groups.json', JSON.stringify({ version: '1.0', groups: {} }))
    expect(problems(() => loadProxyConfig(f, 'c'))).toMatch(/\(root\): this is qcc's endpoint_groups\.json, not a config; pass the cache\.json next to it/)
  })
})
