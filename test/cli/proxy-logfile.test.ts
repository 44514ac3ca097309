/**
 * The proxy's log file: one that cannot be opened is an exit 2 before anything listens (no stack
 * trace, no pid file, no listener, with or without --detach); one that fails later (disk full) is
 * reported once on stderr and the proxy keeps serving.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstreams/index.ts'
import { bin, runCli } from '../helpers/cli.ts'

let dir: string
let upstream: FakeUpstream
let config: string
const children: ChildProcess[] = []

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-proxy-logfile-'))
  upstream = await startFakeUpstream({ name: 'relay' })
  config = path.join(dir, 'lab.yaml')
  await writeFile(config, `clusters:\n  test:\n    endpoints:\n      - baseUrl: ${upstream.url}\n        apiKey: sk-logfile-test-9876\n`)
  await writeFile(path.join(dir, 'a-file'), '')
})
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL')
      await once(c, 'exit')
    }
  }
  await killLeftovers()
})

/**
 * A proxy that wrongly started in the background (a regression) is listed in a pid file under `dir`:
 * kill it, once its command line shows it is one of ours (it names this test's temp folder).
 */
async function killLeftovers(): Promise<void> {
  for (const home of await readdir(dir).catch(() => [] as string[])) {
    for (const f of await pidFilesIn(path.join(dir, home))) {
      try {
        const pid = (JSON.parse(readFileSync(path.join(dir, home, f), 'utf8')) as { pid: number }).pid
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL')
      } catch { /* gone, or not ours */ }
    }
  }
}
afterAll(async () => {
  await upstream.close()
  await rm(dir, { recursive: true, force: true })
})

const run = (args: string[]) => runCli(args, { timeoutMs: 10_000 })

async function pidFilesIn(home: string): Promise<string[]> {
  return (await readdir(home).catch(() => [] as string[])).filter((f) => f.endsWith('.pid'))
}

describe('qcc-lab proxy start with a log file it cannot write', () => {
  const bad: Array<[string, () => string, RegExp]> = [
    ['a folder under /proc', () => '/proc/forbidden/x.log', /: its folder \/proc\/forbidden does not exist\. /],
    ['a folder that does not exist', () => path.join(dir, 'no-such-dir', 'x.log'), /: its folder .*no-such-dir does not exist\. /],
    ['a path through a regular file', () => path.join(dir, 'a-file', 'x.log'), /: .*a-file is not a folder\. /],
    ['a folder instead of a file', () => dir, /: it is a folder\. /],
  ]
  for (const [name, file, reason] of bad) {
    for (const detach of [false, true]) {
      it(`exits 2 before listening for ${name}${detach ? ' (--detach)' : ''}`, async () => {
        const home = path.join(dir, `home-${name.replace(/[^\w]+/g, '-')}${detach ? '-detach' : ''}`)
        const r = await run(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', home, '--log-file', file(), ...(detach ? ['--detach'] : [])])
        expect(r.stdout).not.toMatch(/listening on|started in the background/)
        expect(r.code).toBe(2)
        expect(r.stderr).toMatch(new RegExp(`^qcc-lab: Failed to open the proxy log ${file().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: [^\\n]+\\.\\n$`))
        expect(r.stderr).toMatch(reason)
        expect(r.stderr).not.toMatch(/\n\s+at |internal error/)
        expect(await pidFilesIn(home)).toEqual([])
      })
    }
  }

  it('exits 2 for a file it may not create (permission denied), when the system refuses even root', async (ctx) => {
    // /sys refuses new files even to root; elsewhere root could write anywhere.
    const file = '/sys/qcc-lab-x.log'
    if (!existsSync('/sys/kernel')) ctx.skip()
    const home = path.join(dir, 'home-eacces')
    const r = await run(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', home, '--log-file', file])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^qcc-lab: Failed to open the proxy log \/sys\/qcc-lab-x\.log: (permission denied|the file system is read-only)\. [^\n]+\.\n$/)
    expect(await pidFilesIn(home)).toEqual([])
  })

  it('names the config file when the bad log file came from its logFile', async () => {
    const cfg = path.join(dir, 'with-log.yaml')
    await writeFile(cfg, `logFile: /proc/forbidden/x.log\nclusters:\n  test:\n    endpoints:\n      - baseUrl: ${upstream.url}\n        apiKey: sk-logfile-test-9876\n`)
    const home = path.join(dir, 'home-cfg')
    const r = await run(['proxy', 'start', '--config', cfg, '--cluster', 'test', '--port', '0', '--home', home])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`qcc-lab: Failed to open the proxy log /proc/forbidden/x.log: its folder /proc/forbidden does not exist. Create the folder, or set logFile in ${cfg} (or --log-file) to a file you can write.\n`)
    expect(await pidFilesIn(home)).toEqual([])
  })
})

describe('qcc-lab proxy start when writing its log fails later (disk full)', () => {
  it('reports it once on stderr and keeps serving', async (ctx) => {
    if (!existsSync('/dev/full')) ctx.skip()
    const home = path.join(dir, 'home-full')
    await mkdir(home, { recursive: true })
    // /dev/full opens fine and fails every write with ENOSPC, as a full disk does.
    const child = spawn(process.execPath, [bin, 'proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', home, '--log-file', '/dev/full'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
    const deadline = Date.now() + 20_000
    while (!/listening on http/.test(stdout) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1]
    expect(base, stdout + stderr).toBeDefined()
    for (let i = 0; i < 3; i++) {
      const res = await request(`${base}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [] }) })
      expect(res.statusCode).toBe(200)
      await res.body.text()
    }
    const stats = await request(`${base}/__qcc__/stats`)
    expect(stats.statusCode).toBe(200)
    await stats.body.text()
    expect(child.exitCode).toBeNull()
    expect(stderr.match(/cannot write the proxy log/g) ?? []).toHaveLength(1)
    expect(stderr).toMatch(/^qcc-lab: warning: cannot write the proxy log \/dev\/full: ENOSPC[^\n]*; log lines are kept in memory only \(\/__qcc__\/logs\)\n$/)
    child.kill('SIGTERM')
    const [code] = await once(child, 'exit')
    expect(code).toBe(0)
    expect(await pidFilesIn(home)).toEqual([])
  })
})
