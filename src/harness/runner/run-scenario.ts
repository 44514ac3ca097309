/**
 * Orchestrates one run: fake upstreams → proxy → workload → record → report, for each selected variant;
 * `qcc-lab run` and the API both call runScenario, so a test gets the verdict the CLI prints.
 * The timeline (pauses, timeouts, fault delays) is resolved first against the constants the run follows:
 * the variant's settings for the bundled proxy, the target profile's for an external one. Everything a
 * variant starts is owned by its own dispose stack and stopped when it ends, whatever happened.
 *
 * Variants may run at once (`jobs`, or `slots` shared between calls): each starts its own fake upstreams
 * and proxy on port 0, its own workload pool, and reads only the events of its own proxy id, so they share
 * nothing but the CPU. Results keep the variants' order whatever finishes first.
 */
import { rmSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { z } from 'zod'
import { DisposeStack } from '../../shared/dispose-stack.ts'
import { UsageError } from '../../shared/errors.ts'
import { deriveSeed } from '../../shared/random.ts'
import { startFakeUpstream, type FakeUpstream, type FaultSpec } from '../../../fake-upstreams/index.ts'
import { defaultMessageBehaviour, messageEventFrames } from '../../../fake-upstreams/anthropic/messages.ts'
import { startProxy } from '../../proxy/server.ts'
import { resolveConnector, type ConnectorSelection } from '../../proxy/connector/profiles.ts'
import type { StrategyName } from '../../proxy/balancer/index.ts'
import { runWorkload } from '../workload/run-workload.ts'
import { warmUp } from './warm-up.ts'
import { startTargetProcess, TargetStartError, type QccLayout } from './target.ts'
import type { TargetProfile } from './target-profile.ts'
import { collectProxyEvents } from '../report/collect.ts'
import { summarizeVariant } from '../report/summarize.ts'
import { summarizeScenario, unmetExpectations } from '../report/summarize-scenario.ts'
import type { ScenarioReport, VariantReport } from '../report/types.ts'
import { resolveWorkload, type Scenario, type scenarioSchema } from '../scenario/schema.ts'
import { bundledConstants, resolveDurationsDeep, type constantDurationSchema } from '../scenario/constants.ts'
import { loadScenario } from '../scenario/load.ts'
import { parseScenario, scenarioFromData } from '../scenario/parse.ts'
import type { VariantRecord } from './record.ts'

export type RunEvent =
  | { readonly type: 'variant-start'; readonly scenario: string; readonly variant: string; readonly repeat: number; readonly expectedMs?: number }
  | { readonly type: 'progress'; readonly scenario: string; readonly variant: string; readonly repeat: number; readonly done: number; readonly total: number }
  | { readonly type: 'variant-end'; readonly scenario: string; readonly variant: string; readonly repeat: number; readonly durationMs: number }

/** An external proxy to run contracts against, and what it declared about itself. */
export interface TargetSpec {
  /** Shell command; `{config} {cluster} {port} {home} {profile}` are filled in. */
  readonly command: string
  readonly profile: TargetProfile
  /** `{profile}`: the target profile as a file (written for a built-in one). */
  readonly profileFile: string
  /** How the cache.json handed to it is laid out. Default `qcc`. */
  readonly layout?: QccLayout
  readonly startTimeoutMs?: number
  /** How long the target gets after SIGTERM before its process group is SIGKILLed. Default 10 s. */
  readonly stopTimeoutMs?: number
}

export interface RunOptions {
  /** Run only the variants with these names (an unknown name is a UsageError). Default: every variant. */
  readonly variants?: readonly string[]
  /** Overrides the scenario's seed. */
  readonly seed?: number
  /** 0-based repetition index: it names request ids and the proxy (default 0). */
  readonly repeat?: number
  readonly onEvent?: (event: RunEvent) => void
  /** Target mode: run against an external proxy started per variant (see target.ts). */
  readonly target?: TargetSpec
  /**
   * How many of this scenario's variants may run at once (default 1: one after another). Ignored when
   * `slots` is given. A scenario with `concurrency: serial` runs one variant at a time whatever this says;
   * with `concurrency: alone`, nothing from another call sharing the slots runs beside it.
   */
  readonly jobs?: number
  /** A limit shared with other runScenario calls (see {@link variantSlots}): `qcc-lab run` gives one to every scenario and repeat. */
  readonly slots?: VariantSlots
  /** Once aborted, variants that have not started yet do not start (the call rejects with its reason); running ones finish. */
  readonly signal?: AbortSignal
}

/** How a job asks for a slot. */
export interface SlotRequest {
  /** Hold every slot: wait for the running jobs to end, and let nothing else start meanwhile. */
  readonly alone?: boolean
  /** How long the job is likely to take (ms); the longest start first. Default 0. */
  readonly estimateMs?: number
}

/**
 * A limit on how many variants run at once, shared by the runScenario calls it is given. Jobs start in
 * the order asked for, except among those asked for in the same turn of the event loop (a whole run's):
 * the longest (by estimate) first, since a run lasts as long as its longest chain, equal ones in the
 * order asked, and those that run alone after all the others, so the pool drains for them once, at the
 * end, not once each. The head of the queue is never overtaken, so nothing waits forever. Only the order
 * in which jobs start depends on this: runScenario reports in its own order.
 */
export interface VariantSlots {
  readonly size: number
  /** Runs `fn` once a slot is free (every slot when `alone`) and frees it when `fn` settles. */
  run<T>(fn: () => Promise<T>, request?: SlotRequest): Promise<T>
}

export function variantSlots(jobs: number): VariantSlots {
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`Failed to run variants ${jobs} at a time: jobs must be a whole number of at least 1.`)
  let busy = 0
  const waiting: Array<{ readonly weight: number; readonly alone: boolean; readonly estimateMs: number; readonly turn: number; readonly start: () => void }> = []
  const next = (): void => {
    while (waiting.length > 0 && busy + waiting[0]!.weight <= jobs) {
      const w = waiting.shift()!
      busy += w.weight
      w.start()
    }
  }
  // Started on the next turn, so that every job asked for in this one (a whole run's) is ordered first.
  let scheduled = false
  let turn = 0
  const schedule = (): void => {
    if (scheduled) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      turn++
      next()
    })
  }
  type Job = (typeof waiting)[number]
  /** `a` (just asked for) overtakes `b` only if asked in the same turn: not alone before alone, longer before shorter. */
  const before = (a: Job, b: Job): boolean =>
    a.turn === b.turn && (a.alone !== b.alone ? !a.alone : a.estimateMs > b.estimateMs)
  return {
    size: jobs,
    async run(fn, request = {}) {
      const alone = request.alone === true
      const weight = alone ? jobs : 1
      await new Promise<void>((start) => {
        const job = { weight, alone, estimateMs: request.estimateMs ?? 0, turn, start }
        const at = waiting.findIndex((w) => before(job, w))
        waiting.splice(at === -1 ? waiting.length : at, 0, job)
        schedule()
      })
      try {
        return await fn()
      } finally {
        busy -= weight
        next()
      }
    },
  }
}

/**
 * Proxy ids of the variants running now in this process. A proxy's events are told apart by its id, so
 * the same scenario, variant and repeat running twice at once (the same file given twice) get two ids.
 */
const liveProxyIds = new Set<string>()

function claimProxyId(base: string): string {
  let id = base
  for (let n = 2; liveProxyIds.has(id); n++) id = `${base}#${n}`
  liveProxyIds.add(id)
  return id
}

/** A fault in a scenario: a FaultSpec whose `…Ms` fields may also follow a proxy constant (`{ constant: 'recoverMs', plusMs: 800 }`). */
export type ScenarioFault = WithConstants<FaultSpec>
type WithConstants<F> = F extends unknown ? { [P in keyof F]: P extends `${string}Ms` ? F[P] | z.input<typeof constantDurationSchema> : F[P] } : never

type WrittenScenario = z.input<typeof scenarioSchema>
type WrittenUpstream = WrittenScenario['upstreams'][number]

/** A scenario as a plain object: a scenario file's fields (see scenarios/*.yaml), faults typed per kind. */
export type ScenarioDefinition = Omit<WrittenScenario, 'upstreams'> & {
  readonly upstreams: ReadonlyArray<Omit<WrittenUpstream, 'faults'> & { readonly faults?: readonly ScenarioFault[] }>
}

/**
 * What runScenario and runVariant take:
 * - a bundled scenario's name (`'stale-keepalive'`, see `qcc-lab list`) or a path to a scenario YAML file;
 * - YAML text (a string with a line break, or starting with `{`);
 * - a ScenarioDefinition: a plain object with a file's fields;
 * - a Scenario that loadScenario or parseScenario returned (used as it is).
 * Text and objects are checked exactly as a file is: a ScenarioError names the field
 * (`(inline scenario): upstreams[0].faults[0].idleMS: unknown field; …`).
 */
export type ScenarioInput = string | ScenarioDefinition | Scenario

/** Where an inline scenario's problems say they are. */
const inlineYamlLabel = '(inline YAML)'
const inlineObjectLabel = '(inline scenario)'

const isYamlText = (s: string): boolean => /[\r\n]/.test(s) || /^\s*\{/.test(s)

/** A Scenario already validated by parseScenario (it has its file and each variant's contract flag). */
function isLoaded(input: ScenarioDefinition | Scenario): input is Scenario {
  const s = input as Partial<Scenario>
  return typeof s.file === 'string' && Array.isArray(s.variants) && s.variants.every((v) => typeof v?.contract === 'boolean')
}

/** Any ScenarioInput → a validated Scenario (see ScenarioInput). */
export async function resolveScenario(input: ScenarioInput): Promise<Scenario> {
  if (typeof input === 'string') return isYamlText(input) ? parseScenario(input, inlineYamlLabel, 'inline') : loadScenario(input)
  if (typeof input === 'object' && input !== null && isLoaded(input)) return input
  return scenarioFromData(input, inlineObjectLabel, 'inline')
}

/** One variant's run: its verdict, its report (what `qcc-lab run` prints for it) and the raw record. */
export interface VariantRun {
  /** The variant's verdict is `pass`: every expectation that could be evaluated held, and one could. */
  readonly passed: boolean
  readonly report: VariantReport
  /** One line per expectation that did not hold, plus the first failed request explained; empty when none failed. */
  readonly unmet: readonly string[]
  /** The input of summarize: samples, attempts, ledgers, stats. */
  readonly record: VariantRecord
}

/** A scenario's run: the verdict over its variants, the report `qcc-lab run` prints, and the raw records. */
export interface ScenarioRun {
  /** The scenario's verdict is `pass`: no variant failed and at least one passed. */
  readonly passed: boolean
  readonly report: ScenarioReport
  /** Every variant's unmet expectations, one line each (see VariantRun.unmet). */
  readonly unmet: readonly string[]
  readonly records: readonly VariantRecord[]
}

type Variant = Scenario['variants'][number]

function variantOf(scenario: Scenario, name: string): Variant {
  const variant = scenario.variants.find((v) => v.name === name)
  if (!variant) throw new UsageError(`Failed to run variant "${name}": scenario ${scenario.name} has no such variant; it has ${scenario.variants.map((v) => v.name).join(', ')}.`)
  return variant
}

/**
 * Runs one variant of a scenario (any ScenarioInput) and summarises it as `qcc-lab run` does. Against a
 * target, a variant that passed has its target's home removed; a failed one keeps it (`record.target.home`).
 */
export async function runVariant(input: ScenarioInput, variantName: string, options: RunOptions = {}): Promise<VariantRun> {
  const scenario = await resolveScenario(input)
  const variant = variantOf(scenario, variantName)
  if (options.target && !variant.contract) throw new UsageError(`Failed to run variant "${variantName}" against a target: it is bundled-only (${variant.bundledOnly}).`)
  return summarized(await recordVariant(scenario, variant, options), variant)
}

/** The record → the variant's report and verdict; a passed target's home is no longer needed. */
function summarized(record: VariantRecord, variant: Variant): VariantRun {
  const report = summarizeVariant(record, variant.expect)
  let kept = record
  if (record.target?.home !== undefined && report.verdict !== 'fail') {
    rmSync(record.target.home, { recursive: true, force: true })
    const { home: _removed, ...target } = record.target
    kept = { ...record, target }
  }
  return { passed: report.verdict === 'pass', report, unmet: unmetExpectations(report), record: kept }
}

/** A variant's connector, the constants its timeline follows, and that timeline resolved. */
function planVariant(scenario: Scenario, variant: Variant, target: TargetSpec | undefined) {
  // In bundled mode the proxy's headers timeout is a connector setting.
  const connector: ConnectorSelection = variant.proxy.headersTimeoutMs === undefined
    ? variant.connector
    : { profile: variant.connector.profile, overrides: { ...variant.connector.overrides, headersTimeoutMs: variant.proxy.headersTimeoutMs } }
  const constants = target ? target.profile.constants : bundledConstants(variant.proxy, connector)
  return { connector, constants, workload: resolveWorkload(scenario.workload, constants, variant) }
}

/**
 * About how long a variant takes (ms), to start the longest first; only the order depends on it. Its
 * pauses, plus for each round of requests what the first upstream makes a request wait: its slowest
 * delay-response (until the client or the proxy gives up) or the first byte and event intervals of its
 * answer.
 */
export function estimatedDurationMs(scenario: Scenario, variant: Variant, target?: TargetSpec): number {
  const { constants, workload } = planVariant(scenario, variant, target)
  const first = [...scenario.upstreams].sort((a, b) => (a.priority ?? 1) - (b.priority ?? 1))[0]
  if (!first) return expectedDurationMs(workload)
  const faults = resolveDurationsDeep(first.faults, constants) as ReadonlyArray<{ kind?: string; delayMs?: number }>
  const delayMs = Math.max(0, ...faults.map((f) => (f.kind === 'delay-response' ? f.delayMs ?? 0 : 0)))
  const b = { ...defaultMessageBehaviour, ...first.behaviour }
  const answerMs = b.firstByteDelayMs + (workload.stream ? b.eventIntervalMs * messageEventFrames('', '', b.textDeltas).length : 0)
  const perRequestMs = Math.max(Math.min(delayMs, workload.requestTimeoutMs, constants.headersTimeoutMs), answerMs)
  return expectedDurationMs(workload) + Math.ceil(workload.requests / workload.concurrency) * perRequestMs
}

/** Runs one variant: upstreams → proxy (or the target) → workload → record. Everything started is stopped. */
async function recordVariant(scenario: Scenario, variant: Variant, options: RunOptions): Promise<VariantRecord> {
  // Once per process, before the first timeline (warm-up.ts): no timeline starts in a cold process. An
  // abort that came during it still keeps this variant from starting.
  await warmUp()
  options.signal?.throwIfAborted()
  const target = options.target
  const seed = options.seed ?? scenario.seed
  const repeat = options.repeat ?? 0
  const started = performance.now()
  const { connector, constants, workload } = planVariant(scenario, variant, target)
  options.onEvent?.({ type: 'variant-start', scenario: scenario.name, variant: variant.name, repeat, expectedMs: expectedDurationMs(workload) })
  /** The record from what this run observed; the rest is the variant's. */
  const finish = (observed: Pick<VariantRecord, 'samples' | 'attempts' | 'requests' | 'upstreams' | 'proxyStats' | 'target' | 'endpointStates' | 'workloadOriginMs'>): VariantRecord => {
    const durationMs = performance.now() - started
    options.onEvent?.({ type: 'variant-end', scenario: scenario.name, variant: variant.name, repeat, durationMs })
    return {
      scenario: scenario.name, variant: variant.name, description: variant.description,
      connector: target ? undefined : resolveConnector(connector),
      contract: variant.contract, seed, repeat, mode: target ? 'target' : 'bundled', constants, workload,
      ...observed,
      durationMs,
    }
  }
  const stack = new DisposeStack()
  try {
    const upstreams: FakeUpstream[] = []
    for (const spec of scenario.upstreams) {
      const up = await startFakeUpstream({
        // Validated when the scenario loaded; only the constants are filled in here.
        name: spec.name, faults: resolveDurationsDeep(spec.faults, constants) as readonly FaultSpec[], behaviour: spec.behaviour, seed: deriveSeed(seed, variant.name),
      })
      stack.defer(`upstream ${spec.name}`, () => up.close())
      upstreams.push(up)
    }
    const endpoints = upstreams.map((u, i) => ({
      name: u.name,
      baseUrl: u.url,
      apiKey: `sk-qcc-lab-fake-${i + 1}`,
      priority: scenario.upstreams[i]!.priority,
      weight: scenario.upstreams[i]!.weight,
    }))
    let url: string
    let stats: () => Promise<unknown>
    let collector: ReturnType<typeof collectProxyEvents> | undefined
    let stopTarget: (() => Promise<NonNullable<VariantRecord['target']>>) | undefined
    if (target) {
      let proc
      try {
        proc = await startTargetProcess({
          command: target.command, cluster: scenario.name, endpoints, layout: target.layout,
          placeholders: { profile: target.profileFile }, startTimeoutMs: target.startTimeoutMs, stopTimeoutMs: target.stopTimeoutMs,
        })
      } catch (err) {
        if (!(err instanceof TargetStartError)) throw err
        // A failed variant, not a failed run: the other variants still run; this one's home is kept.
        return finish({
          samples: [], attempts: [], requests: [], proxyStats: undefined,
          upstreams: upstreams.map((u) => ({ name: u.name, url: u.url, entries: [], connections: [] })),
          target: { home: err.home, ended: 'did-not-start', logTail: err.output, startError: err.message.split('\n')[0]! },
        })
      }
      let stopped: NonNullable<VariantRecord['target']> | undefined
      stopTarget = async () => {
        if (!stopped) {
          // The home is kept until the verdict is known; the CLI removes it when the variant passed.
          const r = await proc.stop({ keepHome: true })
          stopped = { home: r.home, ended: r.ended, logTail: proc.log().trim().split('\n').slice(-20).join('\n') }
        }
        return stopped
      }
      stack.defer('target proxy', async () => { await stopTarget?.() })
      url = proc.url
      stats = () => proc.stats()
    } else {
      const proxyId = claimProxyId(`${scenario.name}/${variant.name}/${repeat}`)
      stack.defer('proxy id', () => { liveProxyIds.delete(proxyId) })
      const proxy = await startProxy({
        port: 0,
        id: proxyId,
        seed,
        cluster: {
          name: scenario.name,
          // The upstream's name is the scenario's; the proxy knows an endpoint by its URL and key.
          endpoints: endpoints.map(({ name: _name, ...e }) => e),
          connector,
          strategy: variant.proxy.strategy as StrategyName | undefined,
          attempts: variant.proxy.attempts,
          breaker: variant.proxy.breaker,
          recoverAfterMs: variant.proxy.recoverAfterMs,
          verifier: variant.proxy.verifier,
          compat: variant.proxy.compat,
        },
      })
      stack.defer('proxy', () => proxy.close())
      // Stamped on the variant's clock, as the ledgers and samples are lined up below.
      const events = collectProxyEvents(proxy.id, { now: () => performance.now() - started, stats: () => proxy.stats() })
      stack.defer('event collector', () => events.stop())
      collector = events
      url = proxy.url
      stats = async () => proxy.stats()
    }

    const workloadOriginMs = performance.now() - started
    const samples = await runWorkload(workload, url, {
      requestIdPrefix: `${variant.name}-r${repeat}`,
      onProgress: (done, total) => options.onEvent?.({ type: 'progress', scenario: scenario.name, variant: variant.name, repeat, done, total }),
    })
    await nextTurn()
    const proxyStats = await stats()
    const targetInfo = stopTarget ? await stopTarget() : undefined
    return finish({
      samples,
      workloadOriginMs,
      attempts: [...(collector?.attempts ?? [])],
      requests: [...(collector?.requests ?? [])],
      ...(collector ? { endpointStates: [...collector.endpointStates] } : {}),
      upstreams: upstreams.map((u) => ({
        name: u.name, url: u.url, originMs: u.ledger.originMs - started,
        entries: [...u.ledger.entries()].map((e) => ({ ...e })), connections: u.ledger.connections().map((c) => ({ ...c })),
      })),
      proxyStats,
      ...(targetInfo ? { target: targetInfo } : {}),
    })
  } finally {
    await stack.dispose()
  }
}

/** The pauses alone: a floor for how long the variant takes, for progress lines. */
function expectedDurationMs(w: { readonly requests: number; readonly burst: number; readonly gapMs: number }): number {
  return Math.max(0, Math.ceil(w.requests / w.burst) - 1) * w.gapMs
}

/**
 * Runs the selected variants of a scenario (any ScenarioInput) and summarises them as `qcc-lab run` does:
 * `const { passed, report } = await runScenario('stale-keepalive')`. One after another by default;
 * `jobs`/`slots` run several at once, with the same report in the same order. Against a target
 * (`options.target`), variants only the bundled proxy can run are listed in `report.bundledOnly`, not run.
 * When a variant throws, the ones not started yet are not started, the running ones finish and are
 * stopped, and the call rejects with the error of the first variant (in the scenario's order) that threw.
 */
export async function runScenario(input: ScenarioInput, options: RunOptions = {}): Promise<ScenarioRun> {
  const scenario = await resolveScenario(input)
  for (const name of options.variants ?? []) variantOf(scenario, name)
  const selected = options.variants ? scenario.variants.filter((v) => options.variants!.includes(v.name)) : scenario.variants
  const bundledOnly = options.target ? selected.filter((v) => !v.contract).map((v) => ({ variant: v.name, reason: v.bundledOnly! })) : []
  const slots = options.slots ?? variantSlots(options.jobs ?? 1)
  let failed = false
  const notStarted = new Error('not started: an earlier variant failed')
  const toRun = selected.filter((v) => !(options.target && !v.contract))
  const estimates = toRun.map((v) => estimatedDurationMs(scenario, v, options.target))
  /** Each variant, in a slot of `within`; `alone`: holding every slot. */
  const runAll = (within: VariantSlots, alone: boolean): Promise<Array<PromiseSettledResult<VariantRun>>> =>
    Promise.allSettled(toRun.map((v, i) => within.run(async () => {
      options.signal?.throwIfAborted()
      if (failed) throw notStarted
      try {
        return summarized(await recordVariant(scenario, v, options), v)
      } catch (err) {
        failed = true
        throw err
      }
    }, { alone, estimateMs: estimates[i] })))
  // A timing window too narrow to share the CPU with other scenarios (see scenarioSchema.concurrency):
  // `alone` holds every slot for the whole scenario, its own variants side by side; `serial`, for each variant.
  const concurrency = scenario.concurrency ?? 'parallel'
  const settled = concurrency === 'alone'
    ? await slots.run(() => runAll(variantSlots(slots.size), false), { alone: true, estimateMs: Math.max(0, ...estimates) })
    : await runAll(slots, concurrency === 'serial')
  const thrown = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && s.reason !== notStarted)
  if (thrown) throw thrown.reason
  const runs = settled.map((s) => (s as PromiseFulfilledResult<VariantRun>).value)
  const keptHomes = runs.flatMap((r) => (r.record.target?.home === undefined ? [] : [{ variant: r.record.variant, home: r.record.target.home }]))
  const report = summarizeScenario(scenario, runs.map((r) => r.report), {
    seed: options.seed ?? scenario.seed,
    repeat: options.repeat ?? 0,
    mode: options.target ? 'target' : 'bundled',
    bundledOnly,
    keptHomes,
  })
  return { passed: report.verdict === 'pass', report, unmet: runs.flatMap((r) => r.unmet), records: runs.map((r) => r.record) }
}
