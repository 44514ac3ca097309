/**
 * `qcc-lab proxy status` as a person reads it: each endpoint by its URL and the end of its key (two
 * keys on one relay are told apart), its tier and priority, the hash id only after them; every line
 * within the width; `--json` unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstreams/index.ts'
import { runCli } from '../helpers/cli.ts'

let dir: string
let home: string
let upstream: FakeUpstream
let base: string

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { timeoutMs: 60_000, env })

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-proxy-status-'))
  home = path.join(dir, 'home')
  upstream = await startFakeUpstream({ name: 'relay' })
  const config = path.join(dir, 'lab.yaml')
  // Two keys on one relay, and a relay that refuses connections (port 9, discard: nothing listens).
  await writeFile(config, [
    'clusters:',
    '  test:',
    '    endpoints:',
    `      - { baseUrl: ${upstream.url}, apiKey: sk-status-first-1111, priority: 1 }`,
    `      - { baseUrl: ${upstream.url}, apiKey: sk-status-second-2222, priority: 2 }`,
    '      - { baseUrl: http://127.0.0.1:9/relay/with/a/rather/long/path/to/make/the/line/wrap, apiKey: sk-status-gone-3333, priority: 3 }',
    '',
  ].join('\n'))
  const started = await run(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', home, '--detach'])
  expect(started.code, started.stderr).toBe(0)
  base = /started in the background: pid \d+, (http:\/\/127\.0\.0\.1:\d+)/.exec(started.stdout)![1]!
  const res = await request(`${base}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [] }) })
  await res.body.text()
})
afterAll(async () => {
  await run(['proxy', 'stop', '--home', home])
  await upstream.close()
  await rm(dir, { recursive: true, force: true })
})

describe('qcc-lab proxy status', () => {
  it('names each endpoint by its URL and key ending, the id only after them', async () => {
    const json = JSON.parse((await run(['proxy', 'status', '--home', home, '--json'])).stdout)
    const endpoints = json.running[0].stats.endpoints as Array<{ id: string; base_url: string; api_key: string; tier: string }>
    expect(endpoints).toHaveLength(3)
    const r = await run(['proxy', 'status', '--home', home], { COLUMNS: '' })
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(new RegExp(`^${base} {2}pid \\d+ {2}cluster test {2}up \\d+ s$`))
    expect(lines[1]).toMatch(/^ {2}1 request, 100% succeeded · strategy priority_failover · failure queue 0$/)
    expect(lines).toContain(`    healthy  ${upstream.url}  key …1111  priority 1  (id ${endpoints[0]!.id})`)
    expect(lines).toContain(`    healthy  ${upstream.url}  key …2222  priority 2  (id ${endpoints[1]!.id})`)
    // The id never stands for an endpoint on its own: wherever it appears, it follows that endpoint's URL.
    for (const e of endpoints) {
      const at = r.stdout.indexOf(e.id)
      expect(at).toBeGreaterThan(r.stdout.indexOf(e.base_url.slice(0, 30)))
      expect(r.stdout.match(new RegExp(e.id, 'g'))).toHaveLength(1)
    }
    expect(r.stdout).not.toContain('sk-status')
  })

  it('fits every line in the width (80 piped, or COLUMNS)', async () => {
    for (const [columns, width] of [['', 80], ['50', 50]] as const) {
      const r = await run(['proxy', 'status', '--home', home], { COLUMNS: columns })
      expect(r.code).toBe(0)
      expect(r.stdout.trimEnd().split('\n').filter((l) => [...l].length > width)).toEqual([])
      // The long URL wraps with its endpoint's indent, its id still after it.
      expect(r.stdout.replace(/\n +/g, '')).toMatch(/http:\/\/127\.0\.0\.1:9\/relay\/with\/a\/rather\/long\/path\/to\/make\/the\/line\/wrap *key …3333 *priority 3 *\(id [0-9a-f]{8}\)/)
    }
  })
})
