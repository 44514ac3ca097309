/**
 * A benchmark child process: runs every fake upstream, or every proxy, of a bench run, so the load
 * generator, the proxies and the upstreams do not share an event loop. One process per role, not one per
 * configuration: the configurations run one at a time, and a shared process warms its JIT once for all
 * of them instead of once each (a fresh Node process here needs seconds of load to reach full speed).
 * Talks to the parent over IPC:
 * → `{ urls }` once listening (in spec order); ← `{ summary: i }` → `{ summary }` of upstream i;
 * ← `reset` → `{ reset: true }` (clears every ledger); ← `cpu` → `{ cpu }` (µs used so far); ← `close` → exits.
 *
 * `QCC_LAB_BENCH_INJECT_CPU_PCT` (an experiment's knob, see bench/README.md): the proxy process spends
 * that many percent more CPU on every request it receives, as a regression of the proxy would.
 */
import diagnostics from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstreams/index.ts'
import { startProxy, type ProxyHandle } from '../proxy/server.ts'
import { selfSignedCertificate } from '../shared/self-signed.ts'
import type { ConnectorProfileName } from '../proxy/connector/profiles.ts'
import { startNodeFloor, type NodeFloor } from './node-floor.ts'
import { BENCH_IDLE_MS } from './types.ts'

export type HostSpec =
  | { readonly role: 'upstreams'; readonly upstreams: ReadonlyArray<{ readonly tls: boolean; readonly rttMs: number }> }
  | {
    readonly role: 'proxies'
    readonly proxies: ReadonlyArray<{ readonly upstreamUrl: string; readonly profile: ConnectorProfileName }>
    /** Bare Node relays (`--anchor node-floor`), one per upstream, after the proxies in `urls`. */
    readonly floors?: ReadonlyArray<{ readonly upstreamUrl: string }>
  }

const send = (m: unknown): void => { process.send?.(m) }

async function main(spec: HostSpec): Promise<void> {
  const upstreams: FakeUpstream[] = []
  const proxies: ProxyHandle[] = []
  const floors: NodeFloor[] = []
  if (spec.role === 'upstreams') {
    const tls = spec.upstreams.some((u) => u.tls) ? await selfSignedCertificate() : undefined
    for (const u of spec.upstreams) {
      // prerender: the bench measures the proxy, not msw's per-request cost (see UpstreamSpec.prerender).
      // A 2-minute idle timeout: a configuration waits for all the others between its rounds, and its
      // pooled connections must survive that wait, or every round would start by reconnecting (64 TLS
      // handshakes at c64) and measure that instead of steady keep-alive.
      upstreams.push(await startFakeUpstream({
        name: 'bench', tls: u.tls ? tls : undefined, networkRttMs: u.rttMs, behaviour: { textDeltas: 8 }, prerender: true, idleTimeoutMs: BENCH_IDLE_MS,
      }))
    }
  } else {
    for (const p of spec.proxies) {
      proxies.push(await startProxy({
        port: 0,
        seed: 1,
        cluster: {
          name: 'bench',
          connector: { profile: p.profile },
          endpoints: [{ baseUrl: p.upstreamUrl, apiKey: 'sk-bench-0000', rejectUnauthorized: false }],
          verifier: { enabled: false },
        },
      }))
    }
    for (const f of spec.floors ?? []) floors.push(await startNodeFloor(f.upstreamUrl, BENCH_IDLE_MS))
    const pct = Number(process.env.QCC_LAB_BENCH_INJECT_CPU_PCT ?? 0)
    if (pct > 0) injectCpu(pct, new Set(floors.map((f) => f.server)))
  }
  send({ urls: [...upstreams, ...proxies, ...floors].map((h) => h.url) })
  process.on('message', (m: unknown) => {
    if (m && typeof m === 'object' && 'summary' in m) send({ summary: upstreams[Number((m as { summary: unknown }).summary)]?.ledger.summary() })
    else if (m === 'cpu') {
      const u = process.cpuUsage()
      send({ cpu: u.user + u.system })
    } else if (m === 'reset') {
      for (const u of upstreams) u.ledger.clear()
      send({ reset: true })
    } else if (m === 'close') {
      void Promise.allSettled([...upstreams.map((u) => u.close()), ...proxies.map((p) => p.close(1_000)), ...floors.map((f) => f.close())]).finally(() => process.exit(0))
    }
  })
  process.on('disconnect', () => process.exit(0))
}

/**
 * Spends `pct` % more CPU on every HTTP request a proxy of this process receives (not the floors): a
 * busy wait of that share of what a request cost over the last 50 (the process's CPU, less what this
 * spent). After a pause of 20 ms (another configuration's turn) it starts over and burns nothing until
 * it has measured 50 requests again, so one configuration's cost never leaks into another's.
 */
function injectCpu(pct: number, spared: ReadonlySet<unknown>): void {
  const window = 50
  let requests = 0
  let injectedUs = 0
  let mark = process.cpuUsage()
  let last = 0
  let perRequestUs = 0
  diagnostics.subscribe('http.server.request.start', (message) => {
    if (spared.has((message as { server?: unknown }).server)) return
    const now = performance.now()
    if (now - last > 20) {
      perRequestUs = 0
      requests = 0
      injectedUs = 0
      mark = process.cpuUsage()
    }
    last = now
    if (++requests === window) {
      const u = process.cpuUsage(mark)
      perRequestUs = Math.max(0, (u.user + u.system - injectedUs) / requests)
      mark = process.cpuUsage()
      requests = 0
      injectedUs = 0
    }
    if (perRequestUs === 0) return
    const t0 = process.hrtime.bigint()
    const until = t0 + BigInt(Math.round(perRequestUs * pct * 10))
    while (process.hrtime.bigint() < until) { /* spin */ }
    injectedUs += Number(process.hrtime.bigint() - t0) / 1000
  })
}

const spec = JSON.parse(process.argv[2] ?? '{}') as HostSpec
main(spec).catch((err: unknown) => {
  process.stderr.write(`bench host failed: ${String((err as Error)?.stack ?? err)}\n`)
  process.exit(2)
})
