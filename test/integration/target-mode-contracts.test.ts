/**
 * The bundled proxy passes every contract, and gives the same verdicts run after run.
 * Each target is a separate process driven through the CLI as a user's CI drives it. One of four
 * target-mode-*.test.ts files (one until they were split so that they run at once); shared pieces in
 * test/helpers/target-mode.ts.
 */
import { describe, expect, it } from 'vitest'
import { listBundledScenarios } from '../../src/harness/scenario/load.ts'
import { runCli } from '../helpers/cli.ts'
import { bundled, profile, runAll, targetJobs, whyFailed } from '../helpers/target-mode.ts'

describe('target mode against reference targets', () => {
  it('runs a contract of every bundled scenario against `qcc-lab proxy start`, and every one passes', async () => {
    const { code, report } = await runAll(bundled())
    expect(code, whyFailed(report)).toBe(0)
    const names = await listBundledScenarios()
    expect(report.scenarios.map((s: { name: string }) => s.name)).toEqual(names)
    for (const s of report.scenarios) {
      expect(s.variants.length, s.name).toBeGreaterThanOrEqual(1)
      for (const v of s.variants) {
        expect(v, `${s.name}/${v.name}`).toMatchObject({ contract: true, mode: 'target', verdict: 'pass', connector: 'n/a' })
        // The target's own constants drove the timeline, not the scenario's bundled settings.
        expect(v.constants).toMatchObject({ recoverMs: 1000, verifierIntervalMs: 2000, headersTimeoutMs: 300 })
        // Attempt events are the bundled proxy's: n/a here, never a 0 that passes.
        for (const e of v.expectations.filter((x: { check: string }) => /^attempts\./.test(x.check))) expect(e.status).toBe('n/a')
      }
    }
    expect(report.verification.ran).toBe(names.length)
    expect(report.verification.total).toBe(report.verification.ran + report.verification.bundledOnly)
  }, 240_000)
})

describe('target mode plumbing', () => {
  it('gives the same verdicts 5 runs out of 5 (--repeat 5)', async () => {
    const r = await runCli(['run', 'stale-keepalive', 'breaker-recovery', 'midstream-reset', 'failure-queue-isolation', '--repeat', '5', '--jobs', targetJobs, '--no-progress',
      '--target-profile', profile, '--target-cmd', bundled(), '--json', '-'])
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report.stability).toHaveLength(4)
    for (const s of report.stability) expect(s, `${s.scenario}/${s.variant}`).toMatchObject({ runs: 5, verdicts: ['pass'] })
  }, 240_000)
})
