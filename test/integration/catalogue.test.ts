/**
 * The catalogue: every bundled scenario runs in-process, every expectation holds, and every scenario has
 * a "before" variant that shows the failure and an "after" variant that shows it gone (their expectations
 * say which). One new YAML file in scenarios/ is picked up here with no code change.
 *
 * The scenarios run as `qcc-lab run --all` runs them: all asked for at once, sharing one pool of
 * `defaultJobs` variants at a time (a scenario's `concurrency: alone|serial` holds). One at a time, with no
 * pool, is how stale-keepalive.test.ts, readme-example.test.ts and test-api.test.ts run theirs.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { defaultJobs } from '../../src/cli/commands/run.ts'
import { listBundledScenarios, loadScenario } from '../../src/harness/scenario/load.ts'
import { runScenario, variantSlots, type ScenarioRun } from '../../src/harness/runner/run-scenario.ts'

const names = await listBundledScenarios()
const runs = new Map<string, Promise<ScenarioRun>>()

beforeAll(() => {
  const slots = variantSlots(defaultJobs)
  for (const name of names) {
    const run = loadScenario(name).then((scenario) => runScenario(scenario, { slots }))
    run.catch(() => {}) // awaited (and reported) by its own test
    runs.set(name, run)
  }
})

describe('the scenario catalogue', () => {
  it('holds at least the scenarios the project promises', () => {
    for (const n of ['stale-keepalive', 'all-endpoints-failed', 'seed-502-chain', 'failure-queue-isolation', 'breaker-recovery',
      'midstream-reset', 'overloaded-529', 'rate-limit-429', 'upstream-timeout-504', 'auth-401-concurrent', 'ok-200-error-body', 'flapping-endpoint']) {
      expect(names).toContain(n)
    }
  })

  it.each(names)('%s: every expectation of every variant holds', async (name) => {
    const scenario = await loadScenario(name)
    expect(scenario.variants.length, 'a before and an after variant').toBeGreaterThanOrEqual(2)
    expect(scenario.rootCause, 'explains its root cause').toBeTruthy()
    const { report } = await runs.get(name)!
    const failed = report.variants.flatMap((v) => v.expectations.filter((e) => !e.pass).map((e) => `${v.name}: ${e.name} (expected ${e.expected}, got ${e.actual}); ${v.diagnosis[0]?.explanation ?? ''}`))
    expect(failed).toEqual([])
  }, 90_000)
})
