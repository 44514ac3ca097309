/**
 * Variants run at once (`jobs`, shared `slots`) change nothing a run reports: the same verdicts and
 * counts as one after another, in the scenario's order whatever finishes first, and nothing starts
 * after an abort. The slots themselves: never more running than allowed, first come first served, and a
 * variant that runs alone has them all.
 */
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../src/shared/errors.ts'
import { estimatedDurationMs, runScenario, variantSlots, type RunEvent, type ScenarioDefinition, type VariantSlots } from '../../../src/harness/runner/run-scenario.ts'
import { loadScenario } from '../../../src/harness/scenario/load.ts'
import type { VariantReport } from '../../../src/harness/report/types.ts'

/** A promise with its resolve, to finish a job when the test says so. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => { resolve = r })
  return { promise, resolve }
}

/** Lets the slots start what they may (on the next turn of the event loop) and those jobs run up to their gate. */
const settle = async (): Promise<void> => {
  await new Promise((r) => setImmediate(r))
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

describe('variantSlots', () => {
  it('runs at most `jobs` at once, in the order they asked when they say nothing about their length', async () => {
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

  it('gives a job that runs alone every slot, and makes those asked for in a later turn wait behind it', async () => {
    const slots = variantSlots(3)
    const a = deferred()
    const b = deferred()
    const log: string[] = []
    const ra = slots.run(async () => { log.push('a'); await a.promise; log.push('a done') })
    const ra2 = slots.run(async () => { log.push('a2'); await a.promise })
    await settle()
    const rb = slots.run(async () => { log.push('b alone'); await b.promise; log.push('b done') }, { alone: true })
    await settle()
    const rc = slots.run(async () => { log.push('c') })
    await settle()
    // A slot is free, but c asked after b (in a later turn), and b waits for a and a2.
    expect(log).toEqual(['a', 'a2'])
    a.resolve()
    await settle()
    expect(log).toEqual(['a', 'a2', 'a done', 'b alone'])
    b.resolve()
    await Promise.all([ra, ra2, rb, rc])
    expect(log).toEqual(['a', 'a2', 'a done', 'b alone', 'b done', 'c'])
  })

  it('of the jobs asked for together, starts the longest first and those that run alone last', async () => {
    const slots = variantSlots(2)
    const started: string[] = []
    const job = (name: string) => async () => { started.push(name) }
    await Promise.all([
      slots.run(job('short'), { estimateMs: 100 }),
      slots.run(job('alone'), { alone: true, estimateMs: 9_000 }),
      slots.run(job('unknown')),
      slots.run(job('long'), { estimateMs: 7_500 }),
      slots.run(job('short too'), { estimateMs: 100 }),
    ])
    expect(started).toEqual(['long', 'short', 'short too', 'unknown', 'alone'])
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

describe('a scenario\'s concurrency', () => {
  /** Start and end events, in the order they came, as `+name` and `-name`. */
  const timeline = (): { onEvent: (e: RunEvent) => void; log: string[] } => {
    const log: string[] = []
    return { log, onEvent: (e) => { if (e.type !== 'progress') log.push(`${e.type === 'variant-start' ? '+' : '-'}${e.scenario}/${e.variant}`) } }
  }
  const quick: ScenarioDefinition = {
    name: 'quick',
    description: 'two variants, one request each',
    upstreams: [{ name: 'relay' }],
    workload: { requests: 1 },
    variants: [{ name: 'a', expect: ['failures.total == 0'] }, { name: 'b', expect: ['failures.total == 0'] }],
  }

  it('serial: one variant at a time, even with slots to spare', async () => {
    const t = timeline()
    await runScenario({ ...quick, concurrency: 'serial' }, { jobs: 4, onEvent: t.onEvent })
    expect(t.log).toEqual(['+quick/a', '-quick/a', '+quick/b', '-quick/b'])
  })

  it('alone: its own variants side by side, nothing from another scenario beside them', async () => {
    const t = timeline()
    const slots = variantSlots(4)
    await Promise.all([
      runScenario({ ...quick, name: 'other' }, { slots, onEvent: t.onEvent }),
      runScenario({ ...quick, name: 'alone', concurrency: 'alone' }, { slots, onEvent: t.onEvent }),
    ])
    // What was running when each event came.
    const running = new Set<string>()
    const beside: Record<string, string[]> = {}
    for (const l of t.log) {
      if (l.startsWith('+')) running.add(l.slice(1))
      else running.delete(l.slice(1))
      beside[l] = [...running].sort()
    }
    // Both of its variants ran side by side, with nothing from the other scenario.
    const starts = t.log.filter((l) => l.startsWith('+alone/'))
    expect(beside[starts.at(-1)!]).toEqual(['alone/a', 'alone/b'])
    expect(starts.flatMap((l) => beside[l] ?? []).filter((v) => !v.startsWith('alone/'))).toEqual([])
    // The other scenario's two did run side by side.
    expect(t.log.slice(0, 2).sort()).toEqual(['+other/a', '+other/b'])
  })

  it('parallel by default: variants side by side', async () => {
    const t = timeline()
    await runScenario(quick, { jobs: 2, onEvent: t.onEvent })
    expect(t.log.slice(0, 2)).toEqual(['+quick/a', '+quick/b'])
  })

  it('refuses a value it does not know, naming the field and the choices', async () => {
    await expect(runScenario({ ...quick, concurrency: 'solo' as 'serial' })).rejects.toThrow(/concurrency.*"parallel".*"alone".*"serial"|concurrency.*parallel.*alone.*serial/)
  })
})

describe('estimatedDurationMs (the order variants start in)', () => {
  it('counts the pauses, a delay until the client or the proxy gives up, and a stream\'s event intervals', async () => {
    const est = async (name: string, variant: string): Promise<number> => {
      const s = await loadScenario(name)
      return estimatedDurationMs(s, s.variants.find((v) => v.name === variant)!)
    }
    expect(await est('stale-keepalive', 'naive-keepalive')).toBe(6 * 300)
    // 3 requests, each until the client gives up at 2.5 s (the relay is silent for 10.3 s, the proxy would wait 300 s).
    expect(await est('upstream-timeout-504', 'qcc-timeouts')).toBe(3 * 2_500)
    // The proxy gives up after 300 ms and fails over.
    expect(await est('upstream-timeout-504', 'contract')).toBe(3 * 300)
    // 3 streams of 9 events 150 ms apart.
    expect(await est('slow-stream', 'contract')).toBe(3 * 9 * 150)
    expect(await est('all-endpoints-failed', 'default')).toBe(0)
  })
})
