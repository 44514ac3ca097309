/**
 * FaultSpec is a union discriminated by `kind`, derived from each fault file's `params` schema. tsc checks
 * this file (`npm test` type-checks test/): each `@ts-expect-error` must meet a type error, so a FaultSpec
 * that let a misspelt parameter through would fail the type check. Vitest checks that the runtime refuses
 * the same specs, for JavaScript callers and casts.
 */
import { describe, expect, it } from 'vitest'
import { QccLabError, startFakeUpstream, type FaultSpec, type FaultSpecOf, type ScenarioFault, type UpstreamSpec } from '../../src/index.ts'

/** Every kind, with its own parameters and the schedule every kind shares. */
export const typed: FaultSpec[] = [
  { kind: 'idle-close', idleMs: 300 },
  { kind: 'idle-close', idleMs: 300, mode: 'rst', keepAliveHeader: 'lying', advertisedMs: 60_000, probability: 0.5, fromRequest: 2 },
  { kind: 'race-close', afterIdleMs: 100, mode: 'fin', cycle: { on: 1, off: 2 } },
  { kind: 'error-response', status: 529, retryAfterS: 1 },
  { kind: 'reset-mid-stream', afterEvents: 2 },
  { kind: 'delay-response', delayMs: 100, untilRequest: 3 },
  { kind: 'close-after-response', afterMs: 0 },
]

export const one: FaultSpecOf<'idle-close'> = { kind: 'idle-close', idleMs: 300 }

/** In a scenario a `…Ms` parameter may follow a proxy constant; other parameters may not. */
export const inScenario: ScenarioFault[] = [
  { kind: 'delay-response', delayMs: { constant: 'headersTimeoutMs', plusMs: 10_000 } },
  // @ts-expect-error `status` is no duration: it cannot follow a constant
  { kind: 'error-response', status: { constant: 'recoverMs' } },
]

// Misspelt parameter (the new user's idleMS), a parameter of another kind, a bad value, an unknown kind:
// each line is a type error and the same spec is refused at start with the field named.
const refused: Array<{ spec: UpstreamSpec; problem: RegExp }> = [
  // @ts-expect-error idleMS is not idle-close's idleMs
  { spec: { faults: [{ kind: 'idle-close', idleMS: 300 }] }, problem: /faults\[0\]\.idleMS: unknown field/ },
  // @ts-expect-error afterIdleMs belongs to race-close
  { spec: { faults: [{ kind: 'idle-close', idleMs: 300, afterIdleMs: 5 }] }, problem: /faults\[0\]\.afterIdleMs: unknown field/ },
  // @ts-expect-error mode is fin or rst
  { spec: { faults: [{ kind: 'race-close', mode: 'fn' }] }, problem: /faults\[0\]\.mode: expected one of "fin", "rst"/ },
  // @ts-expect-error no such kind
  { spec: { faults: [{ kind: 'slow-loris' }] }, problem: /faults\[0\]\.kind: unknown fault kind "slow-loris"/ },
]

describe('fault specs', () => {
  it.each(refused)('refuses at start what the types refuse: $problem', async ({ spec, problem }) => {
    const start = startFakeUpstream(spec)
    await expect(start).rejects.toThrow(QccLabError)
    await expect(start).rejects.toThrow(problem)
  })

  it('starts with every typed kind', async () => {
    await using upstream = await startFakeUpstream({ faults: typed })
    expect(upstream.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })
})
