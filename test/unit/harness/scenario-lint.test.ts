import { describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import { lintScenario, validatesIdleSockets, idleExpiryMs, formatLintLine, raceSuggestion, type LintWarning } from '../../../src/harness/scenario/lint.ts'
import { listBundledScenarios, loadScenario } from '../../../src/harness/scenario/load.ts'
import { parseScenario } from '../../../src/harness/scenario/parse.ts'
import { connectorProfiles } from '../../../src/proxy/connector/profiles.ts'

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/scenarios/${name}`, import.meta.url))
const undici = { undiciVersion: '8.13.1' }

/** A scenario with one upstream, built from its faults, pacing and variants. */
function scenario(opts: { faults: string; pacing?: string; workload?: string; variants?: string }): ReturnType<typeof parseScenario> {
  const text = `
description: lint case
upstreams:
  - name: relay
    faults:
${opts.faults.trim().split('\n').map((l) => `      ${l}`).join('\n')}
workload:
  requests: 12
${opts.workload ?? ''}${opts.pacing ? `  pacing: ${opts.pacing}\n` : ''}variants:
${(opts.variants ?? `  - name: naive
    connector: naive-keepalive
    proxy: { attempts: { max: 1 } }
    expect: [attempts.staleSocket >= 1]`)}
`
  return parseScenario(text, 'case.yaml', 'case')
}

const rules = (ws: readonly LintWarning[]): string[] => ws.map((w) => w.rule)

describe('lintScenario', () => {
  it('finds nothing to say about any bundled scenario', async () => {
    for (const name of await listBundledScenarios()) {
      const warnings = lintScenario(await loadScenario(name), undici)
      expect(warnings, `${name}: ${warnings.map(formatLintLine).join('\n')}`).toEqual([])
    }
  })

  it('says why the "natural" idle-close scenario cannot reproduce, and how to fix it', async () => {
    const [w, ...more] = lintScenario(await loadScenario(fixture('natural-idle-close.yaml')), undici)
    expect(more).toEqual([])
    expect(w).toMatchObject({
      rule: 'timed-close-cannot-race',
      path: 'upstreams[0].faults[0]',
      upstream: 'relay',
      fault: 'idle-close idleMs 300',
      variants: ['contract', 'naive-keepalive'],
      unmet: [{ variant: 'naive-keepalive', check: 'attempts.staleSocket >= 1' }],
    })
    expect(w!.problem).toMatch(/400 ms pause is longer than the close at 300 ms: the FIN arrives 100 ms before the next request, and undici 8\.13\.1 sees/)
    expect(w!.fix).toContain('add `- { kind: race-close, afterIdleMs: 100 }` to relay\'s faults and set the pause to gapMs: 200 (or gapOfIdle: 0.667) in workload.pacing, inside the race window [100, 300) ms')
  })

  it('finds nothing once the fix is applied (the fixed fixture is the natural one plus the lint\'s advice)', async () => {
    expect(lintScenario(await loadScenario(fixture('natural-idle-close-fixed.yaml')), undici)).toEqual([])
  })

  it('turns the README\'s first try into its worked example (a 5 s relay close), which lints clean', async () => {
    const [w, ...more] = lintScenario(await loadScenario(fixture('my-relay-first-try.yaml')), undici)
    expect(more).toEqual([])
    expect(w!.fix).toContain('add `- { kind: race-close, afterIdleMs: 4000 }` to my-relay\'s faults and set the pause to gapMs: 4500 (or gapOfIdle: 0.9)')
    expect(lintScenario(await loadScenario(fixture('my-relay.yaml')), undici)).toEqual([])
  })

  it('does not flag a close that already arrived on an undici that reuses such sockets (before 8.5 / 7.28)', async () => {
    const s = await loadScenario(fixture('natural-idle-close.yaml'))
    expect(lintScenario(s, { undiciVersion: '8.4.0' })).toEqual([])
    expect(lintScenario(s, { undiciVersion: '7.27.2' })).toEqual([])
    expect(rules(lintScenario(s, { undiciVersion: '7.28.0' }))).toEqual(['timed-close-cannot-race'])
  })

  it.each([
    ['8.13.1', true], ['8.5.0', true], ['8.4.9', false], ['9.0.0', true], ['7.28.1', true], ['7.27.0', false], ['6.21.0', false], ['unknown', true],
  ])('knows whether undici %s checks idle sockets before reuse (%s)', (version, expected) => {
    expect(validatesIdleSockets(version)).toBe(expected)
  })

  describe('timed-close-cannot-race', () => {
    it('says a pause within the jitter of the close races only by chance', () => {
      const [w] = lintScenario(scenario({ faults: '- { kind: idle-close, idleMs: 300, keepAliveHeader: lying }', pacing: '{ burst: 2, gapMs: 310 }' }), undici)
      expect(w).toMatchObject({ rule: 'timed-close-cannot-race', summary: 'the 310 ms pause races the close only by chance' })
    })

    it('says a close longer than every pause never fires while requests flow', () => {
      const [w] = lintScenario(scenario({ faults: '- { kind: idle-close, idleMs: 300, keepAliveHeader: lying }', pacing: '{ burst: 2, gapMs: 100 }' }), undici)
      expect(w).toMatchObject({ rule: 'timed-close-cannot-race', summary: 'the close never fires while requests flow' })
      expect(w!.problem).toMatch(/the longest idle before a request is the 100 ms pause, below the close at 300 ms/)
    })

    it('says a close right after each response races nothing when no request follows one back to back', () => {
      const [w] = lintScenario(scenario({ faults: '- { kind: close-after-response, afterMs: 1 }', pacing: '{ burst: 1, gapMs: 50 }' }), undici)
      expect(w).toMatchObject({ rule: 'timed-close-cannot-race', fault: 'close-after-response afterMs 1' })
      expect(lintScenario(scenario({ faults: '- { kind: close-after-response, afterMs: 1 }', workload: '  concurrency: 4\n' }), undici)).toEqual([])
    })

    it('treats a longer close-after-response as a timed close', () => {
      expect(rules(lintScenario(scenario({ faults: '- { kind: close-after-response, afterMs: 200 }', pacing: '{ burst: 2, gapMs: 400 }' }), undici))).toEqual(['timed-close-cannot-race'])
    })

    it('suggests a realistic timeout when the close is too short for a race to land every run', () => {
      const [w] = lintScenario(scenario({ faults: '- { kind: idle-close, idleMs: 60 }', pacing: '{ burst: 2, gapMs: 200 }' }), undici)
      expect(w!.fix).toMatch(/model the relay's timeout at 225 ms or more/)
    })
  })

  describe('gap-outside-race-window', () => {
    const faults = '- { kind: idle-close, idleMs: 400, keepAliveHeader: lying }\n- { kind: race-close, afterIdleMs: 100 }'

    it('is quiet inside the window', () => {
      expect(lintScenario(scenario({ faults, pacing: '{ burst: 4, gapMs: 150 }' }), undici)).toEqual([])
    })

    it.each([
      ['a pause shorter than afterIdleMs', '{ burst: 4, gapMs: 80 }', /race-close never acts: the 80 ms pause is shorter than afterIdleMs/],
      ['a pause past the idle close', '{ burst: 4, gapMs: 500 }', /the close at 400 ms comes before race-close can act/],
      ['a pause at the window\'s upper edge', '{ burst: 4, gapMs: 390 }', /the 390 ms pause is at the edge of the race window/],
      ['no pause at all', undefined, /race-close never acts: there is no pause/],
    ])('flags %s', (_label, pacing, summary) => {
      const ws = lintScenario(scenario({ faults, pacing }), undici)
      expect(rules(ws)).toEqual(['gap-outside-race-window'])
      expect(ws[0]!.summary).toMatch(summary)
      expect(ws[0]!.unmet).toEqual([{ variant: 'naive', check: 'attempts.staleSocket >= 1' }])
    })

    it('bounds the window by the server\'s own 5 s idle close when no fault owns it', () => {
      expect(rules(lintScenario(scenario({ faults: '- { kind: race-close, afterIdleMs: 100 }', pacing: '{ burst: 2, gapMs: 6000 }' }), undici))).toEqual(['gap-outside-race-window'])
      expect(lintScenario(scenario({ faults: '- { kind: race-close, afterIdleMs: 100 }', pacing: '{ burst: 2, gapMs: 200 }' }), undici)).toEqual([])
    })

    it('flags afterIdleMs inside the idle of back-to-back requests', () => {
      const [w] = lintScenario(scenario({ faults: '- { kind: race-close, afterIdleMs: 5 }', pacing: '{ burst: 4, gapMs: 150 }' }), undici)
      expect(w).toMatchObject({ rule: 'gap-outside-race-window', summary: 'afterIdleMs sits inside the jitter of back-to-back requests' })
    })

    it('follows a pause that follows a constant, per variant', () => {
      const s = scenario({
        faults,
        pacing: '{ burst: 4, gapMs: { constant: recoverMs, plusMs: 50 } }',
        variants: `  - name: short
    proxy: { recoverAfterMs: 100 }
    expect: [failures.total == 0]
  - name: long
    proxy: { recoverAfterMs: 1000 }
    expect: [failures.total == 0]`,
      })
      const ws = lintScenario(s, undici)
      expect(ws.map((w) => [w.rule, w.variants])).toEqual([['gap-outside-race-window', ['long']]])
    })
  })

  describe('client-never-reuses', () => {
    const faults = '- { kind: idle-close, idleMs: 5000 }\n- { kind: race-close, afterIdleMs: 1000 }'
    const tuned = `  - name: tuned
    connector: tuned-keepalive
    proxy: { attempts: { max: 1 } }
    expect: [attempts.staleSocket >= 1]`

    it('flags a variant whose connector expires the connection (hint - margin) before the pause ends', () => {
      const [w, ...more] = lintScenario(scenario({ faults, pacing: '{ burst: 2, gapMs: 3500 }', variants: tuned }), undici)
      expect(more).toEqual([])
      expect(w).toMatchObject({ rule: 'client-never-reuses', path: 'variants[0]', variants: ['tuned'] })
      expect(w!.problem).toMatch(/gives an idle connection up after 3000 ms \(the upstream's Keep-Alive: timeout=5 minus its 2000 ms margin\), before the 3500 ms idle/)
      expect(lintScenario(scenario({ faults, pacing: '{ burst: 2, gapMs: 2500 }', variants: tuned }), undici)).toEqual([])
    })

    it('flags a force-close variant that expects a stale socket, and not one that expects none', () => {
      const variants = `  - name: fc
    connector: force-close
    expect: [attempts.staleSocket > 0]
  - name: fc-fix
    connector: force-close
    expect: [attempts.staleSocket == 0]`
      const ws = lintScenario(scenario({ faults, pacing: '{ burst: 2, gapMs: 2500 }', variants }), undici)
      expect(ws.map((w) => [w.rule, w.variants])).toEqual([['client-never-reuses', ['fc']]])
      expect(ws[0]!.problem).toMatch(/it never reuses a connection \(Connection: close\)/)
      // The suggested connector, applied, must clear the warning (it once suggested force-close again).
      const suggested = /\(connector: (\{ profile: [^}]+\})\)/.exec(ws[0]!.fix)?.[1]
      expect(suggested).toBeDefined()
      const fixed = variants.replace('    connector: force-close\n    expect: [attempts.staleSocket > 0]', `    connector: ${suggested}\n    expect: [attempts.staleSocket > 0]`)
      expect(lintScenario(scenario({ faults, pacing: '{ burst: 2, gapMs: 2500 }', variants: fixed }), undici).map((w) => w.rule)).toEqual([])
    })
  })

  it('flags a request fault that never acts', () => {
    const ws = lintScenario(scenario({ faults: '- { kind: error-response, status: 529, probability: 0 }\n- { kind: error-response, status: 500, fromRequest: 1000 }' }), undici)
    expect(ws.map((w) => [w.rule, w.path])).toEqual([['fault-never-acts', 'upstreams[0].faults[0]'], ['fault-never-acts', 'upstreams[0].faults[1]']])
    expect(ws[1]!.problem).toMatch(/starts at request 1000 and at most 24 requests reach relay/)
  })

  it('flags a schedule on a fault that acts on idle connections, where it has no effect', () => {
    const ws = lintScenario(scenario({ faults: '- { kind: idle-close, idleMs: 400, probability: 0.5 }\n- { kind: race-close, afterIdleMs: 100 }', pacing: '{ burst: 2, gapMs: 150 }' }), undici)
    expect(ws.map((w) => [w.rule, w.summary])).toEqual([['schedule-ignored', 'probability has no effect here']])
  })

  it('flags advertisedMs on an idle-close whose header is absent or honest (a new user wrote it with absent)', () => {
    const race = '\n- { kind: race-close, afterIdleMs: 100 }'
    for (const header of ['absent', 'honest']) {
      const ws = lintScenario(scenario({ faults: `- { kind: idle-close, idleMs: 400, keepAliveHeader: ${header}, advertisedMs: 60000 }${race}`, pacing: '{ burst: 2, gapMs: 150 }' }), undici)
      expect(ws.map((w) => [w.rule, w.path, w.summary])).toEqual([['param-ignored', 'upstreams[0].faults[0]', `advertisedMs has no effect with keepAliveHeader: ${header}`]])
    }
    const lying = lintScenario(scenario({ faults: `- { kind: idle-close, idleMs: 400, keepAliveHeader: lying, advertisedMs: 60000 }${race}`, pacing: '{ burst: 2, gapMs: 150 }' }), undici)
    expect(lying).toEqual([])
  })
})

describe('raceSuggestion', () => {
  it.each([
    [300, { afterIdleMs: 100, gapMs: 200 }],
    [400, { afterIdleMs: 200, gapMs: 300 }],
    [5000, { afterIdleMs: 4000, gapMs: 4500 }],
    [60_000, { afterIdleMs: 48_000, gapMs: 54_000 }],
    [200, undefined],
  ])('puts the pause a margin below a close at %i ms, and race-close a margin below the pause', (closeMs, expected) => {
    expect(raceSuggestion(closeMs)).toEqual(expected)
  })
})

describe('idleExpiryMs', () => {
  const s = connectorProfiles
  it.each([
    ['tuned-keepalive with a 60 s hint', s['tuned-keepalive'].settings, 'timeout=60', 58_000],
    ['tuned-keepalive with a 2 s hint: no reuse at all', s['tuned-keepalive'].settings, 'timeout=2', 0],
    ['tuned-keepalive without a hint', s['tuned-keepalive'].settings, null, 4_000],
    ['naive-keepalive ignores the hint', s['naive-keepalive'].settings, 'timeout=5', 60_000],
    ['force-close never reuses', s['force-close'].settings, 'timeout=60', 0],
  ])('%s', (_label, settings, header, expected) => {
    expect(idleExpiryMs(settings, header)).toBe(expected)
  })
})
