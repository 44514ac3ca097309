/** Assembles the run report from scenario reports: pure, apart from the environment it is given. */
import { runReportSchema, type RunReport, type ScenarioReport, type StabilityEntry } from './types.ts'

export function buildRunReport(input: {
  readonly scenarios: readonly ScenarioReport[]
  readonly repeat: number
  readonly startedAt: string
  readonly durationMs: number
  readonly environment: RunReport['environment']
  readonly target?: RunReport['target']
}): RunReport {
  const variants = input.scenarios.flatMap((s) => s.variants)
  const bundledOnly = input.scenarios.reduce((n, s) => n + s.bundledOnly.length, 0)
  const verification = {
    ran: variants.filter((v) => v.verdict !== 'n/a').length,
    bundledOnly,
    total: variants.length + bundledOnly,
    notEvaluable: variants.reduce((n, v) => n + v.expectations.filter((e) => e.status === 'n/a').length, 0),
  }
  const failed = input.scenarios.some((s) => s.verdict === 'fail')
    || verification.ran === 0
    || (input.target?.strict === true && bundledOnly > 0)
  return {
    schema: runReportSchema,
    verdict: failed ? 'fail' : 'pass',
    startedAt: input.startedAt,
    durationMs: Math.round(input.durationMs),
    repeat: input.repeat,
    ...(input.target ? { target: input.target } : {}),
    verification,
    environment: input.environment,
    scenarios: input.scenarios,
    stability: stability(input.scenarios),
  }
}

/** How often each expectation held across repetitions, and whether the verdicts and failure counts moved. */
export function stability(scenarios: readonly ScenarioReport[]): StabilityEntry[] {
  const byKey = new Map<string, { scenario: string; variant: string; runs: number; verdicts: Set<string>; held: Map<string, number>; notEvaluable: Map<string, number>; failures: Set<number>; stale: Set<number> }>()
  for (const s of scenarios) {
    for (const v of s.variants) {
      const key = `${s.name}\u0000${v.name}`
      let entry = byKey.get(key)
      if (!entry) {
        entry = { scenario: s.name, variant: v.name, runs: 0, verdicts: new Set(), held: new Map(), notEvaluable: new Map(), failures: new Set(), stale: new Set() }
        byKey.set(key, entry)
      }
      entry.runs++
      entry.verdicts.add(v.verdict)
      for (const e of v.expectations) {
        entry.held.set(e.name, (entry.held.get(e.name) ?? 0) + (e.pass ? 1 : 0))
        if (e.status === 'n/a') entry.notEvaluable.set(e.name, (entry.notEvaluable.get(e.name) ?? 0) + 1)
      }
      entry.failures.add(Object.values(v.failures).reduce((a, b) => a + b, 0))
      entry.stale.add(v.attempts.staleSocket)
    }
  }
  return [...byKey.values()].map((e) => ({
    scenario: e.scenario,
    variant: e.variant,
    runs: e.runs,
    verdicts: [...e.verdicts].sort(),
    expectations: [...e.held].map(([name, held]) => ({ name, held, ...(e.notEvaluable.has(name) ? { notEvaluable: e.notEvaluable.get(name)! } : {}) })),
    failureCounts: [...e.failures].sort((a, b) => a - b),
    staleSocketCounts: [...e.stale].sort((a, b) => a - b),
  }))
}
