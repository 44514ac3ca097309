/**
 * The catalogue: every bundled scenario runs in-process, every expectation holds, and every scenario has
 * a "before" variant that shows the failure and an "after" variant that shows it gone (their expectations
 * say which). One new YAML file in scenarios/ is picked up here with no code change.
 */
import { describe, expect, it } from 'vitest'
import { listBundledScenarios, loadScenario } from '../../src/harness/scenario/load.ts'
import { runScenario } from '../../src/harness/runner/run-scenario.ts'

const names = await listBundledScenarios()

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
    const { report } = await runScenario(scenario)
    const failed = report.variants.flatMap((v) => v.expectations.filter((e) => !e.pass).map((e) => `${v.name}: ${e.name} (expected ${e.expected}, got ${e.actual}); ${v.diagnosis[0]?.explanation ?? ''}`))
    expect(failed).toEqual([])
  }, 90_000)
})
