/**
 * Time to the first SSE event, direct to the fake upstream and through the proxy, over loopback.
 * A measurement, not a test: run with `node bench/sse-ttfb.ts [requests]` and read the table.
 * Bounded: `requests` (default 100, at most 2,000) sequential streams per path; the upstream spaces its
 * 200 events 1 ms apart, so a stream lasts about 0.2–0.4 s.
 */
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { startFakeUpstream } from '../fake-upstreams/index.ts'
import { startProxy } from '../src/proxy/server.ts'
import { summarizeLatency } from '../src/harness/report/stats.ts'

const requests = Math.min(2_000, Math.max(1, Number(process.argv[2] ?? 100)))
const upstream = await startFakeUpstream({ name: 'sse', behaviour: { textDeltas: 194, eventIntervalMs: 1 } })
const proxy = await startProxy({ port: 0, seed: 1, cluster: { name: 'bench', endpoints: [{ baseUrl: upstream.url, apiKey: 'sk-bench-0000' }] } })
const body = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] })

async function measure(target: string): Promise<{ ttfb: number[]; total: number[]; bytes: number }> {
  const pool = new Pool(target, { allowH2: false, connections: 1 })
  const ttfb: number[] = []
  const total: number[] = []
  let bytes = 0
  try {
    for (let i = 0; i < requests + 10; i++) {
      const t0 = performance.now()
      const res = await pool.request({ method: 'POST', path: '/v1/messages', body, headers: { 'content-type': 'application/json' } })
      const chunks = res.body[Symbol.asyncIterator]()
      let next = await chunks.next()
      const t1 = performance.now()
      let n = 0
      for (; !next.done; next = await chunks.next()) n += (next.value as Buffer).length
      const t2 = performance.now()
      if (i >= 10) { // the first 10 warm up the JIT and the pools
        ttfb.push(t1 - t0)
        total.push(t2 - t0)
        bytes = n
      }
    }
  } finally {
    await pool.close()
  }
  return { ttfb, total, bytes }
}

const direct = await measure(upstream.url)
const viaProxy = await measure(proxy.url)
await proxy.close()
await upstream.close()

const row = (name: string, m: { ttfb: number[]; total: number[]; bytes: number }) => {
  const t = summarizeLatency(m.ttfb)
  const s = summarizeLatency(m.total)
  return `${name.padEnd(8)} first event p50 ${t.p50.toFixed(2)} ms  p99 ${t.p99.toFixed(2)} ms | whole stream (200 events, ${m.bytes} B) p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms`
}
console.log(`${requests} sequential SSE requests per path, node ${process.versions.node}`)
console.log(row('direct', direct))
console.log(row('proxy', viaProxy))
console.log(`added by the proxy to the first event: p50 ${(summarizeLatency(viaProxy.ttfb).p50 - summarizeLatency(direct.ttfb).p50).toFixed(2)} ms`)
