/**
 * `qcc-lab proxy stop|status` and pid files that no longer name this proxy: a pid is only ever
 * signalled once its pid file proves whose it is (Linux start time in clock ticks, and a node process
 * running qcc-lab). A dead or reused pid is reported and its pid file removed, never signalled.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstreams/index.ts'
// A namespace import, so that on code without these helpers only the tests that use them fail.
import * as homeLib from '../../src/cli/home.ts'
import type { PidRecord } from '../../src/cli/home.ts'
import { bin, runCli } from '../helpers/cli.ts'

const hasProc = existsSync('/proc/self/stat')
let dir: string
let upstream: FakeUpstream
let config: string
const children: ChildProcess[] = []

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-proxy-pidfile-'))
  upstream = await startFakeUpstream({ name: 'relay' })
  config = path.join(dir, 'lab.yaml')
  await writeFile(config, `clusters:\n  test:\n    endpoints:\n      - baseUrl: ${upstream.url}\n        apiKey: sk-pidfile-test-9876\n`)
})
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL')
      await once(c, 'exit')
    }
  }
})
afterAll(async () => {
  await upstream.close()
  await rm(dir, { recursive: true, force: true })
})

const run = (args: string[]) => runCli(args, { timeoutMs: 30_000 })

/** A `sleep 30` of our own: the process a reused pid now belongs to. */
async function spawnSleep(): Promise<ChildProcess> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' })
  children.push(child)
  await once(child, 'spawn')
  return child
}

const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null

/** `/proc/<pid>/stat` field 22 (starttime, clock ticks since boot), read here independently of home.ts. */
function procStartTime(pid: number): number | undefined {
  if (!hasProc) return undefined
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
}

function record(pid: number, extra: Partial<PidRecord> = {}): PidRecord {
  return { pid, host: '127.0.0.1', port: 7861, url: 'http://127.0.0.1:7861', start_time: '2020-01-01T00:00:00.000Z', cluster: 'test', config, ...extra }
}

async function writePidFile(home: string, rec: PidRecord): Promise<string> {
  await mkdir(home, { recursive: true })
  const file = path.join(home, `proxy-${rec.port}.pid`)
  await writeFile(file, `${JSON.stringify(rec)}\n`)
  return file
}

/** Resolves once stdout has printed a line matching `ready` (bounded: 20 s). */
async function spawnUntil(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  child.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr!.on('data', (c: Buffer) => { out += c.toString() })
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const m = ready.exec(out)
    if (m) return { child, match: m, output: () => out }
    if (!alive(child)) throw new Error(`exited ${child.exitCode} before ready: ${out}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`not ready within 20 s: ${out}`)
}

describe('qcc-lab proxy stop/status with a pid file that is not this proxy', () => {
  // Three ways a pid file can name an unrelated `sleep 30`: the pid was reused (start time differs),
  // the start time happens to match but the command line is not qcc-lab, or an old file without one.
  const cases: Array<[string, (pid: number) => Partial<PidRecord>]> = [
    ['a reused pid (another start time)', (pid) => ({ proc_starttime: (procStartTime(pid) ?? 1) - 1 })],
    ['a matching start time but not a qcc-lab command line', (pid) => ({ proc_starttime: procStartTime(pid) })],
    ['no start time recorded', () => ({})],
  ]
  for (const [name, extra] of cases) {
    it(`stop never signals ${name}; it reports it and removes the pid file`, async () => {
      const home = path.join(dir, `home-stop-${cases.findIndex((c) => c[0] === name)}`)
      const sleeper = await spawnSleep()
      const file = await writePidFile(home, record(sleeper.pid!, extra(sleeper.pid!)))
      const r = await run(['proxy', 'stop', '--home', home])
      await new Promise((res) => setTimeout(res, 200))
      expect(alive(sleeper), `the sleep was signalled: ${r.stdout}${r.stderr}`).toBe(true)
      expect(existsSync(file)).toBe(false)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain(`port 7861: pid ${sleeper.pid} `)
      expect(r.stdout).toContain(`port 7861: pid ${sleeper.pid} is not this proxy any more (it is now \`sleep 30\`); removed the stale pid file\n`)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    })
  }

  it('status applies the same check: a reused pid is not listed as running, and its pid file goes', async () => {
    const home = path.join(dir, 'home-status')
    const sleeper = await spawnSleep()
    const file = await writePidFile(home, record(sleeper.pid!, { proc_starttime: (procStartTime(sleeper.pid!) ?? 1) - 1 }))
    const r = await run(['proxy', 'status', '--home', home, '--json'])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout)).toEqual({ running: [] })
    expect(r.stderr).toContain(`port 7861: pid ${sleeper.pid} is not this proxy any more (it is now \`sleep 30\`); removed the stale pid file`)
    expect(existsSync(file)).toBe(false)
    expect(alive(sleeper)).toBe(true)
  })

  it('a dead pid is reported as not running and its pid file removed', async () => {
    const home = path.join(dir, 'home-dead')
    const gone = spawn('true', [], { stdio: 'ignore' })
    await once(gone, 'exit')
    const file = await writePidFile(home, record(gone.pid!))
    const r = await run(['proxy', 'stop', '--home', home])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`port 7861: not running (removed a stale pid file for pid ${gone.pid})`)
    expect(existsSync(file)).toBe(false)
  })

  it('the real proxy records its start time, passes the check, and is stopped', async () => {
    const home = path.join(dir, 'home-real')
    const { child, match } = await spawnUntil(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', home], /listening on http:\/\/127\.0\.0\.1:(\d+)/)
    const port = Number(match[1])
    const rec = JSON.parse(readFileSync(path.join(home, `proxy-${port}.pid`), 'utf8')) as PidRecord
    expect(rec.pid).toBe(child.pid)
    if (hasProc) expect(rec.proc_starttime).toBe(procStartTime(child.pid!))
    expect(homeLib.checkPidRecord(rec).status).toBe('ours')
    const status = await run(['proxy', 'status', '--home', home, '--json'])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout).running).toMatchObject([{ pid: child.pid, port }])
    const stop = await run(['proxy', 'stop', '--home', home])
    expect(stop.stdout).toContain(`port ${port}: stopped pid ${child.pid}`)
    expect(stop.code).toBe(0)
    if (alive(child)) await once(child, 'exit')
    expect(child.exitCode).toBe(0)
    expect((await readdir(home)).filter((f) => f.endsWith('.pid'))).toEqual([])
  })

  it('a real qcc-lab proxy whose pid file does not prove it (no or another start time) is not signalled either', async (ctx) => {
    if (!hasProc) ctx.skip()
    const home = path.join(dir, 'home-unproven')
    const { child, match } = await spawnUntil(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', home], /listening on http:\/\/127\.0\.0\.1:(\d+)/)
    const port = Number(match[1])
    const file = path.join(home, `proxy-${port}.pid`)
    const rec = JSON.parse(readFileSync(file, 'utf8')) as PidRecord
    const { proc_starttime: _ticks, ...withoutTicks } = rec
    await writeFile(file, `${JSON.stringify(withoutTicks)}\n`)
    const noTicks = await run(['proxy', 'stop', '--home', home])
    expect(noTicks.stdout).toContain(`port ${port}: pid ${child.pid} cannot be proven to be this proxy: its pid file records no start time (it is \``)
    expect(noTicks.stdout).toContain('; it was not signalled; removed the stale pid file\n')
    await writeFile(file, `${JSON.stringify({ ...rec, proc_starttime: rec.proc_starttime! + 1 })}\n`)
    const otherTicks = await run(['proxy', 'stop', '--home', home])
    expect(otherTicks.stdout).toMatch(new RegExp(`port ${port}: pid ${child.pid} is not this proxy any more \\(it is now \`\\S*node\\S* \\S*qcc-lab\\S* proxy start `))
    await new Promise((res) => setTimeout(res, 200))
    expect(alive(child)).toBe(true)
    expect(existsSync(file)).toBe(false)
  })

  it('without /proc it falls back to the command line from ps', async () => {
    const sleeper = await spawnSleep()
    const noProc = { procRoot: path.join(dir, 'no-proc-here') }
    expect(homeLib.checkPidRecord(record(sleeper.pid!), noProc)).toMatchObject({ status: 'other', command: 'sleep 30' })
    // This vitest worker is a node process, but not one running qcc-lab proxy start.
    expect(homeLib.checkPidRecord(record(process.pid), noProc)).toMatchObject({ status: 'other' })
    const home = path.join(dir, 'home-ps')
    const { child } = await spawnUntil(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', home], /listening on/)
    expect(homeLib.checkPidRecord(record(child.pid!), noProc)).toEqual({ status: 'ours' })
    child.kill('SIGTERM')
    await once(child, 'exit')
    expect(homeLib.checkPidRecord(record(child.pid!), noProc).status).toBe('dead')
  })
})
