/**
 * Writing a scenario, as a user does it: `qcc-lab schema`, `qcc-lab lint`, `qcc-lab list --metrics`, `qcc-lab run <file>`.
 * schema, lint and list read and print only: they run in this process (runCliInProcess, output captured as a pipe
 * sees it, a few ms instead of a Node start of ~0.3 CPU-s), and a sample of them also in a real child, which must
 * answer exactly alike. The runs are real children.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { childAndInProcess, runCli, runCliInProcess } from '../helpers/cli.ts'
import { jsonSchemaNames, jsonSchemas } from '../../src/harness/scenario/json-schema.ts'
import { metricPaths, metricProblem, upstreamFields } from '../../src/harness/gate/expectation.ts'
import { clientFailureClasses } from '../../src/harness/report/failure-class.ts'
import { attemptOutcomes } from '../../src/proxy/outcome.ts'

const natural = 'test/fixtures/scenarios/natural-idle-close.yaml'
const fixed = 'test/fixtures/scenarios/natural-idle-close-fixed.yaml'
let dir: string

beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-authoring-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('qcc-lab schema', () => {
  it.each(jsonSchemaNames)('prints the %s schema, exactly the committed file in schemas/', async (name) => {
    const r = await runCliInProcess(['schema', name])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(await readFile(path.join('schemas', jsonSchemas[name].file), 'utf8'))
  })

  it('writes it to a file with --out', async () => {
    const out = path.join(dir, 'scenario.schema.json')
    const r = await runCliInProcess(['schema', 'scenario', '--out', out])
    expect(r).toMatchObject({ code: 0, stdout: '' })
    expect(await readFile(out, 'utf8')).toBe(await readFile('schemas/scenario.schema.json', 'utf8'))
  })

  it('refuses an unknown schema name with exit 2 and the choices', async () => {
    const r = await runCliInProcess(['schema', 'scenarios'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/Allowed choices are scenario, proxy-config/)
  })
})

describe('qcc-lab lint', () => {
  it('prints each warning at file:line:column with why, the expectation it defeats, and the fix; exit 0', async () => {
    const r = await runCliInProcess(['lint', natural, fixed])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`${natural}:10:9: warning timed-close-cannot-race: relay idle-close idleMs 300 (variants contract, naive-keepalive)`)
    expect(r.stdout).toMatch(/ {2}why: the 400 ms pause is longer than the close at 300 ms: the FIN arrives 100 ms before the next request/)
    expect(r.stdout).toContain('  cannot hold: naive-keepalive: attempts.staleSocket >= 1')
    expect(r.stdout).toContain('  fix: add `- { kind: race-close, afterIdleMs: 100 }` to relay\'s faults')
    expect(r.stdout).toContain(`${fixed}: ok`)
    expect(r.stdout).toMatch(/1 warning in 2 files \(undici \d+\.\d+\.\d+\)/)
  })

  it('exits 1 on a warning with --strict, 0 on a clean file', async () => {
    expect((await runCliInProcess(['lint', '--strict', natural])).code).toBe(1)
    expect((await runCliInProcess(['lint', '--strict', fixed])).code).toBe(0)
  })

  it('writes JSON with --json', async () => {
    const r = await runCliInProcess(['lint', '--json', natural])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as { schema: string; warnings: number; files: Array<{ file: string; warnings: Array<Record<string, unknown>> }> }
    expect(report).toMatchObject({ schema: 'qcc-lab/lint@1', warnings: 1 })
    expect(report.files[0]!.warnings[0]).toMatchObject({ rule: 'timed-close-cannot-race', path: 'upstreams[0].faults[0]', line: 10, column: 9, variants: ['contract', 'naive-keepalive'] })
  })

  it('finds every bundled scenario clean (--all)', async () => {
    const r = await runCliInProcess(['lint', '--all', '--strict'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/\n0 warnings in 1\d files/)
  })

  it('is exit 2 with file:line:column for a file that does not load, and without a file', async () => {
    const bad = path.join(dir, 'bad.yaml')
    await writeFile(bad, (await readFile(natural, 'utf8')).replace('requests: 10', 'reqeusts: 10'))
    const r = await runCliInProcess(['lint', bad])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/bad\.yaml:\d+:\d+: workload\.reqeusts: unknown field/)
    const none = await runCliInProcess(['lint'])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/Name at least one scenario file/)
  })
})

describe('schema, lint and list in a real child', () => {
  it('answer exactly as in this process: a schema, a lint with findings, a lint --json, a bad file, list --metrics', async () => {
    const bad = path.join(dir, 'child-bad.yaml')
    await writeFile(bad, 'description: x\nupstreams: nope\n')
    const lines = [['schema', 'scenario'], ['lint', natural, fixed], ['lint', '--json', natural], ['lint', bad], ['list', '--metrics']]
    const { children, inProcess } = await childAndInProcess(lines)
    expect(children.map((c) => c.code)).toEqual([0, 0, 0, 2, 0])
    expect(inProcess).toEqual(children)
  }, 60_000)
})

describe('qcc-lab run <file> with a setup that cannot reproduce', () => {
  type Report = { scenarios: Array<{ variants: Array<{ name: string; verdict: string; attempts: { staleSocket: number }; upstream: { connections: number } }> }> }
  const variant = (r: Report, name: string) => r.scenarios[0]!.variants.find((v) => v.name === name)!

  it('says so in a lint: line before it runs, and indeed reproduces nothing', async () => {
    const r = await runCli(['run', natural, '--json', '-', '--no-progress'])
    expect(r.code).toBe(1)
    expect(r.stderr.split('\n')[0]).toBe(`lint: ${natural}: relay idle-close idleMs 300: the 400 ms pause outlasts the close, so the FIN always comes first and nothing fails (timed-close-cannot-race; \`qcc-lab lint ${natural}\` says why and how to fix it)`)
    const naive = variant(JSON.parse(r.stdout) as Report, 'naive-keepalive')
    // Every request found the relay's FIN already there and went out on a new connection.
    expect(naive).toMatchObject({ verdict: 'fail', attempts: { staleSocket: 0 }, upstream: { connections: 10 } })
  }, 60_000)

  it('reproduces once the lint\'s fix is applied, and prints no lint: line', async () => {
    const r = await runCli(['run', fixed, '--json', '-', '--no-progress'])
    expect(r.code).toBe(0)
    expect(r.stderr).not.toMatch(/^lint:/m)
    const naive = variant(JSON.parse(r.stdout) as Report, 'naive-keepalive')
    expect(naive.verdict).toBe('pass')
    expect(naive.attempts.staleSocket).toBeGreaterThanOrEqual(1)
  }, 60_000)
})

describe('qcc-lab list --metrics', () => {
  type Entry = { metric: string; group: string; unit: string; meaning: string }
  const sample: Record<string, string> = { '<name>': 'relay-a', '<status>': '502', '<index>': '0', '<id>': 'abcd1234' }
  const concrete = (metric: string): string => metric.replace(/<[a-z]+>/g, (p) => sample[p] ?? p)
  let entries: Entry[]

  beforeAll(async () => {
    const r = await runCliInProcess(['list', '--metrics', '--json'])
    expect(r.code).toBe(0)
    const data = JSON.parse(r.stdout) as { schema: string; metrics: Entry[] }
    expect(data.schema).toBe('qcc-lab/metrics@1')
    entries = data.metrics
  })

  it('lists only metrics the expectation validator accepts', () => {
    const refused = entries.filter((e) => metricProblem(concrete(e.metric), new Set(['relay-a'])) !== undefined).map((e) => e.metric)
    expect(refused).toEqual([])
    expect(entries.every((e) => e.meaning.length > 0 && e.unit.length > 0)).toBe(true)
  })

  it('lists every metric and family the validator knows', () => {
    const listed = new Set(entries.map((e) => e.metric))
    const expected = [
      ...metricPaths,
      ...clientFailureClasses.filter((c) => c !== 'total').map((c) => `failures.${c}`),
      'failures.http-<status>',
      ...attemptOutcomes.filter((o) => o !== 'ok').flatMap((o) => [`failures.client:${o}`, `causes.${o}`]),
      'causes.no-endpoint',
      ...upstreamFields.map((f) => `upstreams.<name>.${f}`),
      'stats.failure_queue_size', 'stats.healthy_endpoints', 'stats.failure_queue_stats.total_failed', 'stats.endpoints.<index>.is_healthy',
    ]
    expect(expected.filter((m) => !listed.has(m))).toEqual([])
  })

  it('prints them grouped, with meaning and unit', async () => {
    const r = await runCliInProcess(['list', '--metrics'])
    expect(r.code).toBe(0)
    for (const text of ['What the client saw', 'failures.<class>', 'causes.<outcome>', 'upstreams.<name>.<field>', 'stats.<field>', 'latencyMs.<field>']) expect(r.stdout).toContain(text)
    expect(r.stdout).toMatch(/ {2}attempts\.staleSocket +attempts written onto a pooled connection .*\[attempts\]/)
  })
})
