/**
 * The connector benchmark: the load generator (this process) drives each configuration — direct to the
 * fake upstream, or through the proxy with each connector profile — over HTTP or HTTPS, JSON or SSE, at
 * several concurrencies, with an optional simulated round-trip time. The upstreams run in one child
 * process and the proxies in another (pinned to cores only with `pin`, see placement.ts). Each
 * run starts with a warm-up that cycles through every configuration; then configurations alternate within
 * every round, so slow drift of the machine spreads over all of them; medians across rounds are reported
 * with their spread. Bounded by the warm-up plus rounds × roundMs per configuration.
 */
import { fork, execFileSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import * as hdr from 'hdr-histogram-js'
import { Pool } from 'undici'
import { classifyError } from '../proxy/outcome.ts'
import { messageBody } from '../harness/workload/run-workload.ts'
import type { HostSpec } from './host.ts'
import { startNginx, type Nginx } from './nginx.ts'
import { createPinner } from './placement.ts'
import { moduleExtension, packagePath, packageRoot } from '../shared/package-root.ts'
import { median, ratio, relativeSpread, round3 } from './stats.ts'
import { BENCH_IDLE_MS, benchAnchors, benchTargets, comparedFigures, type BenchAnchor, type BenchConfig, type BenchReport, type BenchResult, type BenchTarget, type ComparedFigure, type RoundFigures } from './types.ts'
import type { LedgerSummary } from '../../fake-upstreams/index.ts'

export interface BenchOptions {
  readonly quick: boolean
  readonly protocols?: ReadonlyArray<'http' | 'https'>
  readonly payloads?: ReadonlyArray<'json' | 'sse'>
  readonly concurrencies?: readonly number[]
  readonly rttsMs?: readonly number[]
  readonly rounds?: number
  readonly roundMs?: number
  /** Unrecorded warm-up before the first round (default 12 s quick, 30 s full). */
  readonly warmupMs?: number
  /** Pin the client, upstream and proxy to fixed cores with taskset (default false; see placement.ts). */
  readonly pin?: boolean
  /**
   * References measured in the same rounds: `nginx` (a local nginx with an upstream keepalive pool in
   * front of the same upstream) and `node-floor` (a bare Node relay, node-floor.ts, in the proxy process).
   */
  readonly anchors?: readonly BenchAnchor[]
  readonly onProgress?: (progress: BenchProgress) => void
}

export interface BenchProgress {
  readonly phase: 'warm-up' | 'measure'
  /** Warm-up: ms spent of the total; measure: rounds of configurations measured. */
  readonly done: number
  readonly total: number
  readonly id: string
}

const hostScript = fileURLToPath(new URL(`./host${moduleExtension}`, import.meta.url))
const require = createRequire(import.meta.url)

interface Host {
  readonly urls: readonly string[]
  readonly child: ChildProcess
  ask<T>(message: unknown, key: string): Promise<T>
  close(): Promise<void>
}

async function startHost(spec: HostSpec): Promise<Host> {
  const child = fork(hostScript, [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  // A send on a closed channel is reported to its callback (ask); this keeps it from also crashing the run.
  child.on('error', () => {})
  const [first] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => { throw new Error(`bench host (${spec.role}) exited with code ${String(code)} before listening`) }),
  ])) as [{ urls: string[] }]
  return {
    urls: first.urls,
    child,
    ask<T>(message: unknown, key: string): Promise<T> {
      // Rejects when the child dies or the channel breaks, instead of waiting forever.
      return new Promise<T>((resolve, reject) => {
        const done = (): void => {
          child.off('message', on)
          child.off('exit', onExit)
        }
        const on = (m: unknown): void => {
          if (m && typeof m === 'object' && key in m) {
            done()
            resolve((m as Record<string, T>)[key]!)
          }
        }
        const onExit = (code: number | null): void => {
          done()
          reject(new Error(`bench host (${spec.role}) exited with code ${String(code)} during the run`))
        }
        child.on('message', on)
        child.once('exit', onExit)
        child.send(message as string, (err) => {
          if (err) {
            done()
            reject(new Error(`bench host (${spec.role}) is unreachable: ${err.message}`))
          }
        })
      })
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      if (child.connected) child.send('close')
      else child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}

function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 })
}

/** A configuration idle longer than this gets an unrecorded lead-in before its round (full mode only, in practice). */
const LEAD_IN_AFTER_MS = 30_000
const LEAD_IN_MS = 150

/** The processes behind one configuration, asked for their ledger and CPU around a measured round. */
interface Behind {
  readonly upstream: { readonly host: Host; readonly index: number }
  /** CPU used so far (µs) by what sits between client and upstream: our proxy process, or nginx. */
  readonly proxyCpu?: () => Promise<number | undefined>
}

/** One round of one configuration: a closed loop of `concurrency` workers for `durationMs`. */
async function measure(pool: Pool, config: BenchConfig, durationMs: number, behind: Behind | undefined): Promise<RoundFigures> {
  const latency = histogram()
  const ttfb = histogram()
  const errors: Record<string, number> = {}
  const body = messageBody(0, config.payload === 'sse')
  let completed = 0
  const upstream = behind?.upstream
  await upstream?.host.ask('reset', 'reset')
  const [upCpu0, proxyCpu0] = behind ? await Promise.all([behind.upstream.host.ask<number>('cpu', 'cpu'), behind.proxyCpu?.()]) : []
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const deadline = t0 + durationMs
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const start = performance.now()
      try {
        const res = await pool.request({ method: 'POST', path: '/v1/messages', headers: { 'content-type': 'application/json' }, body })
        let first = true
        for await (const _chunk of res.body) {
          if (first) {
            ttfb.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)))
            first = false
          }
        }
        if (res.statusCode >= 200 && res.statusCode < 300) {
          latency.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)))
          completed++
        } else {
          errors[`http-${res.statusCode}`] = (errors[`http-${res.statusCode}`] ?? 0) + 1
        }
      } catch (err) {
        const cls = classifyError(err, { reusedConnection: false, responseStarted: false })
        errors[cls] = (errors[cls] ?? 0) + 1
      }
    }
  }
  await Promise.all(Array.from({ length: config.concurrency }, worker))
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const [upCpu1, proxyCpu1] = behind ? await Promise.all([behind.upstream.host.ask<number>('cpu', 'cpu'), behind.proxyCpu?.()]) : []
  const cores = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : round3((b - a) / 1e6 / seconds))
  const summary = upstream ? await upstream.host.ask<LedgerSummary>({ summary: upstream.index }, 'summary') : undefined
  const perRequest = (n: number): number => (summary && summary.received > 0 ? round3(n / summary.received) : 0)
  const ms = (h: hdr.Histogram, p: number): number => round3(h.getValueAtPercentile(p) / 1000)
  const figures: RoundFigures = {
    requests: completed,
    rps: round3(completed / seconds),
    p50: ms(latency, 50),
    p90: ms(latency, 90),
    p99: ms(latency, 99),
    ttfbP50: ms(ttfb, 50),
    errors,
    connectionsPerRequest: perRequest(summary?.connections ?? 0),
    handshakesPerRequest: config.protocol === 'https' ? perRequest(summary?.connections ?? 0) : 0,
    clientCpuCores: round3((cpu.user + cpu.system) / 1e6 / seconds),
    upstreamCpuCores: cores(upCpu0, upCpu1),
    proxyCpuCores: cores(proxyCpu0, proxyCpu1),
    ...(proxyCpu0 !== undefined && proxyCpu1 !== undefined && completed > 0 ? { cpuUsPerRequest: round3((proxyCpu1 - proxyCpu0) / completed) } : {}),
  }
  latency.destroy()
  ttfb.destroy()
  return figures
}

/** qcc-lab's own commit, from a clone only: an installed copy inside someone's repository would report theirs. */
function gitCommit(): string | null {
  if (!existsSync(packagePath('.git'))) return null
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], cwd: packageRoot }).toString().trim() || null
  } catch {
    return null
  }
}

export function configId(c: Omit<BenchConfig, 'id'>): string {
  return `${c.protocol}/${c.payload}/c${c.concurrency}/rtt${c.rttMs}/${c.target}`
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const protocols = options.protocols ?? ['http', 'https']
  const payloads = options.payloads ?? ['json', 'sse']
  const concurrencies = options.concurrencies ?? (options.quick ? [64] : [1, 8, 64])
  const rtts = options.rttsMs ?? (options.quick ? [0] : [0, 20])
  const rounds = options.rounds ?? 5
  const roundMs = options.roundMs ?? (options.quick ? 400 : 700)
  const warmupWindowMs = 200
  const warmupMs = options.warmupMs ?? (options.quick ? 12_000 : 30_000)
  // Before pinning: a pinned process sees only its own cores.
  const cores = os.availableParallelism()
  const pinner = createPinner(cores, options.pin ?? false)
  const plan = pinner.plan

  const hosts: Host[] = []
  const anchors: Nginx[] = []
  const pools: Pool[] = []
  const anchorsAsked = benchAnchors.filter((a) => options.anchors?.includes(a))
  const targets: BenchTarget[] = [...benchTargets, ...anchorsAsked]
  try {
    // One process for every upstream (one per protocol × RTT) and one for every proxy (one per
    // upstream × connector profile); nginx, when asked, one per upstream.
    const slots = protocols.flatMap((protocol) => rtts.map((rttMs) => ({ protocol, rttMs, key: `${protocol}/${rttMs}` })))
    const upstreamHost = await startHost({ role: 'upstreams', upstreams: slots.map((s) => ({ tls: s.protocol === 'https', rttMs: s.rttMs })) })
    hosts.push(upstreamHost)
    const upstreamIndex = new Map(slots.map((s, i) => [s.key, i]))
    const upstreamUrl = (key: string): string => upstreamHost.urls[upstreamIndex.get(key)!]!
    const profiles = benchTargets.filter((t) => t !== 'direct')
    const proxySlots = slots.flatMap((s) => profiles.map((profile) => ({ key: `${s.key}/${profile}`, upstreamUrl: upstreamUrl(s.key), profile })))
    const floors = anchorsAsked.includes('node-floor') ? slots : []
    const proxyHost = await startHost({
      role: 'proxies',
      proxies: proxySlots.map(({ upstreamUrl: u, profile }) => ({ upstreamUrl: u, profile })),
      floors: floors.map((s) => ({ upstreamUrl: upstreamUrl(s.key) })),
    })
    hosts.push(proxyHost)
    const proxyUrl = new Map(proxySlots.map((p, i) => [p.key, proxyHost.urls[i]!]))
    const floorUrl = new Map(floors.map((s, i) => [s.key, proxyHost.urls[proxySlots.length + i]!]))
    const anchorByKey = new Map<string, Nginx>()
    if (anchorsAsked.includes('nginx')) {
      for (const s of slots) {
        const nx = await startNginx(upstreamUrl(s.key), plan ? pinner.prefix(plan.proxy) : [])
        anchors.push(nx)
        anchorByKey.set(s.key, nx)
      }
    }
    if (plan) {
      pinner.pin(process.pid, plan.client)
      pinner.pin(proxyHost.child.pid, plan.proxy)
    }

    const configs: Array<BenchConfig & { pool: Pool; behind: Behind }> = []
    for (const protocol of protocols) for (const payload of payloads) for (const concurrency of concurrencies) for (const rttMs of rtts) {
      for (const target of targets) {
        const key = `${protocol}/${rttMs}`
        const url = target === 'direct' ? upstreamUrl(key)
          : target === 'nginx' ? anchorByKey.get(key)!.url
            : target === 'node-floor' ? floorUrl.get(key)!
              : proxyUrl.get(`${key}/${target}`)!
        // Keep idle connections as long as the upstream does (undici's default is 4 s): between its rounds a
        // configuration waits for all the others, and reconnecting is not what a round should measure.
        const pool = new Pool(url, { allowH2: false, connections: concurrency, connect: { rejectUnauthorized: false }, keepAliveTimeout: BENCH_IDLE_MS, keepAliveMaxTimeout: BENCH_IDLE_MS })
        pools.push(pool)
        const base = { target: target as BenchTarget, protocol, payload, concurrency, rttMs }
        const proxyCpu = target === 'direct' ? undefined
          : target === 'nginx' ? async () => anchorByKey.get(key)!.cpuMicros()
            : () => proxyHost.ask<number>('cpu', 'cpu')
        configs.push({ ...base, id: configId(base), pool, behind: { upstream: { host: upstreamHost, index: upstreamIndex.get(key)! }, proxyCpu } })
      }
    }
    const place = (c: BenchConfig): void => {
      if (plan) pinner.pin(upstreamHost.child.pid, c.target === 'direct' ? plan.upstreamDirect : plan.upstreamProxied)
    }

    // Warm-up: every configuration in turn, in short windows, until warmupMs has passed. A fresh Node
    // process (client, upstream or proxy) keeps getting faster for seconds (JIT tiers, heap sizing);
    // cycling through all configurations warms every process and every code path (TLS, SSE) evenly.
    const warmStart = performance.now()
    let warmed = 0
    while (performance.now() - warmStart < warmupMs || warmed < configs.length) {
      const c = configs[warmed % configs.length]!
      place(c)
      await measure(c.pool, c, warmupWindowMs, undefined)
      warmed++
      options.onProgress?.({ phase: 'warm-up', done: Math.min(performance.now() - warmStart, warmupMs), total: warmupMs, id: c.id })
    }
    const warmupSpentMs = Math.round(performance.now() - warmStart)
    const perConfig = new Map<string, RoundFigures[]>(configs.map((c) => [c.id, []]))
    const lastMeasured = new Map<string, number>()
    const total = configs.length * rounds
    let done = 0
    for (let r = 0; r < rounds; r++) {
      // Rotate the order every round so no configuration always runs first or last.
      const order = configs.map((_, i) => configs[(i + r * Math.max(1, Math.floor(configs.length / rounds))) % configs.length]!)
      for (const c of order) {
        place(c)
        // A configuration that waited long for the others may find its pooled connections closed (the
        // proxy's own client keep-alive is 65 s, its connectors' 60 s): reopen them unrecorded, so the
        // round measures steady keep-alive and not 64 new connections.
        const last = lastMeasured.get(c.id)
        if (last !== undefined && performance.now() - last > LEAD_IN_AFTER_MS) await measure(c.pool, c, LEAD_IN_MS, undefined)
        perConfig.get(c.id)!.push(await measure(c.pool, c, roundMs, c.behind))
        lastMeasured.set(c.id, performance.now())
        options.onProgress?.({ phase: 'measure', done: ++done, total, id: c.id })
      }
    }

    const results: BenchResult[] = configs.map((c) => {
      const rs = perConfig.get(c.id)!
      const pick = (f: keyof Omit<RoundFigures, 'errors' | OptionalFigure>): number => round3(median(rs.map((x) => x[f])))
      const pickOptional = (f: OptionalFigure): { [k in typeof f]?: number } => {
        const values = rs.map((x) => x[f]).filter((v) => v !== undefined)
        return values.length === 0 ? {} : { [f]: round3(median(values)) }
      }
      const spread = Object.fromEntries((Object.keys(comparedFigures) as ComparedFigure[]).flatMap((f) => {
        const values = rs.map((x) => x[f]).filter((v) => v !== undefined)
        return values.length === 0 ? [] : [[f, round3(relativeSpread(values))]]
      })) as BenchResult['spread']
      return {
        id: c.id, target: c.target, protocol: c.protocol, payload: c.payload, concurrency: c.concurrency, rttMs: c.rttMs,
        rounds: rs,
        median: {
          requests: pick('requests'), rps: pick('rps'), p50: pick('p50'), p90: pick('p90'), p99: pick('p99'), ttfbP50: pick('ttfbP50'),
          errors: rs.reduce((n, x) => n + Object.values(x.errors).reduce((a, b) => a + b, 0), 0),
          connectionsPerRequest: pick('connectionsPerRequest'), handshakesPerRequest: pick('handshakesPerRequest'), clientCpuCores: pick('clientCpuCores'),
          ...pickOptional('upstreamCpuCores'), ...pickOptional('proxyCpuCores'), ...pickOptional('cpuUsPerRequest'),
        },
        spread,
      }
    })
    const byId = new Map(results.map((r) => [r.id, r]))
    const groups = [...new Set(results.map((r) => r.id.slice(0, r.id.lastIndexOf('/'))))]
    const rps = (g: string, t: BenchTarget): number => byId.get(`${g}/${t}`)?.median.rps ?? 0
    const cpu = (g: string, t: BenchTarget): number => byId.get(`${g}/${t}`)?.median.cpuUsPerRequest ?? 0
    const ratios = groups.map((g) => ({
      id: g,
      forceCloseOverTuned: nullableRound(ratio(rps(g, 'force-close'), rps(g, 'tuned-keepalive'))),
      tunedOverNaive: nullableRound(ratio(rps(g, 'tuned-keepalive'), rps(g, 'naive-keepalive'))),
      proxyOverDirect: nullableRound(ratio(rps(g, 'tuned-keepalive'), rps(g, 'direct'))),
      ...(anchorsAsked.includes('nginx') ? { nginxOverDirect: nullableRound(ratio(rps(g, 'nginx'), rps(g, 'direct'))), proxyCpuOverNginx: nullableRound(ratio(cpu(g, 'tuned-keepalive'), cpu(g, 'nginx'))) } : {}),
      ...(anchorsAsked.includes('node-floor') ? { proxyCpuOverNodeFloor: nullableRound(ratio(cpu(g, 'tuned-keepalive'), cpu(g, 'node-floor'))) } : {}),
    }))
    return {
      schema: 'qcc-lab/bench-report@1',
      createdAt: new Date().toISOString(),
      mode: options.quick ? 'quick' : 'full',
      settings: { rounds, roundMs, warmupMs: warmupSpentMs, placement: pinner.description },
      environment: {
        node: process.versions.node,
        undici: (require('undici/package.json') as { version: string }).version,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        cores,
        platform: `${process.platform}-${process.arch}`,
        gitCommit: gitCommit(),
      },
      results,
      ratios,
    }
  } finally {
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)))
    await Promise.all(anchors.map((a) => a.close()))
    await Promise.all(hosts.map((h) => h.close()))
    pinner.restore()
  }
}

type OptionalFigure = 'upstreamCpuCores' | 'proxyCpuCores' | 'cpuUsPerRequest'

function nullableRound(v: number | null): number | null {
  return v === null ? null : round3(v)
}
