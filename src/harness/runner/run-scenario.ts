/**
 * Orchestrates one run: fake upstreams → proxy → workload → record, for each selected variant in turn.
 * Everything a variant starts is owned by a dispose stack and stopped before the next variant starts,
 * whatever happened.
 */
import { performance } from 'node:perf_hooks'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { DisposeStack } from '../../shared/dispose-stack.ts'
import { deriveSeed } from '../../shared/random.ts'
import { startFakeUpstream } from '../../../fake-upstreams/index.ts'
import { startProxy } from '../../proxy/server.ts'
import { resolveConnector } from '../../proxy/connector/profiles.ts'
import type { StrategyName } from '../../proxy/balancer/index.ts'
import { runWorkload } from '../workload/run-workload.ts'
import { startTarget } from './target.ts'
import { collectProxyEvents } from '../report/collect.ts'
import type { Scenario } from '../scenario/schema.ts'
import type { VariantRecord } from './record.ts'

export type RunEvent =
  | { readonly type: 'variant-start'; readonly scenario: string; readonly variant: string; readonly repeat: number }
  | { readonly type: 'progress'; readonly scenario: string; readonly variant: string; readonly done: number; readonly total: number }
  | { readonly type: 'variant-end'; readonly scenario: string; readonly variant: string; readonly repeat: number; readonly durationMs: number }

export interface RunOptions {
  /** Run only the variants with these names. */
  readonly variants?: readonly string[]
  /** Overrides the scenario's seed. */
  readonly seed?: number
  readonly repeat?: number
  readonly onEvent?: (event: RunEvent) => void
  /** Target mode: run against an external proxy started with this command (see target.ts). */
  readonly targetCommand?: string
}

export async function runVariant(scenario: Scenario, variantName: string, options: RunOptions = {}): Promise<VariantRecord> {
  const variant = scenario.variants.find((v) => v.name === variantName)
  if (!variant) throw new Error(`Failed to run variant "${variantName}": scenario ${scenario.name} has no such variant.`)
  const seed = options.seed ?? scenario.seed
  const repeat = options.repeat ?? 0
  const started = performance.now()
  options.onEvent?.({ type: 'variant-start', scenario: scenario.name, variant: variant.name, repeat })
  const stack = new DisposeStack()
  try {
    const upstreams = []
    for (const spec of scenario.upstreams) {
      const up = await startFakeUpstream({ name: spec.name, faults: spec.faults, behaviour: spec.behaviour, seed: deriveSeed(seed, variant.name) })
      stack.defer(`upstream ${spec.name}`, () => up.close())
      upstreams.push(up)
    }
    const connector = resolveConnector(variant.connector)
    const endpoints = upstreams.map((u, i) => ({
      baseUrl: u.url,
      apiKey: `sk-qcc-lab-fake-${i + 1}`,
      priority: scenario.upstreams[i]!.priority,
      weight: scenario.upstreams[i]!.weight,
    }))
    let url: string
    let stats: () => Promise<unknown>
    let collector: ReturnType<typeof collectProxyEvents> | undefined
    if (options.targetCommand !== undefined) {
      const target = await startTarget(options.targetCommand, scenario.name, endpoints)
      stack.defer('target proxy', () => target.stop())
      url = target.url
      stats = () => target.stats()
    } else {
      const proxy = await startProxy({
        port: 0,
        id: `${scenario.name}/${variant.name}/${repeat}`,
        seed,
        cluster: {
          name: scenario.name,
          endpoints,
          connector: variant.connector,
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

    const samples = await runWorkload(scenario.workload, url, {
      requestIdPrefix: `${variant.name}-r${repeat}`,
      onProgress: (done, total) => options.onEvent?.({ type: 'progress', scenario: scenario.name, variant: variant.name, done, total }),
    })
    await nextTurn()
    const durationMs = performance.now() - started
    const record: VariantRecord = {
      scenario: scenario.name,
      variant: variant.name,
      description: variant.description,
      connector,
      seed,
      repeat,
      samples,
      mode: options.targetCommand !== undefined ? 'target' : 'bundled',
      attempts: [...(collector?.attempts ?? [])],
      requests: [...(collector?.requests ?? [])],
      upstreams: upstreams.map((u) => ({ name: u.name, entries: [...u.ledger.entries()].map((e) => ({ ...e })), connections: u.ledger.connections().map((c) => ({ ...c })) })),
      proxyStats: await stats(),
      durationMs,
    }
    options.onEvent?.({ type: 'variant-end', scenario: scenario.name, variant: variant.name, repeat, durationMs })
    return record
  } finally {
    await stack.dispose()
  }
}

/** Runs the selected variants of a scenario one after another. */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<VariantRecord[]> {
  const selected = options.variants ? scenario.variants.filter((v) => options.variants!.includes(v.name)) : scenario.variants
  const records: VariantRecord[] = []
  for (const v of selected) records.push(await runVariant(scenario, v.name, options))
  return records
}
