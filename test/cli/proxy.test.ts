/** `qcc-lab proxy start|stop|status` and `upstream start` as real processes. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstreams/index.ts'
import { isLoopback } from '../../src/cli/commands/proxy.ts'
import { parseFaultFlag } from '../../src/cli/commands/upstream.ts'
import { bin, runCli } from '../helpers/cli.ts'

let dir: string
let home: string
let upstream: FakeUpstream
let config: string
const children: ChildProcess[] = []

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-proxy-cli-'))
  home = path.join(dir, 'home')
  upstream = await startFakeUpstream({ name: 'relay', behaviour: { textDeltas: 5, eventIntervalMs: 40 } })
  config = path.join(dir, 'lab.yaml')
  await writeFile(config, `clusters:\n  test:\n    endpoints:\n      - baseUrl: ${upstream.url}\n        apiKey: sk-cli-test-9876\n`)
})
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
})
afterAll(async () => {
  await run(['proxy', 'stop', '--home', home])
  await upstream.close()
  await rm(dir, { recursive: true, force: true })
})

const run = (args: string[]) => runCli(args, { timeoutMs: 60_000 })

/** Spawns the CLI and resolves once stdout has printed a line matching `ready`. */
async function spawnUntil(args: string[], ready: RegExp): Promise<{ child: ChildProcess; output: () => string; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  child.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr!.on('data', (c: Buffer) => { out += c.toString() })
  for (;;) {
    const m = ready.exec(out)
    if (m) return { child, output: () => out, match: m }
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before ready: ${out}`)
    await Promise.race([once(child.stdout!, 'data'), once(child, 'exit')])
  }
}

describe('qcc-lab proxy', () => {
  it('starts in the background, reports status, refuses a second start on its port, and stops', async () => {
    const started = await run(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', home, '--detach'])
    expect(started.code).toBe(0)
    const url = /started in the background: pid \d+, (http:\/\/127\.0\.0\.1:(\d+))/.exec(started.stdout)
    expect(url, started.stdout + started.stderr).not.toBeNull()
    const [, base, port] = url!

    const res = await request(`${base}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [] }) })
    expect(res.statusCode).toBe(200)
    await res.body.text()

    const status = await run(['proxy', 'status', '--home', home, '--json'])
    expect(status.code).toBe(0)
    const running = JSON.parse(status.stdout).running
    expect(running).toHaveLength(1)
    expect(running[0]).toMatchObject({ port: Number(port), cluster: 'test', stats: { total_requests: 1 } })
    expect(status.stdout).not.toContain('sk-cli-test-9876')

    const second = await run(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', port!, '--home', home])
    expect(second.code).toBe(2)
    expect(second.stderr).toMatch(/already runs on port \d+ .*it was left alone/)
    expect((await request(`${base}/__qcc__/stats`)).statusCode).toBe(200)

    const stop = await run(['proxy', 'stop', '--home', home])
    expect(stop.code).toBe(0)
    expect(stop.stdout).toMatch(new RegExp(`port ${port}: stopped pid \\d+`))
    expect((await run(['proxy', 'status', '--home', home])).code).toBe(1)
    expect((await readdir(home)).filter((f) => f.endsWith('.pid'))).toEqual([])
  })

  it('drains an in-flight stream on SIGTERM, then exits 0 and removes its pid file', async () => {
    const h = path.join(dir, 'home-drain')
    const { child, match } = await spawnUntil(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', h], /listening on (http:\/\/[\d.:]+)/)
    const res = await request(`${match[1]}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'm', stream: true, messages: [] }) })
    let text = ''
    res.body.on('data', (c: Buffer) => { text += c.toString() })
    await once(res.body, 'data')
    child.kill('SIGTERM')
    await once(res.body, 'end')
    expect(text).toMatch(/event: message_stop/)
    const [code] = await once(child, 'exit')
    expect(code).toBe(0)
    expect((await readdir(h)).filter((f) => f.endsWith('.pid'))).toEqual([])
  })

  it('fails clearly when another process holds the port, and leaves that process alone', async () => {
    const holder = net.createServer()
    holder.listen(0, '127.0.0.1')
    await once(holder, 'listening')
    const port = (holder.address() as net.AddressInfo).port
    try {
      const r = await run(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', String(port), '--home', path.join(dir, 'home-busy')])
      expect(r.code).toBe(2)
      expect(r.stderr).toBe(`qcc-lab: Failed to start the proxy: 127.0.0.1:${port} is already in use by another process; it was left alone. Pick another --port.\n`)
      expect(holder.listening).toBe(true)
    } finally {
      holder.close()
    }
  })

  it('exits 2 on a bad config with the file and the field, and on an unknown compat switch', async () => {
    const bad = path.join(dir, 'bad.yaml')
    await writeFile(bad, 'clusters:\n  test:\n    endpoints: [{ baseUrl: "nope", apiKey: k }]\n')
    const r = await run(['proxy', 'start', '--config', bad, '--cluster', 'test', '--port', '0', '--home', home])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`${bad}: clusters.test.endpoints[0].baseUrl: expected a`)
    expect(r.stderr).toMatch(/baseUrl: expected an? [^\n]*URL/)
    const c = await run(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', home, '--compat', 'nope'])
    expect(c.code).toBe(2)
    expect(c.stderr).toMatch(/unknown compat switch "nope"/)
  })

  it('refuses a non-loopback host from the config file unless --host says so', async () => {
    const wide = path.join(dir, 'wide.yaml')
    await writeFile(wide, `host: 0.0.0.0\nclusters:\n  test:\n    endpoints: [{ baseUrl: "${upstream.url}", apiKey: k }]\n`)
    const r = await run(['proxy', 'start', '--config', wide, '--cluster', 'test', '--port', '0', '--home', home])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('needs an explicit --host 0.0.0.0')
  })

  it('knows loopback addresses (anything else gets a warning at start)', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true)
    expect(['0.0.0.0', '192.168.1.4', '::'].some(isLoopback)).toBe(false)
  })
})

describe('qcc-lab upstream start', () => {
  it('serves the fake API with the faults given, and prints its ledger summary on SIGINT', async () => {
    const { child, match, output } = await spawnUntil(['upstream', 'start', '--port', '0', '--fault', 'race-close:afterIdleMs=0', '--name', 'cli'], /listening on (http:\/\/[\d.:]+)/)
    const res = await request(`${match[1]}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [] }) })
    expect(JSON.parse(await res.body.text()).id).toBe('msg_cli_1')
    child.kill('SIGINT')
    const [code] = await once(child, 'exit')
    expect(code).toBe(0)
    expect(output()).toMatch(/stopped: 1 requests on 1 connections, 1 answered, 0 dropped by faults/)
  })

  it('parses --fault specs with typed values, and rejects bad ones', () => {
    expect(parseFaultFlag('idle-close:idleMs=1000,mode=rst,keepAliveHeader=lying')).toEqual({ kind: 'idle-close', idleMs: 1000, mode: 'rst', keepAliveHeader: 'lying' })
    expect(parseFaultFlag('race-close')).toEqual({ kind: 'race-close' })
    expect(() => parseFaultFlag('Race Close')).toThrow(/expected <kind>\[:<key>=<value>,...\]/)
    expect(() => parseFaultFlag('race-close:afterIdleMs')).toThrow(/"afterIdleMs" is not key=value/)
  })

  it('exits 2 on an unknown fault kind', async () => {
    const r = await run(['upstream', 'start', '--fault', 'slow-loris'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--fault "slow-loris": kind: unknown fault kind "slow-loris"/)
  })
})
