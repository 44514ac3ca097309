/**
 * Variants run at once (`jobs`, shared `slots`) change nothing a run reports: the same verdicts and
 * counts as one after another, in the scenario's order whatever finishes first, and nothing starts
 * after an abort. The slots themselves: never more running than allowed, first come first served, and a
 * variant that runs alone has them all.
 */
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../src/shared/errors.ts'
import { runScenario, variantSlots, type RunEvent, type ScenarioDefinition, type VariantSlots } from '../../../src/harness/runner/run-scenario.ts'
import type { VariantReport } from '../../../src/harness/report/types.ts'

/** A promise with its resolve, to finish a job when the test says so. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => { resolve = r })
  return { promise, resolve }
}

/** Lets every pending promise callback run. */
const settle = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve() }

describe('variantSlots', () => {
  it('runs at most `jobs` at once, in the order they asked', async () => {
    const slots = variantSlots(2)
    const gates = [deferred(), deferred(), deferred(), deferred()]
    const started: number[] = []
    let running = 0
    let most = 0
    const runs = gates.map((g, i) => slots.run(async () => {
      started.push(i)
      most = Math.max(most, ++running)
      await g.promise
      running--
      return i
    }))
    await settle()
    expect(started).toEqual([0, 1])
    gates[1]!.resolve()
    await settle()
    expect(started).toEqual([0, 1, 2])
    gates[0]!.resolve()
    gates[2]!.resolve()
    gates[3]!.resolve()
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3])
    expect(most).toBe(2)
  })

  it('gives a variant that runs alone every slot, and makes those that asked after it wait behind it', async () => {
    const slots = variantSlots(3)
    const a = deferred()
    const b = deferred()
    const log: string[] = []
    const ra = slots.run(async () => { log.push('a'); await a.promise; log.push('a done') })
    const rb = slots.run(async () => { log.push('b alone'); await b.promise; log.push('b done') }, true)
    const rc = slots.run(async () => { log.push('c') })
    await settle()
    // Two slots are free, but c asked after b, and b waits for a.
    expect(log).toEqual(['a'])
    a.resolve()
    await settle()
    expect(log).toEqual(['a', 'a done', 'b alone'])
    b.resolve()
    await Promise.all([ra, rb, rc])
    expect(log).toEqual(['a', 'a done', 'b alone', 'b done', 'c'])
  })

  it('frees the slot of a job that threw', async () => {
    const slots = variantSlots(1)
    await expect(slots.run(async () => { throw new Error('boom') })).rejects.toThrow('boom')
    expect(await slots.run(async () => 'next')).toBe('next')
  })

  it('refuses a limit below 1', () => {
    expect(() => variantSlots(0)).toThrow(UsageError)
  })
})

/**
 * Three connectors against a relay that closes every reused connection as a request arrives: each
 * variant's counts differ from the others' (3 stale sockets and 3 client failures; 3 retried; none and 6
 * connections), so events counted for the wrong proxy would show.
 */
const scenario: ScenarioDefinition = {
  description: 'three connectors against a relay that closes every reused connection as a request arrives',
  upstreams: [{ name: 'relay', faults: [{ kind: 'race-close' }] }],
  proxy: { attempts: { max: 1 } },
  workload: { requests: 6 },
  variants: [
    { name: 'naive', connector: 'naive-keepalive', expect: ['attempts.staleSocket == 3', 'failures.total == 3'] },
    { name: 'tuned', connector: 'tuned-keepalive', expect: ['attempts.retried == 3', 'failures.total == 0'] },
    { name: 'force-close', connector: 'force-close', expect: ['upstream.connections == requests', 'attempts.staleSocket == 0'] },
  ],
}

/** What a run tells apart from its timing: verdicts and every count. */
function counts(v: VariantReport) {
  return {
    name: v.name, verdict: v.verdict, requests: v.requests, ok: v.ok, delivered: v.delivered, failures: v.failures, causes: v.causes,
    attempts: v.attempts, upstream: v.upstream, upstreams: v.upstreams,
    expectations: v.expectations.map((e) => [e.name, e.status, e.actual]),
    traced: { requests: v.trace?.requests.length, attempts: v.trace?.attempts.length },
  }
}

describe('runScenario with variants at once', () => {
  it('reports the same verdicts and counts as one after another, in the same order', async () => {
    const sequential = await runScenario(scenario)
    const concurrent = await runScenario(scenario, { jobs: 3 })
    expect(sequential.passed).toBe(true)
    expect(concurrent.report.variants.map(counts)).toEqual(sequential.report.variants.map(counts))
    expect(concurrent.records.map((r) => r.variant)).toEqual(['naive', 'tuned', 'force-close'])
    expect(concurrent.unmet).toEqual([])
  })

  it('keeps two runs of the same scenario apart when they run at the same time (the same file given twice)', async () => {
    const slots = variantSlots(6)
    const [a, b] = await Promise.all([runScenario(scenario, { slots }), runScenario(scenario, { slots })])
    const expected = (await runScenario(scenario)).report.variants.map(counts)
    expect(a.report.variants.map(counts)).toEqual(expected)
    expect(b.report.variants.map(counts)).toEqual(expected)
  })

  it('keeps the scenario\'s order when a later variant finishes first', async () => {
    // Slots that hold every job until all three have asked, then run them one at a time, the last first.
    const asked: Array<{ fn: () => Promise<unknown>; done: (v: unknown) => void; fail: (e: unknown) => void }> = []
    const lastFirst: VariantSlots = {
      size: 1,
      run<T>(fn: () => Promise<T>): Promise<T> {
        return new Promise<T>((done, fail) => {
          asked.push({ fn, done: done as (v: unknown) => void, fail })
          if (asked.length === 3) {
            void (async () => {
              for (const job of [...asked].reverse()) await job.fn().then(job.done, job.fail)
            })()
          }
        })
      },
    }
    const ends: string[] = []
    const onEvent = (e: RunEvent): void => { if (e.type === 'variant-end') ends.push(e.variant) }
    const run = await runScenario(scenario, { slots: lastFirst, onEvent })
    expect(ends).toEqual(['force-close', 'tuned', 'naive'])
    expect(run.report.variants.map((v) => v.name)).toEqual(['naive', 'tuned', 'force-close'])
    expect(run.records.map((r) => r.variant)).toEqual(['naive', 'tuned', 'force-close'])
    expect(run.report.variants.map(counts)).toEqual((await runScenario(scenario)).report.variants.map(counts))
  })

  it('starts nothing more once aborted, and rejects with the reason', async () => {
    const controller = new AbortController()
    const started: string[] = []
    const onEvent = (e: RunEvent): void => {
      if (e.type === 'variant-start') started.push(e.variant)
      if (e.type === 'variant-end') controller.abort(new Error('stopped by the test'))
    }
    await expect(runScenario(scenario, { jobs: 1, onEvent, signal: controller.signal })).rejects.toThrow('stopped by the test')
    expect(started).toEqual(['naive'])
  })
})
