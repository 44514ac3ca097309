/**
 * Malformed input through the real CLI (`node bin/qcc-lab.js …`, NO_COLOR=1): scenarios, proxy configs
 * (qcc's cache.json and endpoint_groups.json, qcc-lab YAML), target profiles, bench reports and flags.
 * Each case must end in exit 2 with a stderr that names the file (where there is one) and the field,
 * says what was expected or how to fix it, and carries no stack trace.
 *
 * A case is one row of the table: `[label, args, expected stderr parts, options]`. In args and
 * expected parts, `@name` is the file `name` of the table of files below (created once, in a temp
 * folder). Nothing here starts a run or a listening proxy: bad input is caught at load, before anything
 * starts; every child is killed after 15 s anyway (a FIFO read that blocks would end there, failing).
 *
 * The CLI runs in this process (runCliInProcess: the CLI's own runCommand, stdout and stderr captured,
 * a few ms a case instead of a Node start), except for the FIFO cases, which always get a real child
 * (a blocking FIFO read would block this process, where no timeout can end it); a sample of the other
 * cases also runs in a real child and must answer exactly as in-process (same exit code, stdout, stderr).
 */
import { afterAll, beforeAll, describe, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { childAndInProcess, runCli, runCliInProcess, type CliResult } from '../helpers/cli.ts'

let dir: string

// ---------------------------------------------------------------------------------------------------
// Inputs

/** A valid scenario; cases change one thing. */
const scenario = `description: a test scenario
upstreams:
  - name: relay-a
    faults:
      - kind: idle-close
        idleMs: 400
workload:
  requests: 4
  pacing:
    burst: 2
    gapOfIdle: 0.5
variants:
  - name: naive
    connector: naive-keepalive
    expect:
      - failures.total == 0
      - name: reuse
        check: upstream.connections < requests
`
const scn = (from: string | RegExp, to: string): string => {
  const out = scenario.replace(from, to)
  if (out === scenario) throw new Error(`scenario edit did not apply: ${String(from)}`)
  return out
}

/** A YAML file whose aliases expand to 9^10 values. */
const aliasBomb = (() => {
  const names = 'abcdefghij'
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x]']
  for (let i = 1; i < names.length; i++) lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(', ')}]`)
  return `${lines.join('\n')}\n`
})()

const lab = (settings = '', endpoints = '      - { baseUrl: "https://a.example.com", apiKey: sk-test-0001 }\n'): string =>
  `clusters:\n  main:\n${settings}    endpoints:\n${endpoints}`

/** qcc's cache.json (spec §1.2). */
const cache = () => ({
  user_id: 'local:alice',
  settings: { default_profile: 'work', test_model: 'claude-3-5-haiku-20241022', proxy_model_mode: 'passthrough' },
  profiles: {
    work: { name: 'work', priority: 'primary', enabled: true, base_url: 'https://api.example.com', api_key: 'sk-primary-0001' },
    backup: { name: 'backup', base_url: 'https://relay.example.net/api', api_key: 'sk-secondary-0002' },
    prod: {
      name: 'prod',
      endpoints: [
        { id: '29a0dbab', base_url: 'https://api.example.com', api_key: 'sk-primary-0001', weight: 100, priority: 1, enabled: true, max_failures: 3, timeout: 30 },
        { id: '9eae99f5', base_url: 'https://relay.example.net/api', api_key: 'sk-secondary-0002', weight: 100, priority: 2, enabled: true, max_failures: 3, timeout: 30 },
      ],
      base_url: 'https://api.example.com', api_key: 'sk-primary-0001',
    },
    bare: { name: 'bare', base_url: null, api_key: null },
  },
})
const cacheWith = (change: (c: any) => void): string => {
  const c = cache()
  change(c)
  return JSON.stringify(c, null, 2)
}
const groups = (g: Record<string, unknown>): string => JSON.stringify({ version: '1.0', last_updated: '2025-10-19T10:00:00', groups: g })
const group = (primary: unknown, secondary: unknown = []) => ({ id: '6754af96', name: 'g', description: '', primary_configs: primary, secondary_configs: secondary, enabled: true, metadata: {} })

/** A valid bench report. */
const report = () => {
  const result = (target: string, rps: number) => ({
    id: `http/json/c64/rtt0/${target}`, target, protocol: 'http', payload: 'json', concurrency: 64, rttMs: 0,
    rounds: [1, 2, 3].map(() => ({ requests: rps, rps, p50: 20, p90: 40, p99: 80, ttfbP50: 20, errors: {}, connectionsPerRequest: 0, handshakesPerRequest: 0, clientCpuCores: 0.3 })),
    median: { requests: rps, rps, p50: 20, p90: 40, p99: 80, ttfbP50: 20, errors: 0, connectionsPerRequest: 0, handshakesPerRequest: 0, clientCpuCores: 0.3 },
    spread: { rps: 0.08, p50: 0.05, p90: 0.1, p99: 0.3, ttfbP50: 0.05 },
  })
  return {
    schema: 'qcc-lab/bench-report@1', createdAt: '2026-11-26T00:00:00Z', mode: 'quick', settings: { rounds: 5, roundMs: 500, warmupMs: 1000 },
    environment: { node: '24', undici: '8', cpuModel: 'x', cores: 2, platform: 'linux-x64', gitCommit: null },
    results: [result('direct', 3000), result('tuned-keepalive', 2000)], ratios: [],
  }
}
const reportWith = (change: (r: any) => void): string => {
  const r = report()
  change(r)
  return JSON.stringify(r)
}

type FileSpec = string | { readonly fifo: true } | { readonly folder: true } | { readonly sparseBytes: number }
const fifo = { fifo: true } as const
const folder = { folder: true } as const
const MiB = 1024 * 1024

const files: Record<string, FileSpec> = {
  // scenarios
  'scn-fifo.yaml': fifo,
  'scn-folder.yaml': folder,
  'scn-big.yaml': { sparseBytes: 2 * MiB },
  'scn-bomb.yaml': aliasBomb,
  'scn-syntax.yaml': scn('description: a test scenario', 'description: [unclosed'),
  'scn-dupkey.yaml': scn('requests: 4', 'requests: 4\n  requests: 5'),
  'scn-list.yaml': '- a\n- b\n',
  'scn-empty.yaml': '',
  'scn-no-description.yaml': scn('description: a test scenario\n', ''),
  'scn-type.yaml': scn('requests: 4', 'requests: four'),
  'scn-unknown-field.yaml': scn('requests: 4', 'requests: 4\n  reqeusts: 5'),
  'scn-metric.yaml': scn('failures.total == 0', 'attempts.stale == 0'),
  'scn-stats.yaml': scn('failures.total == 0', 'stats.failure_queue_sise == 0'),
  'scn-class.yaml': scn('failures.total == 0', 'failures.stale-sockt == 0'),
  'scn-rhs.yaml': scn('upstream.connections < requests', 'upstream.connections < reqeusts'),
  'scn-timer.yaml': scn('gapOfIdle: 0.5', 'gapMs: 3000000000'),
  'scn-fault.yaml': scn('kind: idle-close', 'kind: idle-clsoe'),
  'scn-dup-upstream.yaml': scn('workload:', '  - name: relay-a\nworkload:'),
  'scn-no-expect.yaml': scn(/    expect:[\s\S]*$/, '    expect: []\n'),
  'scn-compat.yaml': scn('connector: naive-keepalive', 'proxy: { compat: [lb-healthy] }'),
  'scn-connector.yaml': scn('connector: naive-keepalive', 'connector: turbo'),
  // target profiles
  'tp-fifo.yaml': fifo,
  'tp-timer.yaml': 'attempts: { max: 5, perEndpoint: 2 }\nbreaker: { threshold: 3, openMs: 60000 }\nverifierIntervalMs: 3000000000\nrecoverMs: 60000\nheadersTimeoutMs: 300000\n',
  // qcc cache.json
  'cache-ok.json': JSON.stringify(cache()),
  'cache-syntax.json': '{"profiles": {',
  'cache-profiles-list.json': JSON.stringify({ profiles: [] }),
  'cache-ftp.json': cacheWith((c) => { c.profiles.prod.endpoints[1].base_url = 'ftp://relay.example.net' }),
  'cache-file.json': cacheWith((c) => { c.profiles.prod.endpoints[0].base_url = 'file:///etc/passwd' }),
  'cache-plain-ftp.json': cacheWith((c) => { c.profiles.work.base_url = 'ftp://api.example.com' }),
  'cache-not-url.json': cacheWith((c) => { c.profiles.prod.endpoints[0].base_url = 'api.example.com' }),
  'cache-no-key.json': cacheWith((c) => { delete c.profiles.prod.endpoints[1].api_key }),
  'cache-max-failures.json': cacheWith((c) => { c.profiles.prod.endpoints[0].max_failures = -1 }),
  'cache-dup-id.json': cacheWith((c) => { c.profiles.prod.endpoints[1].id = '29a0dbab' }),
  'cache-dup-hash.json': cacheWith((c) => { c.profiles.prod.endpoints = [{ base_url: 'https://a.example.com', api_key: 'sk-a' }, { base_url: 'https://a.example.com', api_key: 'sk-a' }] }),
  'cache-endpoints-string.json': cacheWith((c) => { c.profiles.prod.endpoints = 'all of them' }),
  'cache-profile-string.json': cacheWith((c) => { c.profiles.prod = 'prod' }),
  'cache-settings.json': cacheWith((c) => { c.settings.test_model = 5 }),
  'cache-folder.json': folder,
  'cache-fifo.json': fifo,
  'cache-big.json': { sparseBytes: 9 * MiB },
  // endpoint_groups.json, each next to its own cache.json
  'grp-syntax/cache.json': JSON.stringify(cache()),
  'grp-syntax/endpoint_groups.json': '{"groups": {',
  'grp-list/cache.json': JSON.stringify(cache()),
  'grp-list/endpoint_groups.json': '[]',
  'grp-groups-list/cache.json': JSON.stringify(cache()),
  'grp-groups-list/endpoint_groups.json': JSON.stringify({ version: '1.0', groups: ['g'] }),
  'grp-primary-string/cache.json': JSON.stringify(cache()),
  'grp-primary-string/endpoint_groups.json': groups({ g: group('prod') }),
  'grp-none/cache.json': JSON.stringify(cache()),
  'grp-none/endpoint_groups.json': groups({ g: group(['gone', 'bare']) }),
  'grp-empty/cache.json': JSON.stringify(cache()),
  'grp-empty/endpoint_groups.json': groups({ g: group([], []) }),
  'grp-bad-profile/cache.json': cacheWith((c) => { c.profiles.backup.base_url = 'ftp://relay.example.net' }),
  'grp-bad-profile/endpoint_groups.json': groups({ g: group(['work'], ['backup']) }),
  'grp-dup/cache.json': JSON.stringify(cache()),
  'grp-dup/endpoint_groups.json': groups({ g: group(['prod'], ['work']) }),
  'grp-folder/cache.json': JSON.stringify(cache()),
  'grp-folder/endpoint_groups.json': folder,
  'grp-unknown/cache.json': JSON.stringify(cache()),
  'grp-unknown/endpoint_groups.json': groups({ g: group(['work']) }),
  'grp-as-config/endpoint_groups.json': groups({ g: group(['work']) }),
  // qcc-lab configs
  'lab-ok.yaml': lab(),
  'lab-ftp.yaml': lab('', '      - { baseUrl: "ftp://relay.example.com", apiKey: k }\n'),
  'lab-file.yaml': lab('', '      - { baseUrl: "file:///etc/passwd", apiKey: k }\n'),
  'lab-verifier.yaml': lab('    verifier: { intervalMs: 3000000000 }\n'),
  'lab-open.yaml': lab('    breaker: { openMs: 3000000000 }\n'),
  'lab-recover.yaml': lab('    recoverAfterMs: 10000000000\n'),
  'lab-affinity.yaml': lab('    affinityTtlMs: 2147483648\n'),
  'lab-verifier-timeout.yaml': lab('    verifier: { timeoutMs: 0 }\n'),
  'lab-idle.yaml': lab('    connector: { profile: tuned-keepalive, idleTimeoutMs: 3000000000 }\n'),
  'lab-ep-headers.yaml': lab('', '      - { baseUrl: "https://a.example.com", apiKey: k, connector: { profile: force-close, headersTimeoutMs: 3000000000 } }\n'),
  'lab-connections.yaml': lab('    connector: { profile: tuned-keepalive, connections: 1000000 }\n'),
  'lab-threshold.yaml': lab('    breaker: { threshold: 1000000000 }\n'),
  'lab-attempts.yaml': lab('    attempts: { max: 50 }\n'),
  'lab-max-failures.yaml': lab('', '      - { baseUrl: "https://a.example.com", apiKey: k, maxFailures: 0 }\n'),
  'lab-weight.yaml': lab('', '      - { baseUrl: "https://a.example.com", apiKey: k, weight: -1 }\n'),
  'lab-dup-id.yaml': lab('', '      - { id: aaaaaaaa, baseUrl: "https://a.example.com", apiKey: k }\n      - { id: aaaaaaaa, baseUrl: "https://b.example.com", apiKey: k }\n'),
  'lab-dup-hash.yaml': lab('', '      - { baseUrl: "https://a.example.com", apiKey: k }\n      - { baseUrl: "https://a.example.com", apiKey: k }\n'),
  'lab-typo.yaml': lab('    stratgy: random\n'),
  'lab-strategy.yaml': lab('    strategy: fastest\n'),
  'lab-compat.yaml': lab('    compat: [lb-healthy]\n'),
  'lab-env.yaml': lab('', '      - { baseUrl: "https://a.example.com", apiKeyEnv: QCC_LAB_TEST_NOT_SET_ANYWHERE }\n'),
  'lab-neither.yaml': 'clusters:\n  main:\n    strategy: random\n',
  'lab-import-missing.yaml': 'clusters:\n  main:\n    qcc: { cache: /nonexistent/qcc-lab-test/cache.json, profile: prod }\n',
  'lab-override.yaml': '', // written in beforeAll (needs the cache's path)
  'lab-import-lab.yaml': '', // likewise
  'lab-overrides-without-qcc.yaml': lab('    endpointOverrides: { aaaaaaaa: { priority: 2 } }\n'),
  'lab-bomb.yaml': aliasBomb,
  'lab-fifo.yaml': fifo,
  'lab-big.yaml': { sparseBytes: 2 * MiB },
  'lab-syntax.yaml': 'clusters: [\n',
  'lab-port.yaml': `port: 70000\n${lab()}`,
  'lab-scalar.yaml': 'just a string\n',
  // bench reports
  'rep-ok.json': JSON.stringify(report()),
  'rep-fifo.json': fifo,
  'rep-folder.json': folder,
  'rep-big.json': { sparseBytes: 65 * MiB },
  'rep-syntax.json': '{"schema": "qcc-lab/bench-report@1",',
  'rep-run-report.json': JSON.stringify({ schema: 'qcc-lab/run-report@3', scenarios: [] }),
  'rep-string.json': reportWith((r) => { r.results[0].median.rps = '3000' }),
  'rep-negative.json': reportWith((r) => { r.results[1].median.rps = -5 }),
  'rep-null-rounds.json': reportWith((r) => { r.results[0].rounds = null }),
  'rep-no-median.json': reportWith((r) => { delete r.results[1].median }),
  'rep-no-settings.json': reportWith((r) => { delete r.settings }),
  'rep-round-string.json': reportWith((r) => { r.results[1].rounds[0].rps = 'fast' }),
  'rep-dup-id.json': reportWith((r) => { r.results[1].id = r.results[0].id }),
  'rep-empty.json': reportWith((r) => { r.results = [] }),
}

// ---------------------------------------------------------------------------------------------------
// Cases: [label, args, parts stderr must contain (strings) or match (RegExps), options]

interface Options {
  /** The file stderr must name; default the first `@file` argument; null when there is none. */
  readonly file?: string | null
}
type Row = readonly [label: string, args: readonly string[], expected: ReadonlyArray<string | RegExp>, options?: Options]

const home = ['--port', '0', '--home', '@home', '--drain-ms', '0']
const proxyStart = (config: string, cluster = 'main', ...more: string[]): string[] => ['proxy', 'start', '--config', config, '--cluster', cluster, ...home, ...more]
const notAFile = (kind: string, what: string): string => `is ${kind}, not a regular file. Give the path of a ${what}.`
const timer = 'expected at most 2147483647 ms (2^31-1, about 24.8 days: Node fires a longer timer after 1 ms)'
const labWhat = 'qcc-lab proxy config (YAML or JSON) or qcc cache.json'
const reportWhat = 'bench report (qcc-lab bench --json <file>)'
const reportFix = '(a bench report is what `qcc-lab bench --json <file>` writes; run it again rather than edit the file)'

const scenarios: Row[] = [
  ['scenario: a FIFO', ['run', '@scn-fifo.yaml'], [notAFile('a named pipe (FIFO)', 'scenario YAML file')]],
  ['scenario: a directory', ['run', '@scn-folder.yaml'], [notAFile('a directory', 'scenario YAML file')]],
  ['scenario: 2 MiB', ['run', '@scn-big.yaml'], ['is 2.0 MiB; a scenario YAML file is at most 1.0 MiB. Check that this is the right file.']],
  ['scenario: an alias bomb', ['run', '@scn-bomb.yaml'], ['invalid YAML: its aliases (*name) expand to more than 100 values. Write the values out instead of nesting aliases.']],
  ['scenario: bad YAML syntax', ['run', '@scn-syntax.yaml'], [/: line \d+, column \d+: invalid YAML: /]],
  ['scenario: a duplicate key', ['run', '@scn-dupkey.yaml'], [/: line \d+, column \d+: invalid YAML: Map keys must be unique/]],
  ['scenario: a list at the top', ['run', '@scn-list.yaml'], ['(root): expected a mapping with description, upstreams, workload and variants']],
  ['scenario: an empty file', ['run', '@scn-empty.yaml'], ['(root): expected a mapping with description, upstreams, workload and variants']],
  ['scenario: a missing field', ['run', '@scn-no-description.yaml'], ['description: missing; expected a string']],
  ['scenario: a wrong type', ['run', '@scn-type.yaml'], [/:8:\d+: workload\.requests: expected a number, got string/]],
  ['scenario: an unknown field', ['run', '@scn-unknown-field.yaml'], ['workload.reqeusts: unknown field; remove it or check its spelling']],
  ['scenario: an unknown metric (file:line:column)', ['run', '@scn-metric.yaml'], [/scn-metric\.yaml:16:\d+: variants\[0\]\.expect\[0\]: unknown metric "attempts\.stale"/]],
  ['scenario: a typo in a stats path (file:line:column)', ['run', '@scn-stats.yaml'], [/scn-stats\.yaml:16:\d+: variants\[0\]\.expect\[0\]: unknown stats field "failure_queue_sise" in stats; did you mean "failure_queue_size"\?/]],
  ['scenario: a typo in a failure class', ['run', '@scn-class.yaml'], [/scn-class\.yaml:16:\d+: variants\[0\]\.expect\[0\]: unknown failure class "stale-sockt"; did you mean/]],
  ['scenario: a typo on the right-hand side', ['run', '@scn-rhs.yaml'], [/:18:\d+: variants\[0\]\.expect\[1\]\.check: right-hand side: unknown metric "reqeusts"; did you mean "requests"\?/]],
  ['scenario: a timer beyond 2^31-1 ms', ['run', '@scn-timer.yaml'], ['workload.pacing.gapMs: expected a number <= 2147483647']],
  ['scenario: an unknown fault kind', ['run', '@scn-fault.yaml'], ['upstreams[0].faults[0].kind: unknown fault kind "idle-clsoe"; expected one of idle-close']],
  ['scenario: two upstreams of one name', ['run', '@scn-dup-upstream.yaml'], ['upstreams[1].name: "relay-a" is used twice; upstream names must be unique']],
  ['scenario: a variant without expectations', ['run', '@scn-no-expect.yaml'], ['variants[0].expect: a variant needs at least one expectation, or it cannot fail']],
  ['scenario: an unknown compat switch', ['run', '@scn-compat.yaml'], ['variants[0].proxy.compat: unknown compat switch "lb-healthy"; expected one of']],
  ['scenario: an unknown connector profile', ['run', '@scn-connector.yaml'], ['variants[0].connector: expected a connector profile (force-close, naive-keepalive, tuned-keepalive)']],
  ['scenario: no such file or bundled name', ['run', 'no-such-scenario-here'], ['Failed to find scenario "no-such-scenario-here": no such file and no bundled scenario by that name. Bundled: ']],
  ['target profile: a FIFO', ['run', 'stale-keepalive', '--target-cmd', 'true {port}', '--target-profile', '@tp-fifo.yaml'], [notAFile('a named pipe (FIFO)', 'target profile YAML file (a few lines)'), 'Or one of the built-in profiles: qcc, qcc-lab.']],
  ['target profile: a timer beyond 2^31-1 ms', ['run', 'stale-keepalive', '--target-cmd', 'true {port}', '--target-profile', '@tp-timer.yaml'], ['verifierIntervalMs: expected a number <= 2147483647', '(a target profile declares: attempts {max, perEndpoint}']],
]

const qccConfigs: Row[] = [
  ['cache.json: not JSON', proxyStart('@cache-syntax.json', 'prod'), [/: invalid JSON: .*\. Fix the syntax there/]],
  ['cache.json: profiles is a list', proxyStart('@cache-profiles-list.json', 'prod'), ['profiles: expected a mapping of names to entries ({ name: … }), got array']],
  ['cache.json: an ftp:// endpoint', proxyStart('@cache-ftp.json', 'prod'), ['profiles.prod.endpoints[1].base_url: expected an http:// or https:// URL such as https://relay.example.com, not "ftp:" (the proxy forwards over HTTP only)']],
  ['cache.json: a file:// endpoint', proxyStart('@cache-file.json', 'prod'), ['profiles.prod.endpoints[0].base_url: expected an http:// or https:// URL such as https://relay.example.com, not "file:"']],
  ['cache.json: an ftp:// plain profile', proxyStart('@cache-plain-ftp.json', 'work'), ['profiles.work.base_url: expected an http:// or https:// URL such as https://relay.example.com, not "ftp:"']],
  ['cache.json: a base_url without a scheme', proxyStart('@cache-not-url.json', 'prod'), ['profiles.prod.endpoints[0].base_url: expected an http:// or https:// URL such as https://relay.example.com']],
  ['cache.json: a missing api_key', proxyStart('@cache-no-key.json', 'prod'), ['profiles.prod.endpoints[1].api_key: missing; expected a string']],
  ['cache.json: a negative max_failures', proxyStart('@cache-max-failures.json', 'prod'), ['profiles.prod.endpoints[0].max_failures: expected zero or a positive number']],
  ['cache.json: one id twice', proxyStart('@cache-dup-id.json', 'prod'), ['profiles.prod.endpoints[1].id: "29a0dbab" is also the id of profiles.prod.endpoints[0]; endpoint ids must be unique in a cluster', 'Give one of them another id, or remove the duplicate']],
  ['cache.json: one url and key twice', proxyStart('@cache-dup-hash.json', 'prod'), [/profiles\.prod\.endpoints\[1\]: has the same base_url and api_key as profiles\.prod\.endpoints\[0\], so the same id [0-9a-f]{8}; .*Remove one of the two/]],
  ['cache.json: endpoints is a string', proxyStart('@cache-endpoints-string.json', 'prod'), ['profiles.prod.endpoints: expected an array, got string']],
  ['cache.json: a profile that is a string', proxyStart('@cache-profile-string.json', 'prod'), ['profiles.prod: expected an object, got string']],
  ['cache.json: settings.test_model a number', proxyStart('@cache-settings.json', 'prod'), ['settings.test_model: expected a string, got number']],
  ['cache.json: --cluster __proto__', proxyStart('@cache-ok.json', '__proto__'), ['profiles: no profile named "__proto__"; clusters here: prod']],
  ['cache.json: --cluster toString', proxyStart('@cache-ok.json', 'toString'), ['profiles: no profile named "toString"; clusters here: prod']],
  ['cache.json: a profile without endpoints or url', proxyStart('@cache-ok.json', 'bare'), ['profiles.bare: has no endpoints and no base_url/api_key; add endpoints with `qcc endpoint add bare`']],
  ['cache.json: a directory', proxyStart('@cache-folder.json', 'prod'), [notAFile('a directory', labWhat)]],
  ['cache.json: a FIFO', proxyStart('@cache-fifo.json', 'prod'), [notAFile('a named pipe (FIFO)', labWhat)]],
  ['cache.json: 9 MiB', proxyStart('@cache-big.json', 'prod'), [`is 9.0 MiB; a ${labWhat} is at most 8.0 MiB. Check that this is the right file.`]],
  ['endpoint_groups.json: not JSON', proxyStart('@grp-syntax/cache.json', 'prod'), [/endpoint_groups\.json: invalid JSON: .*qcc-lab reads the EndpointGroups next to cache\.json first, as qcc does; fix or remove this file/], { file: '@grp-syntax/endpoint_groups.json' }],
  ['endpoint_groups.json: a list', proxyStart('@grp-list/cache.json', 'prod'), ['(root): expected an object {"version": "1.0", "groups": {name: group}} as qcc writes it'], { file: '@grp-list/endpoint_groups.json' }],
  ['endpoint_groups.json: groups is a list', proxyStart('@grp-groups-list/cache.json', 'prod'), ['groups: expected a mapping of names to entries'], { file: '@grp-groups-list/endpoint_groups.json' }],
  ['endpoint_groups.json: primary_configs a string', proxyStart('@grp-primary-string/cache.json', 'g'), ['groups.g.primary_configs: expected an array, got string'], { file: '@grp-primary-string/endpoint_groups.json' }],
  ['endpoint_groups.json: a group with no endpoints', proxyStart('@grp-none/cache.json', 'g'), ['groups.g: the EndpointGroup gives no endpoints (it lists primary_configs[0] "gone" (no such profile), primary_configs[1] "bare" (no endpoints and no base_url/api_key)). Add to primary_configs the names of profiles'], { file: '@grp-none/endpoint_groups.json' }],
  ['endpoint_groups.json: a group with empty lists', proxyStart('@grp-empty/cache.json', 'g'), ['groups.g: the EndpointGroup gives no endpoints (its primary_configs and secondary_configs are empty)'], { file: '@grp-empty/endpoint_groups.json' }],
  ['endpoint_groups.json: a bad profile of the group (named in cache.json)', proxyStart('@grp-bad-profile/cache.json', 'g'), ['profiles.backup.base_url: expected an http:// or https:// URL such as https://relay.example.com, not "ftp:"']],
  ['endpoint_groups.json: two profiles with one endpoint', proxyStart('@grp-dup/cache.json', 'g'), ['groups.g.secondary_configs[0]: adds endpoint 29a0dbab (profiles.work), which primary_configs[0] already adds (profiles.prod.endpoints[0])', 'Remove one of the two profiles from the group'], { file: '@grp-dup/endpoint_groups.json' }],
  ['endpoint_groups.json: a directory', proxyStart('@grp-folder/cache.json', 'prod'), [notAFile('a directory', 'qcc endpoint_groups.json file'), 'fix or remove this file'], { file: '@grp-folder/endpoint_groups.json' }],
  ['endpoint_groups.json: an unknown name', proxyStart('@grp-unknown/cache.json', 'nope'), ['profiles: no EndpointGroup or profile named "nope"; EndpointGroups in endpoint_groups.json: g; clusters here: prod']],
  ['endpoint_groups.json given as --config', proxyStart('@grp-as-config/endpoint_groups.json', 'g'), ["(root): this is qcc's endpoint_groups.json, not a config; pass the cache.json next to it"]],
]

const labConfigs: Row[] = [
  ['lab: an ftp:// baseUrl', proxyStart('@lab-ftp.yaml'), ['clusters.main.endpoints[0].baseUrl: expected an http:// or https:// URL such as https://relay.example.com, not "ftp:"']],
  ['lab: a file:// baseUrl', proxyStart('@lab-file.yaml'), ['clusters.main.endpoints[0].baseUrl: expected an http:// or https:// URL such as https://relay.example.com, not "file:"']],
  ['lab: verifier.intervalMs 3e9', proxyStart('@lab-verifier.yaml'), [`clusters.main.verifier.intervalMs: ${timer}`]],
  ['lab: breaker.openMs 3e9', proxyStart('@lab-open.yaml'), [`clusters.main.breaker.openMs: ${timer}`]],
  ['lab: recoverAfterMs 1e10', proxyStart('@lab-recover.yaml'), [`clusters.main.recoverAfterMs: ${timer}`]],
  ['lab: affinityTtlMs 2^31', proxyStart('@lab-affinity.yaml'), [`clusters.main.affinityTtlMs: ${timer}`]],
  ['lab: verifier.timeoutMs 0', proxyStart('@lab-verifier-timeout.yaml'), ['clusters.main.verifier.timeoutMs: expected a positive number']],
  ['lab: connector idleTimeoutMs 3e9', proxyStart('@lab-idle.yaml'), [`clusters.main.connector.idleTimeoutMs: ${timer}`]],
  ['lab: endpoint connector headersTimeoutMs 3e9', proxyStart('@lab-ep-headers.yaml'), [`clusters.main.endpoints[0].connector.headersTimeoutMs: ${timer}`]],
  ['lab: connector connections 1e6', proxyStart('@lab-connections.yaml'), ['clusters.main.connector.connections: expected at most 10000 connections per endpoint, or null for no limit']],
  ['lab: breaker.threshold 1e9', proxyStart('@lab-threshold.yaml'), ['clusters.main.breaker.threshold: expected at most 1000000']],
  ['lab: attempts.max 50', proxyStart('@lab-attempts.yaml'), ['clusters.main.attempts.max: expected a number <= 20']],
  ['lab: maxFailures 0', proxyStart('@lab-max-failures.yaml'), ['clusters.main.endpoints[0].maxFailures: expected a positive number']],
  ['lab: a negative weight', proxyStart('@lab-weight.yaml'), ['clusters.main.endpoints[0].weight: expected zero or a positive number']],
  ['lab: one id twice', proxyStart('@lab-dup-id.yaml'), ['clusters.main.endpoints[1].id: "aaaaaaaa" is also the id of clusters.main.endpoints[0]', 'Give one of them another id, or remove the duplicate']],
  ['lab: one url and key twice', proxyStart('@lab-dup-hash.yaml'), [/clusters\.main\.endpoints\[1\]: has the same baseUrl and key as clusters\.main\.endpoints\[0\], so the same id [0-9a-f]{8}; .*Remove one of the two, or give one an id/]],
  ['lab: --cluster __proto__', proxyStart('@lab-ok.yaml', '__proto__'), ['clusters: no cluster named "__proto__"; this file has main']],
  ['lab: --cluster constructor', proxyStart('@lab-ok.yaml', 'constructor'), ['clusters: no cluster named "constructor"; this file has main']],
  ['lab: an unknown field', proxyStart('@lab-typo.yaml'), ['clusters.main.stratgy: unknown field; remove it or check its spelling']],
  ['lab: an unknown strategy', proxyStart('@lab-strategy.yaml'), ['clusters.main.strategy: expected one of "priority_failover"']],
  ['lab: an unknown compat switch', proxyStart('@lab-compat.yaml'), ['clusters.main.compat: unknown compat switch "lb-healthy"; expected one of']],
  ['lab: an unset environment variable', proxyStart('@lab-env.yaml'), ['clusters.main.endpoints[0].apiKeyEnv: the environment variable QCC_LAB_TEST_NOT_SET_ANYWHERE is not set']],
  ['lab: neither endpoints nor qcc', proxyStart('@lab-neither.yaml'), ['clusters.main: set exactly one of endpoints (a list) or qcc (import from a qcc cache.json profile)']],
  ['lab: an imported cache that does not exist', proxyStart('@lab-import-missing.yaml'), ['/nonexistent/qcc-lab-test/cache.json: cannot read the file: it does not exist. Check the path.'], { file: null }],
  ['lab: an override for no imported endpoint', proxyStart('@lab-override.yaml', 'prod'), ['clusters.prod.endpointOverrides.deadbeef: no imported endpoint has this id; the ids of "prod" are 29a0dbab, 9eae99f5']],
  ['lab: qcc.cache that is not a cache.json', proxyStart('@lab-import-lab.yaml', 'prod'), [/clusters\.prod\.qcc\.cache: .*lab-ok\.yaml is not qcc's cache\.json \(it has no "profiles"\); give the path of ~\/\.fastcc\/cache\.json/]],
  ['lab: endpointOverrides without qcc', proxyStart('@lab-overrides-without-qcc.yaml'), ['clusters.main.endpointOverrides: applies to endpoints imported with qcc only; set these fields on the endpoints themselves']],
  ['lab: an alias bomb', proxyStart('@lab-bomb.yaml'), ['invalid YAML: its aliases (*name) expand to more than 100 values. Write the values out instead of nesting aliases.']],
  ['lab: a FIFO', proxyStart('@lab-fifo.yaml'), [notAFile('a named pipe (FIFO)', labWhat)]],
  ['lab: 2 MiB of YAML', proxyStart('@lab-big.yaml'), [`is 2.0 MiB; a ${labWhat} is at most 1.0 MiB. Check that this is the right file.`]],
  ['lab: bad YAML syntax', proxyStart('@lab-syntax.yaml'), [/: line \d+, column \d+: invalid YAML: /]],
  ['lab: port 70000', proxyStart('@lab-port.yaml'), ['port: expected a number <= 65535']],
  ['lab: a string for a config', proxyStart('@lab-scalar.yaml'), ["(root): expected a mapping with clusters (a qcc-lab config), or qcc's cache.json with profiles"]],
  ['lab: no such file', proxyStart('@no-such-config.yaml'), ['cannot read the file: it does not exist. Check the path.']],
  ['proxy start --constants: a FIFO', proxyStart('@lab-ok.yaml', 'main', '--constants', '@tp-fifo.yaml'), [notAFile('a named pipe (FIFO)', 'target profile YAML file (a few lines)')], { file: '@tp-fifo.yaml' }],
]

const flags: Row[] = [
  ['run --repeat 0', ['run', 'stale-keepalive', '--repeat', '0'], ['--repeat takes a whole number from 1 to 1000; got "0".']],
  ['run --seed x', ['run', 'stale-keepalive', '--seed', 'x'], ['--seed takes a whole number from 0 to 4294967295; got "x".']],
  ['run --config-layout foo', ['run', 'stale-keepalive', '--config-layout', 'foo'], ["option '--config-layout <layout>' argument 'foo' is invalid. Allowed choices are qcc, null-default, cluster-default."]],
  ['run --target-stop-ms 9999999', ['run', 'stale-keepalive', '--target-stop-ms', '9999999'], ['--target-stop-ms takes a whole number from 0 to 600000']],
  ['run --strict without a target', ['run', 'stale-keepalive', '--strict'], ['--strict applies to target mode only (with --target-cmd).']],
  ['run --target-cmd without {port}', ['run', 'stale-keepalive', '--target-cmd', 'qcc proxy start'], ['--target-cmd must contain {port}']],
  ['run --target-profile unknown', ['run', 'stale-keepalive', '--target-cmd', 'true {port}', '--target-profile', 'no-such-profile'], ['--target-profile no-such-profile: no such file and no built-in profile by that name; built in: qcc, qcc-lab.']],
  ['run -p unknown variant', ['run', 'stale-keepalive', '-p', 'nope'], ['Failed to select variant "nope" in scenario stale-keepalive: it has contract, naive-keepalive']],
  ['run without a scenario', ['run'], ['Name at least one scenario (see `qcc-lab list`), or use --all.']],
  ['run --all with a name', ['run', '--all', 'stale-keepalive'], ['Give either scenario names or --all, not both.']],
  ['proxy start --port 99999', proxyStart('@lab-ok.yaml', 'main', '--port', '99999'), ['--port takes a whole number from 0 to 65535; got "99999".'], { file: null }],
  ['proxy start --profile unknown', proxyStart('@lab-ok.yaml', 'main', '--profile', 'bogus'), ['--profile: unknown connector profile "bogus"; expected one of force-close, naive-keepalive, tuned-keepalive.'], { file: null }],
  ['proxy start --drain-ms -1', proxyStart('@lab-ok.yaml', 'main', '--drain-ms', '-1'), ['--drain-ms takes a whole number from 0 to 600000'], { file: null }],
  ['proxy start without --cluster', ['proxy', 'start', '--config', '@lab-ok.yaml'], ["required option '--cluster <name>' not specified"], { file: null }],
  ['upstream start --port 70000', ['upstream', 'start', '--port', '70000'], ['--port takes a whole number from 0 to 65535; got "70000".']],
  ['upstream start --fault unknown kind', ['upstream', 'start', '--fault', 'bogus'], [/--fault|faults\[0\]/, /unknown fault kind "bogus"; expected one of idle-close/]],
  ['upstream start --fault bad number', ['upstream', 'start', '--fault', 'idle-close:idleMs=abc'], [/idleMs: expected a number, got string/]],
  ['upstream start --fault not key=value', ['upstream', 'start', '--fault', 'idle-close:idleMs'], ['--fault "idle-close:idleMs": "idleMs" is not key=value']],
  ['upstream start --seed -1', ['upstream', 'start', '--seed', '-1'], ['--seed takes a whole number from 0 to 4294967295; got "-1".']],
  ['bench --rtt 5000', ['bench', '--rtt', '5000'], ['--rtt takes comma-separated whole numbers from 0 to 1000; got "5000".']],
  ['bench --concurrency 0', ['bench', '--concurrency', '0'], ['--concurrency takes comma-separated whole numbers from 1 to 512; got "0".']],
  ['bench --rounds 100', ['bench', '--rounds', '100'], ['--rounds takes a whole number from 1 to 20; got "100".']],
  ['bench --anchor foo', ['bench', '--anchor', 'foo'], ['--anchor takes nginx, node-floor or both (comma-separated); got "foo".']],
  ['compare --threshold -1', ['compare', '@rep-ok.json', '@rep-ok.json', '--threshold', '-1'], ['--threshold takes a percentage from 0 to 1000; got "-1".'], { file: null }],
  ['compare --gate foo', ['compare', '@rep-ok.json', '@rep-ok.json', '--gate', 'foo'], ['--gate takes figures from rps, cpuUsPerRequest, p50, p90, p99, ttfbP50; got "foo".'], { file: null }],
  ['compare without head', ['compare', '@rep-ok.json'], ["missing required argument 'head'"], { file: null }],
  ['list --bogus', ['list', '--bogus'], ["unknown option '--bogus'", '(run with --help for usage)']],
  ['list with an argument', ['list', 'extra'], ["too many arguments for 'list'"]],
  ['an unknown command', ['frobnicate'], ["unknown command 'frobnicate'"]],
]

const reports: Row[] = [
  ['report: no such file', ['compare', '@rep-ok.json', '@no-such-report.json'], ['cannot read the file: it does not exist. Check the path.'], { file: '@no-such-report.json' }],
  ['report: a FIFO', ['compare', '@rep-ok.json', '@rep-fifo.json'], [notAFile('a named pipe (FIFO)', reportWhat)], { file: '@rep-fifo.json' }],
  ['report: a directory', ['compare', '@rep-folder.json', '@rep-ok.json'], [notAFile('a directory', reportWhat)]],
  ['report: 65 MiB', ['compare', '@rep-ok.json', '@rep-big.json'], [`is 65.0 MiB; a ${reportWhat} is at most 64.0 MiB. Check that this is the right file.`], { file: '@rep-big.json' }],
  ['report: not JSON', ['compare', '@rep-syntax.json', '@rep-ok.json'], [/: invalid JSON: .*\. Give a report written by `qcc-lab bench --json <file>`\./]],
  ['report: another schema', ['compare', '@rep-ok.json', '@rep-run-report.json'], ['schema: "qcc-lab/run-report@3" is a run report (what `qcc-lab run --json` writes), not a qcc-lab/bench-report@1 file. Give a report written by `qcc-lab bench --json <file>`.'], { file: '@rep-run-report.json' }],
  ['report: a string for req/s', ['compare', '@rep-ok.json', '@rep-string.json'], ['results[0].median.rps: expected a number, got string', reportFix], { file: '@rep-string.json' }],
  ['report: a negative req/s', ['compare', '@rep-ok.json', '@rep-negative.json'], ['results[1].median.rps: expected zero or a positive number', reportFix], { file: '@rep-negative.json' }],
  ['report: null rounds', ['compare', '@rep-null-rounds.json', '@rep-ok.json'], ['results[0].rounds: expected an array, got null', reportFix]],
  ['report: a missing median', ['compare', '@rep-ok.json', '@rep-no-median.json'], ['results[1].median: missing; expected an object'], { file: '@rep-no-median.json' }],
  ['report: missing settings', ['compare', '@rep-no-settings.json', '@rep-ok.json'], ['settings: missing; expected an object']],
  ['report: a string in a round', ['compare', '@rep-ok.json', '@rep-round-string.json'], ['results[1].rounds[0].rps: expected a number, got string'], { file: '@rep-round-string.json' }],
  ['report: one configuration twice', ['compare', '@rep-dup-id.json', '@rep-ok.json'], ['results[1].id: "http/json/c64/rtt0/direct" is also the id of results[0]; each configuration appears once in a report']],
  ['report: no configurations', ['compare', '@rep-ok.json', '@rep-empty.json'], ['results: expected at least one configuration'], { file: '@rep-empty.json' }],
  ['report: both files bad, both named', ['compare', '@rep-string.json', '@rep-negative.json'], ['@rep-string.json: results[0].median.rps: expected a number, got string', '@rep-negative.json: results[1].median.rps: expected zero or a positive number']],
]

const table: Row[] = [...scenarios, ...qccConfigs, ...labConfigs, ...flags, ...reports]

// ---------------------------------------------------------------------------------------------------

/** `@name` (at the start or after a space) → the file's path. */
const expand = (s: string): string => s.replace(/(^|\s)@([\w./-]+)/g, (_, before: string, name: string) => `${before}${path.join(dir, name)}`)

const cliOptions = () => ({ timeoutMs: 15_000, env: { QCC_LAB_HOME: path.join(dir, 'home') } })
/** A real child for any case that names a FIFO, in-process for the rest. */
const usesFifo = (args: readonly string[]): boolean => args.some((a) => a.startsWith('@') && files[a.slice(1)] === fifo)
const run = (args: readonly string[]): Promise<CliResult> => (usesFifo(args) ? runCli : runCliInProcess)(args.map(expand), cliOptions())

/** Cases run both ways, one or more per kind of input and of failure (commander's own errors too). */
const sampled = [
  'scenario: an unknown metric (file:line:column)',
  'scenario: no such file or bundled name',
  'cache.json: a missing api_key',
  'endpoint_groups.json: a group with no endpoints',
  'lab: an unset environment variable',
  'lab: 2 MiB of YAML',
  'run --repeat 0',
  'run --target-cmd without {port}',
  'list --bogus',
  'an unknown command',
  'report: both files bad, both named',
]

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-malformed-'))
  await mkdir(path.join(dir, 'home'))
  files['lab-override.yaml'] = `clusters:\n  prod:\n    qcc: { cache: ${JSON.stringify(path.join(dir, 'cache-ok.json'))}, profile: prod }\n    endpointOverrides:\n      deadbeef: { priority: 2 }\n`
  files['lab-import-lab.yaml'] = `clusters:\n  prod:\n    qcc: { cache: ${JSON.stringify(path.join(dir, 'lab-ok.yaml'))}, profile: prod }\n`
  for (const [name, spec] of Object.entries(files)) {
    const f = path.join(dir, name)
    await mkdir(path.dirname(f), { recursive: true })
    if (typeof spec === 'string') await writeFile(f, spec)
    else if ('fifo' in spec) execFileSync('mkfifo', [f])
    else if ('folder' in spec) await mkdir(f)
    else {
      await writeFile(f, '')
      await truncate(f, spec.sparseBytes)
    }
  }
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe.skipIf(process.platform === 'win32')('malformed input: exit 2, the file and the field named, what to do, no stack trace', () => {
  it('has at least 60 cases', ({ expect }) => {
    expect(table.length).toBeGreaterThanOrEqual(60)
    expect(new Set(table.map((r) => r[0])).size).toBe(table.length)
  })

  it('runs the FIFO cases in a real child and every other case in-process, which answers as a real child does', async ({ expect }) => {
    expect(table.filter(([, args]) => usesFifo(args)).map(([label]) => label)).toEqual([
      'scenario: a FIFO', 'target profile: a FIFO', 'cache.json: a FIFO', 'lab: a FIFO', 'proxy start --constants: a FIFO', 'report: a FIFO',
    ])
    const rows = sampled.map((label) => table.find((r) => r[0] === label) ?? label)
    expect(rows.filter((r) => typeof r === 'string'), 'sampled labels not in the table').toEqual([])
    const { children, inProcess } = await childAndInProcess((rows as Row[]).map(([, args]) => args.map(expand)), {
      child: (args) => runCli(args, cliOptions()),
      inProcess: (args) => runCliInProcess(args, cliOptions()),
    })
    for (const [i, [label]] of (rows as Row[]).entries()) expect(inProcess[i], label).toEqual(children[i])
  }, 60_000)

  it.concurrent.for(table)('%s', async ([, args, expected, options], { expect }) => {
    const r = await run(args)
    const shown = `exit ${r.code}; stderr:\n${r.stderr}`
    expect(r.code, shown).toBe(2)
    expect(r.stderr, shown).not.toMatch(/^\s+at /m)
    expect(r.stderr, shown).not.toMatch(/internal error/i)
    const file = options?.file === undefined ? args.find((a) => a.startsWith('@')) : options.file ?? undefined
    // `<file>: …`, or `<file>:<line>:<column>: …` where the position is known.
    if (file !== undefined) expect(r.stderr, shown).toContain(`${expand(file)}:`)
    for (const part of expected) {
      if (typeof part === 'string') expect(r.stderr, shown).toContain(expand(part))
      else expect(r.stderr, shown).toMatch(part)
    }
    // What to do, or the expected form (the valid values listed count).
    expect(r.stderr, shown).toMatch(/expected|takes|choices|did you mean|give |check |remove|add |set |fix|write|pick|rather|--help|bundled:|built in|use |pass |must|needs|only|here: |this file has|it has|key=value|not specified|missing required|unknown (option|command)|too many arguments/i)
  })
})
