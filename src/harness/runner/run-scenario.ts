/**
 * Orchestrates one run: fake upstreams → proxy → workload → record, for each selected variant in turn.
 * The timeline (pauses, timeouts, fault delays) is resolved first against the constants the run follows:
 * the variant's settings for the bundled proxy, the target profile's for an external one. Everything a
 * variant starts is owned by a dispose stack and stopped before the next variant starts, whatever
 * happened.
 */
import { performance } from 'node:perf_hooks'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { DisposeStack } from '../../shared/dispose-stack.ts'
import { deriveSeed } from '../../shared/random.ts'
import { startFakeUpstream, type FakeUpstream } from '../../../fake-upstreams/index.ts'
import { startProxy } from '../../proxy/server.ts'
import { resolveConnector, type ConnectorSelection } from '../../proxy/connector/profiles.ts'
import type { StrategyName } from '../../proxy/balancer/index.ts'
import { runWorkload } from '../workload/run-workload.ts'
import { startTargetProcess, TargetStartError, type QccLayout } from './target.ts'
import type { TargetProfile } from './target-profile.ts'
import { collectProxyEvents } from '../report/collect.ts'
import { resolveWorkload, type Scenario } from '../scenario/schema.ts'
import { bundledConstants, resolveDurationsDeep } from '../scenario/constants.ts'
import type { VariantRecord } from './record.ts'

export type RunEvent =
  | { readonly type: 'variant-start'; readonly scenario: string; readonly variant: string; readonly repeat: number; readonly expectedMs?: number }
  | { readonly type: 'progress'; readonly scenario: string; readonly variant: string; readonly done: number; readonly total: number }
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
  /** Run only the variants with these names. */
  readonly variants?: readonly string[]
  /** Overrides the scenario's seed. */
  readonly seed?: number
  readonly repeat?: number
  readonly onEvent?: (event: RunEvent) => void
  /** Target mode: run against an external proxy started per variant (see target.ts). */
  readonly target?: TargetSpec
}

export async function runVariant(scenario: Scenario, variantName: string, options: RunOptions = {}): Promise<VariantRecord> {
  const variant = scenario.variants.find((v) => v.name === variantName)
  if (!variant) throw new Error(`Failed to run variant "${variantName}": scenario ${scenario.name} has no such variant.`)
  const target = options.target
  if (target && !variant.contract) throw new Error(`Failed to run variant "${variantName}" against a target: it is bundled-only (${variant.bundledOnly}).`)
  const seed = options.seed ?? scenario.seed
  const repeat = options.repeat ?? 0
  const started = performance.now()
  // In bundled mode the proxy's headers timeout is a connector setting.
  const connector: ConnectorSelection = variant.proxy.headersTimeoutMs === undefined
    ? variant.connector
    : { profile: variant.connector.profile, overrides: { ...variant.connector.overrides, headersTimeoutMs: variant.proxy.headersTimeoutMs } }
  const constants = target ? target.profile.constants : bundledConstants(variant.proxy, connector)
  const workload = resolveWorkload(scenario.workload, constants, variant)
  options.onEvent?.({ type: 'variant-start', scenario: scenario.name, variant: variant.name, repeat, expectedMs: expectedDurationMs(workload) })
  /** The record from what this run observed; the rest is the variant's. */
  const finish = (observed: Pick<VariantRecord, 'samples' | 'attempts' | 'requests' | 'upstreams' | 'proxyStats' | 'target'>): VariantRecord => {
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
        name: spec.name, faults: resolveDurationsDeep(spec.faults, constants) as unknown[], behaviour: spec.behaviour, seed: deriveSeed(seed, variant.name),
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
      const proxy = await startProxy({
        port: 0,
        id: `${scenario.name}/${variant.name}/${repeat}`,
        seed,
        cluster: {
          name: scenario.name,
          endpoints,
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
      const events = collectProxyEvents(proxy.id)
      stack.defer('event collector', () => events.stop())
      collector = events
      url = proxy.url
      stats = async () => proxy.stats()
    }

    const samples = await runWorkload(workload, url, {
      requestIdPrefix: `${variant.name}-r${repeat}`,
      onProgress: (done, total) => options.onEvent?.({ type: 'progress', scenario: scenario.name, variant: variant.name, done, total }),
    })
    await nextTurn()
    const proxyStats = await stats()
    const targetInfo = stopTarget ? await stopTarget() : undefined
    return finish({
      samples,
      attempts: [...(collector?.attempts ?? [])],
      requests: [...(collector?.requests ?? [])],
      upstreams: upstreams.map((u) => ({ name: u.name, url: u.url, entries: [...u.ledger.entries()].map((e) => ({ ...e })), connections: u.ledger.connections().map((c) => ({ ...c })) })),
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

/** Runs the selected variants of a scenario one after another. */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<VariantRecord[]> {
  const selected = options.variants ? scenario.variants.filter((v) => options.variants!.includes(v.name)) : scenario.variants
  const records: VariantRecord[] = []
  for (const v of selected) records.push(await runVariant(scenario, v.name, options))
  return records
}
