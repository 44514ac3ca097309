/**
 * The foundation's promise, end to end and in-process: the bundled stale-keepalive scenario shows the
 * failure with naive keep-alive, its absence with force-close and tuned keep-alive, with the same counts
 * every run, its variants at once (as `qcc-lab run` runs them) or one at a time (the fake upstream
 * controls the timing), and leaves nothing running.
 */
import { describe, expect, it, vi } from 'vitest'
import { loadScenario } from '../../src/harness/scenario/load.ts'
import { runScenario } from '../../src/harness/runner/run-scenario.ts'
import type { Scenario } from '../../src/harness/scenario/schema.ts'

const tcpHandles = (): number => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length

/** `jobs`: variants at once; 5 is the CLI's default (`qcc-lab run`), 1 the API's. */
async function runOnce(scenario: Scenario, jobs: number) {
  const { report } = await runScenario(scenario, { jobs })
  return report.variants
}

describe('stale-keepalive scenario', () => {
  it('reproduces the failure with naive keep-alive and removes it with force-close and tuned keep-alive, with the same counts whether its variants run at once or one at a time, leaving no socket open', async () => {
    const scenario = await loadScenario('stale-keepalive')
    const before = tcpHandles()
    const first = await runOnce(scenario, 5)
    const second = await runOnce(scenario, 1)

    const figures = (v: (typeof first)[number]) => ({
      verdict: v.verdict,
      failures: v.failures,
      staleSocket: v.attempts.staleSocket,
      retried: v.attempts.retried,
      connections: v.upstream.connections,
      duplicates: v.upstream.duplicates,
    })
    const byName = Object.fromEntries(first.map((v) => [v.name, figures(v)]))
    // 28 requests in bursts of 4: the first request after each of the 6 pauses crosses the relay's close.
    expect(byName).toEqual({
      contract: { verdict: 'pass', failures: {}, staleSocket: 6, retried: 6, connections: 13, duplicates: 0 },
      'naive-keepalive': { verdict: 'pass', failures: { 'http-502': 6 }, staleSocket: 6, retried: 0, connections: 7, duplicates: 0 },
      'force-close': { verdict: 'pass', failures: {}, staleSocket: 0, retried: 0, connections: 28, duplicates: 0 },
      'tuned-keepalive': { verdict: 'pass', failures: {}, staleSocket: 6, retried: 6, connections: 13, duplicates: 0 },
      'tuned-keepalive-known-idle': { verdict: 'pass', failures: {}, staleSocket: 0, retried: 0, connections: 7, duplicates: 0 },
    })
    expect(second.map(figures)).toEqual(first.map(figures))
    await vi.waitFor(() => expect(tcpHandles()).toBeLessThanOrEqual(before), { timeout: 10_000 })
  }, 90_000)
})
