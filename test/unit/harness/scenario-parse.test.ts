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
    expect(e.message.split('\n').every((line) => line.startsWith('scenarios/bad.yaml: '))).toBe(true)
    return [...e.issues]
  }
  throw new Error('expected the scenario to be rejected')
}

describe('parseScenario', () => {
  it('accepts a valid scenario and applies defaults', () => {
    const s = parseScenario(valid, 'x.yaml', 'fallback')
    expect(s.name).toBe('fallback')
    expect(s.seed).toBe(1)
    expect(s.workload).toMatchObject({ requests: 4, concurrency: 1, stream: false, burst: 2, gapMs: 200 })
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
    ['an unknown fault kind', valid.replace('kind: idle-close', 'kind: idle-clsoe'), /^upstreams\[0\]\.faults\[0\]\.kind: unknown fault kind "idle-clsoe"; expected one of idle-close, race-close, error-response, reset-mid-stream, delay-response$/],
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
  ])('rejects %s, naming the field', (_label, text, pattern) => {
    const found = problems(text)
    expect(found.some((p) => pattern.test(p)), `problems were:\n${found.join('\n')}`).toBe(true)
  })

  it('reports every problem at once, not just the first', () => {
    const text = valid.replace('kind: idle-close', 'kind: nope').replace('failures.total == 0', 'what == 0')
    const found = problems(text)
    expect(found.some((p) => p.startsWith('upstreams[0].faults[0].kind: '))).toBe(true)
    expect(found.some((p) => p.startsWith('variants[0].expect[0]: '))).toBe(true)
  })
})

describe('loadScenario', () => {
  it('loads a bundled scenario by name', async () => {
    const s = await loadScenario('stale-keepalive')
    expect(s.name).toBe('stale-keepalive')
    expect(s.variants.map((v) => v.name)).toEqual(['naive-keepalive', 'force-close', 'tuned-keepalive', 'tuned-keepalive-known-idle'])
    expect(s.workload.gapMs).toBe(150)
  })

  it('names the bundled scenarios when one is not found', async () => {
    await expect(loadScenario('no-such-scenario')).rejects.toThrow(UsageError)
    await expect(loadScenario('no-such-scenario')).rejects.toThrow(/Bundled: .*stale-keepalive/)
  })
})
