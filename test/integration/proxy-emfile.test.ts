/**
 * The proxy out of file descriptors (`ulimit -n 40`, a burst of 60 concurrent requests to a slow
 * upstream): connecting to the upstream fails with EMFILE on the proxy's own side. That is answered 503
 * as the proxy's failure and never counted against the endpoint (before: `502 All 1 endpoints failed`
 * and a degraded endpoint whose breaker opened).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Pool } from 'undici'
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstreams/index.ts'
import { quietPort } from '../helpers/ports.ts'
import { bin } from '../helpers/cli.ts'

let up: FakeUpstream | undefined
let child: ChildProcess | undefined
let dir: string | undefined
afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL')
    await once(child, 'exit')
  }
  await up?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
  up = child = dir = undefined
})

/** How many answers of each kind the clients got (status and the start of the body), for a failure's message. */
function seen(answers: ReadonlyArray<{ status: number; text: string }>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const a of answers) {
    const k = `${a.status} ${a.text.slice(0, 60)}`
    out[k] = (out[k] ?? 0) + 1
  }
  return out
}

describe('a proxy out of file descriptors', () => {
  it('answers 503 as its own failure and keeps the endpoint healthy', async () => {
    up = await startFakeUpstream({ behaviour: { firstByteDelayMs: 300 } })
    dir = mkdtempSync(path.join(tmpdir(), 'qcc-lab-emfile-'))
    const config = path.join(dir, 'lab.yaml')
    writeFileSync(config, `clusters:\n  main:\n    connector: { profile: tuned-keepalive, connections: 1000 }\n    endpoints:\n      - { baseUrl: ${up.url}, apiKey: sk-test-0001 }\n`)
    const port = await quietPort()
    child = spawn('sh', ['-c', `ulimit -n 40 && exec "${process.execPath}" "${bin}" proxy start --config "${config}" --cluster main --port ${port} --home "${dir}"`], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
    const deadline = Date.now() + 15_000
    while (!out.includes('listening on') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50))
    expect(out).toContain('listening on')

    const client = new Pool(`http://127.0.0.1:${port}`, { connections: 60, allowH2: false })
    try {
      const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => client.request({
        method: 'POST', path: '/v1/messages', headers: { 'content-type': 'application/json', 'x-request-id': `fd-${i}` },
        body: JSON.stringify({ model: 'x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
        signal: AbortSignal.timeout(10_000),
      }).then(async (r) => ({ status: r.statusCode, text: await r.body.text() }), (e: { code?: string }) => ({ status: 0, text: String(e.code) }))))
      const proxySide = answers.filter((a) => a.status === 503 && /connect EMFILE .*a failure of this proxy, not of the endpoint/.test(a.text))
      // Measured: 17 of 60 every run here; the rest could not even be accepted (the client sees a closed socket).
      expect(proxySide.length).toBeGreaterThanOrEqual(1)
      expect(answers.filter((a) => /All \d+ endpoints failed/.test(a.text))).toEqual([])
      const stats = await (await client.request({ method: 'GET', path: '/__qcc__/stats' })).body.json() as {
        endpoints: Array<{ is_healthy: boolean; breaker: { state: string; consecutive_failures: number } }>
        attempts_by_outcome: Record<string, number>
        total_requests: number
        successful_requests: number
        failed_requests: number
      }
      expect(stats.endpoints.map((e) => [e.is_healthy, e.breaker.state, e.breaker.consecutive_failures])).toEqual([[true, 'closed', 0]])
      expect(stats.attempts_by_outcome['network-error']).toBe(0)
      // One proxy-error attempt per request the proxy failed (a proxy-error ends the attempt loop), each
      // counted once, and nothing else failed.
      // Read as is: a missing count is undefined and fails every comparison below, never a 0 that passes.
      const proxyErrors = stats.attempts_by_outcome['proxy-error']!
      const why = JSON.stringify({ stats: { total: stats.total_requests, ok: stats.successful_requests, failed: stats.failed_requests }, seen: seen(answers) })
      expect(proxyErrors, why).toBe(stats.failed_requests)
      expect(stats.successful_requests + stats.failed_requests, why).toBe(stats.total_requests)
      // Every proxy-side 503 a client read is one of them. The converse is not certain: in 1 clean-clone CI
      // run, 17 proxy-error attempts met 16 such answers (17 and 17 in 12 of 12 runs beside three busy
      // loops, the other 43 clients UND_ERR_SOCKET), so one answer reached its client as something else:
      // at most one per answer that was neither a 200 nor such a 503.
      const other = answers.filter((a) => a.status !== 200 && !proxySide.includes(a)).length
      expect(proxyErrors, why).toBeGreaterThanOrEqual(proxySide.length)
      expect(proxyErrors, why).toBeLessThanOrEqual(proxySide.length + other)
    } finally {
      await client.close()
    }
  }, 60_000)
})
