/**
 * The connector benchmark: the load generator (this process) drives each configuration — direct to the
 * fake upstream, or through the proxy with each connector profile — over HTTP or HTTPS, JSON or SSE, at
 * several concurrencies, with an optional simulated round-trip time. The upstream and each proxy run in
 * child processes. Configurations alternate within every round, so slow drift of the machine spreads
 * over all of them; medians across rounds are reported with their spread. Bounded by rounds × roundMs.
 */
import { fork, execFileSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
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
import { median, ratio, relativeSpread, round3 } from './stats.ts'
import { benchTargets, comparedFigures, type BenchConfig, type BenchReport, type BenchResult, type BenchTarget, type ComparedFigure, type RoundFigures } from './types.ts'
import type { LedgerSummary } from '../../fake-upstreams/index.ts'

export interface BenchOptions {
  readonly quick: boolean
  readonly protocols?: ReadonlyArray<'http' | 'https'>
  readonly payloads?: ReadonlyArray<'json' | 'sse'>
  readonly concurrencies?: readonly number[]
  readonly rttsMs?: readonly number[]
  readonly rounds?: number
  readonly roundMs?: number
  /** Also measure a local nginx with an upstream keepalive pool in front of the same upstream. */
  readonly anchor?: 'nginx'
  readonly onProgress?: (done: number, total: number, id: string) => void
}

const hostScript = fileURLToPath(new URL('./host.ts', import.meta.url))
const require = createRequire(import.meta.url)

interface Host {
  readonly url: string
  readonly child: ChildProcess
  ask<T>(message: string, key: string): Promise<T>
  close(): Promise<void>
}

async function startHost(spec: HostSpec): Promise<Host> {
  const child = fork(hostScript, [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [first] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => { throw new Error(`bench host (${spec.role}) exited with code ${String(code)} before listening`) }),
  ])) as [{ url: string }]
  return {
    url: first.url,
    child,
    async ask<T>(message: string, key: string): Promise<T> {
      const reply = new Promise<T>((resolve) => {
        const on = (m: unknown): void => {
          if (m && typeof m === 'object' && key in m) {
            child.off('message', on)
            resolve((m as Record<string, T>)[key]!)
          }
        }
        child.on('message', on)
      })
      child.send(message)
      return reply
    },
    async close() {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.send('close')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}

function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 })
}

/** One round of one configuration: a closed loop of `concurrency` workers for `durationMs`. */
async function measure(pool: Pool, config: BenchConfig, durationMs: number, upstream: Host | undefined): Promise<RoundFigures> {
  const latency = histogram()
  const ttfb = histogram()
  const errors: Record<string, number> = {}
  const body = messageBody(0, config.payload === 'sse')
  let completed = 0
  await upstream?.ask('reset', 'reset')
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
  const summary = upstream ? await upstream.ask<LedgerSummary>('summary', 'summary') : undefined
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
  }
  latency.destroy()
  ttfb.destroy()
  return figures
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], cwd: fileURLToPath(new URL('../..', import.meta.url)) }).toString().trim() || null
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
  const rounds = options.rounds ?? 3
  const roundMs = options.roundMs ?? (options.quick ? 500 : 800)
  const warmupMs = roundMs
  // Unrecorded rounds first. Measured on the 2-core machine: with 11 processes JIT-compiling at once,
  // throughput kept rising for about 20 s; rounds after that varied by ±10-20 %.
  const warmupRounds = options.quick ? 2 : 1

  const hosts: Host[] = []
  const anchors: Nginx[] = []
  const pools: Pool[] = []
  const targets: BenchTarget[] = options.anchor === 'nginx' ? [...benchTargets, 'nginx'] : [...benchTargets]
  try {
    // One upstream per protocol × RTT, and one proxy per connector profile in front of it.
    const upstreams = new Map<string, Host>()
    const proxies = new Map<string, Host>()
    const anchorUrls = new Map<string, string>()
    for (const protocol of protocols) {
      for (const rttMs of rtts) {
        const up = await startHost({ role: 'upstream', tls: protocol === 'https', rttMs })
        hosts.push(up)
        upstreams.set(`${protocol}/${rttMs}`, up)
        for (const target of benchTargets) {
          if (target === 'direct') continue
          const px = await startHost({ role: 'proxy', upstreamUrl: up.url, profile: target })
          hosts.push(px)
          proxies.set(`${protocol}/${rttMs}/${target}`, px)
        }
        if (options.anchor === 'nginx') {
          const nx = await startNginx(up.url)
          anchors.push(nx)
          anchorUrls.set(`${protocol}/${rttMs}`, nx.url)
        }
      }
    }
    const configs: Array<BenchConfig & { pool: Pool; upstream: Host }> = []
    for (const protocol of protocols) for (const payload of payloads) for (const concurrency of concurrencies) for (const rttMs of rtts) {
      for (const target of targets) {
        const upstream = upstreams.get(`${protocol}/${rttMs}`)!
        const url = target === 'direct' ? upstream.url
          : target === 'nginx' ? anchorUrls.get(`${protocol}/${rttMs}`)!
            : proxies.get(`${protocol}/${rttMs}/${target}`)!.url
        const pool = new Pool(url, { allowH2: false, connections: concurrency, connect: { rejectUnauthorized: false } })
        pools.push(pool)
        const base = { target: target as BenchTarget, protocol, payload, concurrency, rttMs }
        configs.push({ ...base, id: configId(base), pool, upstream })
      }
    }

    const perConfig = new Map<string, RoundFigures[]>(configs.map((c) => [c.id, []]))
    const total = configs.length * rounds
    let done = 0
    for (let w = 0; w < warmupRounds; w++) for (const c of configs) await measure(c.pool, c, warmupMs, undefined)
    for (let r = 0; r < rounds; r++) {
      // Rotate the order every round so no configuration always runs first or last.
      const order = configs.map((_, i) => configs[(i + r * Math.max(1, Math.floor(configs.length / rounds))) % configs.length]!)
      for (const c of order) {
        perConfig.get(c.id)!.push(await measure(c.pool, c, roundMs, c.upstream))
        options.onProgress?.(++done, total, c.id)
      }
    }

    const results: BenchResult[] = configs.map((c) => {
      const rs = perConfig.get(c.id)!
      const pick = (f: keyof Omit<RoundFigures, 'errors'>): number => round3(median(rs.map((x) => x[f])))
      const spread = Object.fromEntries((Object.keys(comparedFigures) as ComparedFigure[]).map((f) => [f, round3(relativeSpread(rs.map((x) => x[f])))])) as Record<ComparedFigure, number>
      return {
        id: c.id, target: c.target, protocol: c.protocol, payload: c.payload, concurrency: c.concurrency, rttMs: c.rttMs,
        rounds: rs,
        median: {
          requests: pick('requests'), rps: pick('rps'), p50: pick('p50'), p90: pick('p90'), p99: pick('p99'), ttfbP50: pick('ttfbP50'),
          errors: rs.reduce((n, x) => n + Object.values(x.errors).reduce((a, b) => a + b, 0), 0),
          connectionsPerRequest: pick('connectionsPerRequest'), handshakesPerRequest: pick('handshakesPerRequest'), clientCpuCores: pick('clientCpuCores'),
        },
        spread,
      }
    })
    const byId = new Map(results.map((r) => [r.id, r]))
    const groups = [...new Set(results.map((r) => r.id.slice(0, r.id.lastIndexOf('/'))))]
    const rps = (g: string, t: BenchTarget): number => byId.get(`${g}/${t}`)?.median.rps ?? 0
    const ratios = groups.map((g) => ({
      id: g,
      forceCloseOverTuned: nullableRound(ratio(rps(g, 'force-close'), rps(g, 'tuned-keepalive'))),
      tunedOverNaive: nullableRound(ratio(rps(g, 'tuned-keepalive'), rps(g, 'naive-keepalive'))),
      proxyOverDirect: nullableRound(ratio(rps(g, 'tuned-keepalive'), rps(g, 'direct'))),
      ...(options.anchor === 'nginx' ? { nginxOverDirect: nullableRound(ratio(rps(g, 'nginx'), rps(g, 'direct'))) } : {}),
    }))
    return {
      schema: 'qcc-lab/bench-report@1',
      createdAt: new Date().toISOString(),
      mode: options.quick ? 'quick' : 'full',
      settings: { rounds, roundMs, warmupMs: warmupMs * warmupRounds },
      environment: {
        node: process.versions.node,
        undici: (require('undici/package.json') as { version: string }).version,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        cores: os.availableParallelism(),
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
  }
}

function nullableRound(v: number | null): number | null {
  return v === null ? null : round3(v)
}
