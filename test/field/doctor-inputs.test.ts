/**
 * The doctor against a fake stats server serving qcc's exact shape (spec §6.1) with the seed's bad
 * numbers, and every bad input a user can give: exit 2, one clear line naming the flag and the fix,
 * never a stack trace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { reportOf, runDoctor } from './doctor-cli.ts'
import { quietPort } from '../helpers/ports.ts'
import { childAndInProcess } from '../helpers/cli.ts'

/** qcc's /__qcc__/stats during the seed's incident: 111f4745 at 33 % and 2966 ms, 491d512f queued (auth). */
const seedIncident = {
  total_requests: 21, successful_requests: 7, failed_requests: 14,
  start_time: '2025-10-19T10:30:00.000000', uptime: 600.5, last_used_endpoint_id: '111f4745',
  endpoints: [
    { id: '111f4745', base_url: 'https://relay.example.net/api', priority: 1, enabled: true,
      health_status: { status: 'degraded', last_check: '2025-10-19T10:39:50.000000', consecutive_failures: 3, total_requests: 21, failed_requests: 14, success_rate: 33.33, avg_response_time: 2966, last_error: '暂时性错误: Cannot write to closing transport' },
      is_healthy: false },
    { id: '491d512f', base_url: 'https://api.example.com', priority: 2, enabled: true,
      health_status: { status: 'unhealthy', last_check: '2025-10-19T10:31:00.000000', consecutive_failures: 1, total_requests: 0, failed_requests: 0, success_rate: 100, avg_response_time: 0, last_error: 'HTTP 401: invalid key' },
      is_healthy: false },
  ],
  total_endpoints: 2, healthy_endpoints: 0,
  failed_endpoints: ['491d512f'], failure_queue_size: 1, endpoint_verify_counts: { '491d512f': 3 },
}

const fresh = { ...seedIncident, total_requests: 0, successful_requests: 0, failed_requests: 0, healthy_endpoints: 2, failed_endpoints: [], failure_queue_size: 0, endpoint_verify_counts: {},
  endpoints: seedIncident.endpoints.map((e) => ({ ...e, is_healthy: true, health_status: { ...e.health_status, status: 'unknown', total_requests: 0, failed_requests: 0 } })) }

let server: http.Server
let base: string
let closedPort: number
let dir: string

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const json = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)) }
    switch (req.url) {
      case '/__qcc__/stats': return json(200, seedIncident)
      case '/fresh/__qcc__/stats': return json(200, fresh)
      case '/html': res.writeHead(200, { 'content-type': 'text/html' }); return res.end('<!doctype html><h1>It works</h1>')
      case '/array': return json(200, [1, 2])
      case '/other': return json(200, { status: 'ok', total_requests: '21' })
      case '/hang': return // never answers; the doctor's --timeout ends it
      default: return json(404, { error: 'Not Found' })
    }
  })
  server.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  // A port that was just free, outside the range other listeners are given: nothing listens there.
  closedPort = await quietPort()
  dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-doctor-input-'))
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
  await rm(dir, { recursive: true, force: true })
})

describe('doctor --stats against qcc\'s stats shape', () => {
  it('fails all three seed thresholds on the seed\'s numbers, derived as qcc serves them (no top-level success_rate or avg_response_time)', async () => {
    const run = await runDoctor(['--stats', base, '--json'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(1)
    const r = reportOf(run)
    expect(r.stats).toMatchObject({ source: 'qcc', successRate: null, healthyEndpoints: 0, failureQueueSize: 1 })
    expect(r.thresholds.map((t) => [t.name, t.verdict, t.value])).toEqual([
      ['success_rate', 'fail', 33.33],
      ['healthy_endpoints', 'fail', 0],
      ['avg_response_time', 'fail', 2966],
    ])
    expect(r.findings.map((f) => [f.id, f.severity])).toEqual([
      ['success_rate', 'failure'], ['healthy_endpoints', 'failure'], ['avg_response_time', 'failure'], ['failure-queue', 'warning'],
    ])
    expect(r.findings.find((f) => f.id === 'avg_response_time')!.fix[0]).toContain('qcc-lab probe https://relay.example.net/api')
  })

  it('prints each threshold with where its value comes from', async () => {
    const run = await runDoctor(['--stats', base])
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/✗ success_rate > 95 +33\.33 % +successful_requests \/ total_requests = 7 \/ 21 \(qcc serves no success_rate key\)/)
    expect(run.stdout).toMatch(/✗ avg_response_time < 2000 +2966 ms/)
  })

  it('calls a proxy that has served nothing yet healthy: not-evaluable thresholds are not failures', async () => {
    const run = await runDoctor(['--stats', `${base}/fresh/__qcc__/stats`, '--json'])
    expect(run.code).toBe(0)
    const r = reportOf(run)
    expect(r.verdict).toBe('healthy')
    expect(r.thresholds.map((t) => [t.name, t.verdict])).toEqual([['success_rate', 'n/a'], ['healthy_endpoints', 'pass'], ['avg_response_time', 'n/a']])
  })
})

const noStack = /\n\s+at |internal error/

describe('doctor --help', () => {
  it('explains the checks, the exit codes and gives examples; exit 0', async () => {
    const run = await runDoctor(['--help'])
    expect(run.code).toBe(0)
    for (const text of ['--log <file>', '--stats <url>', '--json', 'success_rate > 95, healthy_endpoints >= 1, avg_response_time < 2000', 'Cannot write to closing transport', '降级使用 / 极端降级', 'Exit codes: 0 healthy', 'qcc-lab doctor --log ~/.fastcc/proxy.log']) {
      expect(run.stdout).toContain(text)
    }
  })
})

describe('bad input is exit 2 with a clear message', () => {
  const cases: Array<[string, () => Promise<string[]>, RegExp]> = [
    ['neither --log nor --stats', async () => [], /^qcc-lab: doctor needs --log <proxy\.log>, --stats <url>, or both/],
    ['a missing log file', async () => ['--log', path.join(dir, 'nope.log')], /^qcc-lab: --log \S+nope\.log: cannot read the file: it does not exist\. Check the path; qcc writes ~\/\.fastcc\/proxy\.log\.\n$/],
    ['a folder as the log', async () => ['--log', dir], /^qcc-lab: --log \S+: is a folder, not a log file\. Give the text log qcc writes/],
    ['a binary file', async () => {
      const f = path.join(dir, 'core.bin')
      await writeFile(f, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00]))
      return ['--log', f]
    }, /^qcc-lab: --log \S+core\.bin: is a binary file \(a NUL byte in its first 64 KiB\), not a proxy log\./],
    ['an empty file', async () => {
      const f = path.join(dir, 'empty.log')
      await writeFile(f, '')
      return ['--log', f]
    }, /^qcc-lab: --log \S+empty\.log: is empty: there is nothing to read\./],
    ['a text file that is no proxy log', async () => {
      const f = path.join(dir, 'notes.txt')
      await writeFile(f, 'hello\nworld\n')
      return ['--log', f]
    }, /^qcc-lab: --log \S+notes\.txt: no line is a proxy log line \(`YYYY-MM-DD HH:MM:SS,mmm - logger - LEVEL - message`.*in its 2 line\(s\)\./],
    ['a corrupt gzip file', async () => {
      const f = path.join(dir, 'broken.log.gz')
      await writeFile(f, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x41, 0x42, 0x43, 0x44, 0x45]))
      return ['--log', f]
    }, /^qcc-lab: --log \S+broken\.log\.gz: starts like a gzip file but cannot be decompressed/],
    ['an unreachable stats URL', async () => ['--stats', `http://127.0.0.1:${closedPort}`], /^qcc-lab: --stats http:\/\/127\.0\.0\.1:\d+\/__qcc__\/stats: cannot read the stats: connection refused: nothing listens there\. Is the proxy running there\?/],
    ['a stats URL that never answers', async () => ['--stats', `${base}/hang`, '--timeout', '300'], /^qcc-lab: --stats \S+\/hang: cannot read the stats: no answer within 300 ms\./],
    ['a stats URL answering HTML', async () => ['--stats', `${base}/html`], /^qcc-lab: --stats \S+\/html: the answer is not JSON \(content-type text\/html; it starts with "<!doctype html>/],
    ['a stats URL answering a JSON array', async () => ['--stats', `${base}/array`], /^qcc-lab: --stats \S+\/array: the answer is JSON but not an object \(an array\)/],
    ['a stats URL answering JSON of another shape', async () => ['--stats', `${base}/other`], /^qcc-lab: --stats \S+\/other: not qcc's \/__qcc__\/stats: total_requests is "21", not a number; successful_requests is missing; failed_requests is missing \(its keys: status, total_requests\)/],
    ['a stats URL answering 404', async () => ['--stats', `${base}/nothing-here`], /^qcc-lab: --stats \S+\/nothing-here: answered HTTP 404: \{"error":"Not Found"\}\. Is this a qcc proxy\?/],
    ['a stats address without http://', async () => ['--stats', 'localhost:7860'], /^qcc-lab: --stats localhost:7860: no http:\/\/ or https:\/\/\. Did you mean http:\/\/localhost:7860\?/],
    ['a stats URL of another scheme', async () => ['--stats', 'ftp://127.0.0.1/x'], /^qcc-lab: --stats ftp:\/\/127\.0\.0\.1\/x: ftp: is not http: or https:/],
    ['a bad --timeout', async () => ['--stats', base, '--timeout', 'soon'], /--timeout takes a whole number from 1 to 600000; got "soon"/],
  ]
  for (const [name, args, message] of cases) {
    it(`for ${name}`, async () => {
      const run = await runDoctor(await args())
      expect(run.code).toBe(2)
      expect(run.stdout).toBe('')
      expect(run.stderr).toMatch(message)
      expect(run.stderr).not.toMatch(noStack)
    })
  }

  it('answers in a real child exactly as in this process', async () => {
    const lines = [['--stats', base, '--json'], ['--stats', base], ['--log', path.join(dir, 'nope.log')], ['--stats', `${base}/other`], []]
    const { children, inProcess } = await childAndInProcess(lines, { child: (args) => runDoctor(args, { child: true }), inProcess: (args) => runDoctor(args) })
    expect(children.map((c) => c.code)).toEqual([1, 1, 2, 2, 2])
    expect(inProcess).toEqual(children)
  })

  it('for binary data on stdin (--log -)', async () => {
    const run = await runDoctor(['--log', '-'], { input: Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00]) })
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/^qcc-lab: --log -: is a binary file/)
  })
})
