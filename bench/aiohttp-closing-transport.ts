/**
 * How often, and with which words, a real aiohttp relay (test/fixtures/aiohttp-relay/relay.py, default
 * keep-alive connector, no retry) fails requests when its upstream advertises Keep-Alive and closes after
 * every response anyway (the close-after-response fault). A measurement, not a test:
 *
 *   node bench/aiohttp-closing-transport.ts [--runs N] [--requests N] [--concurrency N] [--pipeline N] [--after-ms MS] [--mode fin|rst] [--force-close]
 *
 * Per run: a fresh upstream and relay, `requests` POST /v1/messages (default 100) from `concurrency`
 * sequential workers (default 1), then counts of failures and of the 502 bodies that quote each aiohttp
 * error text. `--pipeline N` (N >= 2): each worker writes N requests back to back on one raw keep-alive
 * connection and waits for their N answers, so the next request is already inside the relay when the
 * previous upstream response ends (a client that waits for each answer reaches the relay after the FIN). Bounded: at most 50 runs of at most 2,000 requests, 10 s per request, 15 s per relay start.
 * Needs /usr/bin/python3 with aiohttp (Debian: apt-get install python3-aiohttp).
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { startFakeUpstream } from '../fake-upstreams/index.ts'
import { qccCacheFor } from '../src/harness/runner/target.ts'
import { messageBody } from '../src/harness/workload/run-workload.ts'
import { freePort } from '../src/shared/ports.ts'
import { rawConnect } from '../test/helpers/raw-http.ts'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    requests: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '1' },
    pipeline: { type: 'string', default: '1' },
    'after-ms': { type: 'string', default: '0' },
    mode: { type: 'string', default: 'fin' },
    'force-close': { type: 'boolean', default: false },
  },
})
const clamp = (v: string, lo: number, hi: number): number => Math.min(hi, Math.max(lo, Math.floor(Number(v)) || lo))
const runs = clamp(values.runs, 1, 50)
const requests = clamp(values.requests, 1, 2_000)
const concurrency = clamp(values.concurrency, 1, 64)
const pipeline = clamp(values.pipeline, 1, 16)
const afterMs = clamp(values['after-ms'], 0, 10_000)
const mode = values.mode === 'rst' ? 'rst' : 'fin'
const RELAY = fileURLToPath(new URL('../test/fixtures/aiohttp-relay/relay.py', import.meta.url))

/** The texts counted in 502 bodies; a body may contain several (the error and its cause). */
const TEXTS = ['closing transport', 'Can not write request body', 'Server disconnected', 'Connection reset', 'Broken pipe'] as const

async function startRelay(upstreamUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
  const home = mkdtempSync(path.join(tmpdir(), 'qcc-lab-aiohttp-bench-'))
  const config = path.join(home, 'cache.json')
  writeFileSync(config, qccCacheFor('bench', [{ baseUrl: upstreamUrl, apiKey: 'sk-bench-0000' }]), { mode: 0o600 })
  const port = await freePort()
  const child = spawn('/usr/bin/python3', [RELAY, '--config', config, '--cluster', 'bench', '--port', String(port), ...(values['force-close'] ? ['--force-close'] : [])], { stdio: ['ignore', 'pipe', 'ignore'] })
  const exited = once(child, 'exit')
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
    rmSync(home, { recursive: true, force: true })
  }
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  const deadline = Date.now() + 15_000
  while (!out.includes('relay listening on')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`the relay did not start (exit ${child.exitCode}); is aiohttp installed for /usr/bin/python3?`)
    }
    await Promise.race([once(child.stdout, 'data'), exited, new Promise((r) => setTimeout(r, 200))])
  }
  return { url: `http://127.0.0.1:${port}`, stop }
}

interface RunResult { failures: number; counts: Record<(typeof TEXTS)[number], number>; other: number; connections: number }

async function run(): Promise<RunResult> {
  const upstream = await startFakeUpstream({ faults: [{ kind: 'close-after-response', afterMs, mode }] })
  const relay = await startRelay(upstream.url)
  const pool = new Pool(relay.url, { allowH2: false })
  const result: RunResult = { failures: 0, counts: Object.fromEntries(TEXTS.map((t) => [t, 0])) as RunResult['counts'], other: 0, connections: 0 }
  const tally = (status: number, body: string): void => {
    if (status === 200) return
    result.failures++
    const hits = TEXTS.filter((t) => body.includes(t))
    for (const t of hits) result.counts[t]++
    if (hits.length === 0) result.other++
  }
  let next = 0
  const worker = async (): Promise<void> => {
    for (let i = next++; i < requests; i = next++) {
      try {
        const res = await pool.request({ method: 'POST', path: '/v1/messages', body: messageBody(i, false), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000) })
        tally(res.statusCode, await res.body.text())
      } catch {
        result.failures++
        result.other++
      }
    }
  }
  const pipelinedWorker = async (): Promise<void> => {
    const conn = await rawConnect(relay.url)
    let sent = 0
    try {
      while (next < requests) {
        const group = Math.min(pipeline, requests - next)
        for (let j = 0; j < group; j++) conn.send(`bench-${next}`, messageBody(next++, false))
        sent += group
        let timer: NodeJS.Timeout | undefined
        const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000) })
        const answers = await Promise.race([conn.responses(sent), timeout]).finally(() => clearTimeout(timer))
        for (const r of answers.slice(sent - group)) tally(Number(r.slice(9, 12)), r)
      }
    } finally {
      conn.socket.destroy()
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, pipeline > 1 ? pipelinedWorker : worker))
  } finally {
    await pool.close()
    await relay.stop()
    result.connections = upstream.ledger.connections().filter((c) => c.requests > 0).length
    await upstream.close()
  }
  return result
}

console.log(`aiohttp relay (${values['force-close'] ? 'force_close' : 'default keep-alive connector'}) vs close-after-response (afterMs ${afterMs}, ${mode}): ${runs} runs × ${requests} requests, concurrency ${concurrency}${pipeline > 1 ? `, pipelined ${pipeline} deep` : ''}`)
console.log(['run', 'failures', ...TEXTS, 'other', 'upstream conns'].join(' | '))
for (let r = 1; r <= runs; r++) {
  const x = await run()
  console.log([String(r).padStart(3), String(x.failures).padStart(8), ...TEXTS.map((t) => String(x.counts[t]).padStart(t.length)), String(x.other).padStart(5), String(x.connections).padStart(14)].join(' | '))
}
