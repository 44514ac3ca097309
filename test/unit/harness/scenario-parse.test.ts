import { describe, expect, it } from 'vitest'
import { parseScenario } from '../../../src/harness/scenario/parse.ts'
import { loadScenario } from '../../../src/harness/scenario/load.ts'
import { ScenarioError, UsageError } from '../../../src/shared/errors.ts'

const valid = `
description: a test scenario
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

function problems(text: string): string[] {
  try {
    parseScenario(text, 'scenarios/bad.yaml', 'bad')
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError)
    const e = err as ScenarioError
    expect(e.message.split('\n').every((line) => /^scenarios\/bad\.yaml(:\d+:\d+)?: /.test(line))).toBe(true)
    // The position (line:column) leads where it is known; the field path follows.
    return e.issues.map((i) => i.replace(/^\d+:\d+: /, ''))
  }
  throw new Error('expected the scenario to be rejected')
}

describe('parseScenario', () => {
  it('accepts a valid scenario and applies defaults', () => {
    const s = parseScenario(valid, 'x.yaml', 'fallback')
    expect(s.name).toBe('fallback')
    expect(s.seed).toBe(1)
    expect(s.workload).toMatchObject({ requests: 4, concurrency: 1, stream: false, burst: 2, gap: 200 })
    expect(s.variants[0]!.connector).toEqual({ profile: 'naive-keepalive' })
    expect(s.variants[0]!.expect.map((e) => [e.name, e.metric, e.op])).toEqual([
      ['failures.total == 0', 'failures.total', '=='],
      ['reuse', 'upstream.connections', '<'],
    ])
  })

  it.each([
    ['invalid YAML', valid.replace('description: a test scenario', 'description: [unclosed'), /line \d+, column \d+: invalid YAML/],
    ['a top-level list', '- a\n- b\n', /\(root\): expected a mapping/],
    ['a missing field', valid.replace('description: a test scenario\n', ''), /^description: missing; expected a string$/],
    ['a wrong type', valid.replace('requests: 4', 'requests: four'), /^workload\.requests: expected a number, got string$/],
    ['an unknown field', valid.replace('requests: 4', 'requests: 4\n  reqeusts: 5'), /^workload\.reqeusts: unknown field; remove it or check its spelling$/],
    ['an unknown fault kind', valid.replace('kind: idle-close', 'kind: idle-clsoe'), /^upstreams\[0\]\.faults\[0\]\.kind: unknown fault kind "idle-clsoe"; expected one of idle-close, race-close, error-response, reset-mid-stream, delay-response/],
    ['a negative duration', valid.replace('idleMs: 400', 'idleMs: -400'), /^upstreams\[0\]\.faults\[0\]\.idleMs: expected a positive number$/],
    ['a bad fault enum', valid.replace('idleMs: 400', 'idleMs: 400\n        mode: slam'), /^upstreams\[0\]\.faults\[0\]\.mode: expected one of "fin", "rst"$/],
    ['a probability above 1', valid.replace('idleMs: 400', 'idleMs: 400\n        probability: 2'), /^upstreams\[0\]\.faults\[0\]\.probability: expected a number from 0 to 1$/],
    ['an unknown connector profile', valid.replace('connector: naive-keepalive', 'connector: turbo'), /^variants\[0\]\.connector: expected a connector profile \(force-close, naive-keepalive, tuned-keepalive\)/],
    ['an unknown metric', valid.replace('failures.total == 0', 'failures.totl == 0').replace('failures.totl', 'attempts.stale'), /^variants\[0\]\.expect\[0\]: unknown metric "attempts\.stale"/],
    ['a malformed check', valid.replace('failures.total == 0', 'failures.total is zero'), /^variants\[0\]\.expect\[0\]: expected "<metric> <op> <number\|metric>"/],
    ['no expectations', valid.replace(/    expect:[\s\S]*$/, '    expect: []\n'), /^variants\[0\]\.expect: a variant needs at least one expectation/],
    ['both gap forms', valid.replace('gapOfIdle: 0.5', 'gapOfIdle: 0.5\n    gapMs: 10'), /^workload\.pacing: set exactly one of gapMs/],
    ['gapOfIdle without idle-close', valid.replace(/    faults:\n      - kind: idle-close\n        idleMs: 400\n/, ''), /^workload\.pacing\.gapOfIdle: needs an idle-close fault/],
    ['duplicate variant names', valid.replace(/variants:\n/, 'variants:\n  - name: naive\n    connector: force-close\n    expect: [failures.total == 0]\n'), /^variants\[1\]\.name: "naive" is used twice/],
    ['a zero request count', valid.replace('requests: 4', 'requests: 0'), /^workload\.requests: expected a positive number$/],
    ['a bad name', valid.replace('name: relay-a', 'name: Relay A'), /^upstreams\[0\]\.name: expected lower-case/],
    ['a typo in a failure class', valid.replace('failures.total == 0', 'failures.stale-sockt == 0'), /^variants\[0\]\.expect\[0\]: unknown failure class "stale-sockt"/],
    ['a proxy outcome read as a client failure', valid.replace('failures.total == 0', 'failures.stale-socket == 0'), /^variants\[0\]\.expect\[0\]: "stale-socket" is what the proxy met upstream.*causes\.stale-socket/],
    ['a typo in a cause', valid.replace('failures.total == 0', 'causes.stale-sockt == 0'), /^variants\[0\]\.expect\[0\]: unknown cause "stale-sockt"; did you mean "causes\.stale-socket"\?/],
    ['a typo in a stats path', valid.replace('failures.total == 0', 'stats.failure_queue_sise == 0'), /^variants\[0\]\.expect\[0\]: unknown stats field "failure_queue_sise" in stats; did you mean "failure_queue_size"\?/],
    ['a stats path into a number', valid.replace('failures.total == 0', 'stats.failure_queue_size.count == 0'), /^variants\[0\]\.expect\[0\]: "stats\.failure_queue_size" is a number; it has no field "count"/],
    ['a stats object read as a number', valid.replace('failures.total == 0', 'stats.failure_queue_stats == 0'), /is not a number; read one of its fields \(total_failed/],
    ['a typo on the right-hand side', valid.replace('upstream.connections < requests', 'upstream.connections < reqeusts'), /^variants\[0\]\.expect\[1\]\.check: right-hand side: unknown metric "reqeusts"; did you mean "requests"\?/],
    ['an unknown upstream', valid.replace('failures.total == 0', 'upstreams.relay-b.ok == 0'), /^variants\[0\]\.expect\[0\]: no upstream named "relay-b"; upstreams here: relay-a/],
    ['an unknown upstream field', valid.replace('failures.total == 0', 'upstreams.relay-a.okk == 0'), /^variants\[0\]\.expect\[0\]: unknown upstream field "okk"/],
    ['an unknown constant', valid.replace('gapOfIdle: 0.5', 'gapMs: { constant: recoverSecs }'), /^workload\.pacing\.gapMs: expected a number of ms, or \{ constant: recoverMs/],
    ['a timer beyond 2^31-1 ms', valid.replace('gapOfIdle: 0.5', 'gapMs: 3000000000'), /^workload\.pacing\.gapMs: expected a number <= 2147483647$/],
    ['a fault duration that follows an unknown constant', valid.replace('idleMs: 400', 'idleMs: { constant: nope }'), /^upstreams\[0\]\.faults\[0\]\.idleMs: /],
  ])('rejects %s, naming the field', (_label, text, pattern) => {
    const found = problems(text)
    expect(found.some((p) => pattern.test(p)), `problems were:\n${found.join('\n')}`).toBe(true)
  })

  it('accepts a stats path through a hyphenated outcome key (attempts_by_outcome.stale-socket)', () => {
    const s = parseScenario(valid.replace('failures.total == 0', 'stats.attempts_by_outcome.stale-socket == 0'), 'x.yaml', 'fallback')
    expect(s.variants[0]!.expect[0]!.metric).toBe('stats.attempts_by_outcome.stale-socket')
  })

  it('names the line and column of each problem', () => {
    try {
      parseScenario(valid.replace('failures.total == 0', 'failures.stale-sockt == 0').replace('requests: 4', 'requests: 0'), 'scenarios/bad.yaml', 'bad')
      throw new Error('expected the scenario to be rejected')
    } catch (err) {
      const lines = (err as Error).message.split('\n')
      expect(lines).toContain('scenarios/bad.yaml:9:13: workload.requests: expected a positive number')
      expect(lines.some((l) => l.startsWith('scenarios/bad.yaml:17:9: variants[0].expect[0]: unknown failure class "stale-sockt"; did you mean "causes.stale-socket"'))).toBe(true)
    }
  })

  it('marks a variant without connector and compat as a contract, and the others bundled-only with the reason', () => {
    const s = parseScenario(valid.replace(/variants:\n/, 'variants:\n  - name: plain\n    expect: [failures.total == 0]\n  - name: buggy\n    proxy: { compat: [lb-healthy-only] }\n    expect: [failures.total == 0]\n'), 'x.yaml', 'x')
    expect(s.variants.map((v) => [v.name, v.contract, v.bundledOnly])).toEqual([
      ['plain', true, undefined],
      ['buggy', false, 'replays compat lb-healthy-only, which an external proxy cannot be told'],
      ['naive', false, 'sets a connector profile, which an external proxy cannot be told'],
    ])
  })

  it('keeps a duration that follows a constant, for each run to resolve', () => {
    const s = parseScenario(valid.replace('gapOfIdle: 0.5', 'gapMs: { constant: recoverMs, plusMs: 800 }').replace('idleMs: 400', 'idleMs: { constant: headersTimeoutMs, times: 2 }'), 'x.yaml', 'x')
    expect(s.workload.gap).toEqual({ constant: 'recoverMs', times: 1, plusMs: 800 })
    expect(s.upstreams[0]!.faults[0]).toMatchObject({ idleMs: { constant: 'headersTimeoutMs', times: 2 } })
  })

  it('reports every problem at once, not just the first', () => {
    const text = valid.replace('kind: idle-close', 'kind: nope').replace('failures.total == 0', 'what == 0')
    const found = problems(text)
    expect(found.some((p) => p.startsWith('upstreams[0].faults[0].kind: '))).toBe(true)
    expect(found.some((p) => p.startsWith('variants[0].expect[0]: '))).toBe(true)
  })

  it('reports a fault parameter in the same round as a schema error elsewhere (a reviewer met them in two rounds)', () => {
    const text = valid.replace('idleMs: 400', 'idleMS: 400').replace('requests: 4', 'requests: four')
    const found = problems(text)
    expect(found.some((p) => p.startsWith('workload.requests: '))).toBe(true)
    expect(found.some((p) => p.startsWith('upstreams[0].faults[0].idleMS: '))).toBe(true)
  })
})

describe('loadScenario', () => {
  it('loads a bundled scenario by name', async () => {
    const s = await loadScenario('stale-keepalive')
    expect(s.name).toBe('stale-keepalive')
    expect(s.variants.map((v) => v.name)).toEqual(['contract', 'naive-keepalive', 'force-close', 'tuned-keepalive', 'tuned-keepalive-known-idle'])
    expect(s.variants.map((v) => v.contract)).toEqual([true, false, false, false, false])
    expect(s.workload.gap).toBe(300)
  })

  it('names the bundled scenarios when one is not found', async () => {
    await expect(loadScenario('no-such-scenario')).rejects.toThrow(UsageError)
    await expect(loadScenario('no-such-scenario')).rejects.toThrow(/Bundled: .*stale-keepalive/)
  })
})
