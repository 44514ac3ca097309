/**
 * qcc's EndpointGroups (`~/.fastcc/endpoint_groups.json`, next to cache.json) as `qcc proxy start
 * --cluster NAME` reads them (spec §1.5 step 2a): a group of that name first, then a profile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadProxyConfig, ConfigError } from '../../../../src/proxy/config/load.ts'
import { endpointId } from '../../../../src/proxy/config.ts'

let root: string
beforeAll(async () => { root = await mkdtemp(path.join(tmpdir(), 'qcc-lab-groups-')) })
afterAll(async () => { await rm(root, { recursive: true, force: true }) })

/** The shape of spec §1.2 plus a plain secondary and an empty profile. */
const cache = {
  user_id: 'local:alice',
  settings: { default_profile: 'work', test_model: 'claude-3-5-haiku-20241022', proxy_model_mode: 'passthrough' },
  profiles: {
    work: { name: 'work', priority: 'primary', enabled: true, base_url: 'https://api.example.com', api_key: 'sk-primary-0001' },
    backup: { name: 'backup', base_url: 'https://relay.example.net/api', api_key: 'sk-secondary-0002', endpoints: null },
    prod: {
      name: 'prod',
      endpoints: [
        { id: '29a0dbab', base_url: 'https://api.example.com', api_key: 'sk-primary-0001', weight: 100, priority: 7, enabled: true, max_failures: 3 },
        { base_url: 'https://c.example.com', api_key: 'sk-c-0003', weight: 5, priority: 9, max_failures: 0 },
      ],
      base_url: 'https://api.example.com', api_key: 'sk-primary-0001',
    },
    empty: { name: 'empty', base_url: null, api_key: null },
  },
}

/** A group as `EndpointGroup.to_dict` writes it. */
const group = (name: string, primary: unknown, secondary: unknown = []) => ({
  id: '6754af96', name, description: '', primary_configs: primary, secondary_configs: secondary, enabled: false, metadata: {},
  created_at: '2025-10-19T10:00:00', updated_at: '2025-10-19T10:00:00',
})

let n = 0
/** A folder with cache.json and (unless `groups` is undefined) endpoint_groups.json; returns cache.json's path. */
async function home(groups: unknown, cacheData: unknown = cache): Promise<{ cacheFile: string; groupsFile: string }> {
  const d = path.join(root, `home-${n++}`)
  await mkdir(d)
  const cacheFile = path.join(d, 'cache.json')
  const groupsFile = path.join(d, 'endpoint_groups.json')
  await writeFile(cacheFile, JSON.stringify(cacheData, null, 2))
  if (groups !== undefined) await writeFile(groupsFile, typeof groups === 'string' ? groups : JSON.stringify(groups, null, 2))
  return { cacheFile, groupsFile }
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

const groupsFile = (groups: Record<string, unknown>) => ({ version: '1.0', last_updated: '2025-10-19T10:00:00', groups })

describe('EndpointGroups as clusters', () => {
  it('builds the cluster from the group: primaries at priority 1 (a cluster profile\'s endpoints, a plain profile\'s url/key), secondaries at 2', async () => {
    const { cacheFile } = await home(groupsFile({ ha: group('ha', ['prod'], ['backup']) }))
    const loaded = loadProxyConfig(cacheFile, 'ha')
    expect(loaded.format).toBe('qcc-cache')
    expect(loaded.warnings).toEqual([])
    expect(loaded.cluster.name).toBe('ha')
    expect(loaded.cluster.endpoints.map((e) => [e.id ?? endpointId(e.baseUrl, e.apiKey), e.baseUrl, e.priority, e.weight, e.maxFailures])).toEqual([
      ['29a0dbab', 'https://api.example.com', 1, 100, 3],
      [endpointId('https://c.example.com', 'sk-c-0003'), 'https://c.example.com', 1, 5, 0],
      [endpointId('https://relay.example.net/api', 'sk-secondary-0002'), 'https://relay.example.net/api', 2, undefined, undefined],
    ])
    // settings still apply
    expect(loaded.cluster.verifier?.model).toBe('claude-3-5-haiku-20241022')
  })

  it('looks the group up first: a group and a profile of the same name give the group', async () => {
    const { cacheFile } = await home(groupsFile({ work: group('work', ['backup']) }))
    expect(loadProxyConfig(cacheFile, 'work').cluster.endpoints).toEqual([{ baseUrl: 'https://relay.example.net/api', apiKey: 'sk-secondary-0002', priority: 1 }])
    // A name that is no group is a profile, as before.
    expect(loadProxyConfig(cacheFile, 'prod').cluster.endpoints.map((e) => e.priority)).toEqual([7, 9])
  })

  it('reads the groups file next to the cache.json it was given, and runs without one', async () => {
    const { cacheFile } = await home(undefined)
    expect(loadProxyConfig(cacheFile, 'prod').cluster.endpoints).toHaveLength(2)
    expect(problems(() => loadProxyConfig(cacheFile, 'ha'))).toBe(`${cacheFile}: profiles: no profile named "ha"; clusters here: prod`)
  })

  it('skips a listed profile that does not exist, as qcc does, and says so in a warning', async () => {
    const { cacheFile, groupsFile: g } = await home(groupsFile({ ha: group('ha', ['gone', 'work'], ['empty']) }))
    const loaded = loadProxyConfig(cacheFile, 'ha')
    expect(loaded.cluster.endpoints).toEqual([{ baseUrl: 'https://api.example.com', apiKey: 'sk-primary-0001', priority: 1 }])
    expect(loaded.warnings).toEqual([
      `${g}: groups.ha.primary_configs[0]: no profile named "gone" in cache.json; skipped, as qcc does`,
      `${g}: groups.ha.secondary_configs[0]: profile "empty" has no endpoints and no base_url/api_key; skipped`,
    ])
  })

  it('ignores the group\'s enabled flag, as proxy start does', async () => {
    const { cacheFile } = await home(groupsFile({ ha: { ...group('ha', ['work']), enabled: false } }))
    expect(loadProxyConfig(cacheFile, 'ha').cluster.endpoints).toHaveLength(1)
  })

  it('imports a group into a qcc-lab config with qcc: { profile }', async () => {
    const { cacheFile } = await home(groupsFile({ ha: group('ha', ['work'], ['backup']) }))
    const lab = path.join(path.dirname(cacheFile), 'lab.yaml')
    await writeFile(lab, `clusters:\n  main:\n    qcc: { cache: ${JSON.stringify(cacheFile)}, profile: ha }\n    strategy: round_robin\n`)
    const loaded = loadProxyConfig(lab, 'main')
    expect(loaded.format).toBe('qcc-lab')
    expect(loaded.cluster.endpoints.map((e) => e.priority)).toEqual([1, 2])
  })
})

describe('EndpointGroups that cannot be served', () => {
  it.each([
    ['a group with no endpoints', { ha: group('ha', ['gone', 'empty']) }, 'ha', 'groups',
      'groups.ha: the EndpointGroup gives no endpoints (it lists primary_configs[0] "gone" (no such profile), primary_configs[1] "empty" (no endpoints and no base_url/api_key)). Add to primary_configs the names of profiles in cache.json that have endpoints or a base_url and api_key'],
    ['a group with empty lists', { ha: group('ha', [], null) }, 'ha', 'groups', 'groups.ha: the EndpointGroup gives no endpoints (its primary_configs and secondary_configs are empty). Add to primary_configs'],
    ['primary_configs that is not a list', { ha: group('ha', 'prod') }, 'ha', 'groups', 'groups.ha.primary_configs: expected an array, got string'],
    ['a profile name that is not a string', { ha: group('ha', ['prod', 3]) }, 'ha', 'groups', 'groups.ha.primary_configs[1]: expected a string, got number'],
    ['a group that is not an object', { ha: 'prod' }, 'ha', 'groups', 'groups.ha: expected an object, got string'],
    ['one endpoint brought in by two profiles', { ha: group('ha', ['prod'], ['work']) }, 'ha', 'groups',
      'groups.ha.secondary_configs[0]: adds endpoint 29a0dbab (profiles.work), which primary_configs[0] already adds (profiles.prod.endpoints[0]); endpoint ids must be unique in a cluster'],
    ['one profile listed twice', { ha: group('ha', ['work'], ['work']) }, 'ha', 'groups', 'groups.ha.secondary_configs[0]: adds endpoint'],
    ['an unknown name', { ha: group('ha', ['work']) }, 'nope', 'cache', 'profiles: no EndpointGroup or profile named "nope"; EndpointGroups in endpoint_groups.json: ha; clusters here: prod'],
    ['__proto__ as a name', { ha: group('ha', ['work']) }, '__proto__', 'cache', 'profiles: no EndpointGroup or profile named "__proto__"'],
  ])('refuses %s, naming the file and the field', async (_label, groups, name, where, expected) => {
    const { cacheFile, groupsFile: g } = await home(groupsFile(groups as Record<string, unknown>))
    const message = problems(() => loadProxyConfig(cacheFile, name))
    expect(message.startsWith(`${where === 'groups' ? g : cacheFile}: ${expected}`), message).toBe(true)
  })

  it('names cache.json and the field when a profile of the group is bad', async () => {
    const bad = structuredClone(cache) as any
    bad.profiles.work.base_url = 'ftp://api.example.com'
    bad.profiles.prod.endpoints[1].api_key = ''
    const { cacheFile } = await home(groupsFile({ ha: group('ha', ['work'], ['prod']) }), bad)
    expect(problems(() => loadProxyConfig(cacheFile, 'ha')).split('\n')).toEqual([
      `${cacheFile}: profiles.work.base_url: expected an http:// or https:// URL such as https://relay.example.com, not "ftp:" (the proxy forwards over HTTP only)`,
      `${cacheFile}: profiles.prod.endpoints[1].api_key: expected at least 1 character(s)`,
    ])
  })

  it.each([
    ['not JSON', '{"groups": {', /: invalid JSON: .*qcc-lab reads the EndpointGroups next to cache\.json first, as qcc does; fix or remove this file/],
    ['a list', '[]', /: \(root\): expected an object \{"version": "1\.0", "groups": \{name: group\}\} as qcc writes it/],
    ['groups that is a list', '{"version":"1.0","groups":[]}', /: groups: expected a mapping of names to entries/],
  ])('refuses an endpoint_groups.json that is %s, naming it, even for a profile cluster', async (_label, text, pattern) => {
    const { cacheFile, groupsFile: g } = await home(text)
    const message = problems(() => loadProxyConfig(cacheFile, 'prod'))
    expect(message.startsWith(`${g}: `)).toBe(true)
    expect(message).toMatch(pattern)
  })

  it('refuses an endpoint_groups.json that is a directory, naming it', async () => {
    const { cacheFile, groupsFile: g } = await home(undefined)
    await mkdir(g)
    expect(problems(() => loadProxyConfig(cacheFile, 'prod'))).toBe(`${g}: is a directory, not a regular file. Give the path of a qcc endpoint_groups.json file. (qcc-lab reads the EndpointGroups next to cache.json first, as qcc does; fix or remove this file)`)
  })
})
