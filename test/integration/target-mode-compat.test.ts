/**
 * The bundled proxy replaying a historical qcc bug fails exactly the contracts that bug breaks.
 * Each target is a separate process driven through the CLI as a user's CI drives it. One of four
 * target-mode-*.test.ts files (one until they were split so that they run at once); shared pieces in
 * test/helpers/target-mode.ts.
 */
import { describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import { bundled, failing, runAll, whyFailed } from '../helpers/target-mode.ts'

describe('target mode against reference targets', () => {
  it.each([
    ['lb-healthy-only', 'qcc', ['all-endpoints-failed', 'breaker-recovery', 'flapping-endpoint', 'midstream-reset', 'overloaded-529', 'rate-limit-429']],
    ['buffered-streaming', 'qcc', ['midstream-reset', 'slow-stream']],
    ['qcc-0.6.1', 'qcc', ['all-endpoints-failed', 'flapping-endpoint', 'midstream-reset', 'overloaded-529', 'slow-stream']],
    // The cluster is the default profile: qcc's silent fallback to it (ignoring the failure queue) hides
    // the outages that end in "All 0 endpoints failed" with the layout qcc add leaves.
    ['qcc-0.6.1', 'cluster-default', ['midstream-reset', 'slow-stream']],
  ])('fails exactly the contracts that --compat %s breaks (config layout %s)', async (compat, layout, broken) => {
    const { code, report } = await runAll(bundled(` --compat ${compat}`), ['--config-layout', layout])
    expect(code).toBe(1)
    expect(failing(report), whyFailed(report)).toEqual(broken)
    for (const s of report.scenarios.filter((x: { verdict: string }) => x.verdict === 'fail')) {
      for (const k of s.keptHomes) rmSync(k.home, { recursive: true, force: true })
    }
  }, 240_000)

})
