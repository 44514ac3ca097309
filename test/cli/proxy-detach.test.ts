/**
 * `qcc-lab proxy start --detach` reports "started" only once the background proxy is ready: its pid file
 * is written AND its port answers `GET /__qcc__/stats` with 200. A child that died, or never answered
 * within the bounded wait, is an exit 2 with the child's own output, and no child is left running.
 *
 * The child is made to fail after it wrote its pid file by a preload (`NODE_OPTIONS=--import`) that
 * wraps `fs.writeFileSync` and `fs.renameSync`: the failure the old code could not see, whatever else is fixed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstreams/index.ts'
import { runCli } from '../helpers/cli.ts'

let dir: string
let upstream: FakeUpstream
let config: string
/** Pids the tests saw (from pid files or messages), killed after each test if still there. */
const seen = new Set<number>()

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-proxy-detach-'))
  upstream = await startFakeUpstream({ name: 'relay' })
  config = path.join(dir, 'lab.yaml')
  await writeFile(config, `clusters:\n  test:\n    endpoints:\n      - baseUrl: ${upstream.url}\n        apiKey: sk-detach-test-9876\n`)
  // After the proxy writes its pid file: block 500 ms (alive, pid file there, not answering), then exit 3
  // (died); or stop itself with SIGSTOP (never answers).
  for (const [name, action] of [['die', "process.stderr.write('injected: the proxy dies right after writing its pid file\\n'); const until = Date.now() + 500; while (Date.now() < until); process.exit(3)"], ['hang', "process.stderr.write('injected: the proxy hangs right after writing its pid file\\n'); process.kill(process.pid, 'SIGSTOP')"]]) {
    await writeFile(path.join(dir, `${name}.mjs`), [
      "import fs from 'node:fs'",
      "import { syncBuiltinESMExports } from 'node:module'",
      // The pid file is written in place, or written aside and renamed into place: wrap both.
      'const after = (target) => { if (/proxy-\\d+\\.pid$/.test(String(target))) { ' + action + ' } }',
      'const { writeFileSync, renameSync } = fs',
      'fs.writeFileSync = function (file, ...rest) { const r = writeFileSync.call(this, file, ...rest); after(file); return r }',
      'fs.renameSync = function (from, to) { const r = renameSync.call(this, from, to); after(to); return r }',
      'syncBuiltinESMExports()',
      '',
    ].join('\n'))
  }
})
afterEach(() => {
  for (const pid of seen) {
    try {
      // Only a process whose command line names this test's temp folder is one of ours.
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL')
    } catch { /* gone, as it should be */ }
  }
  seen.clear()
})
afterAll(async () => {
  await upstream.close()
  await rm(dir, { recursive: true, force: true })
})

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { timeoutMs: 40_000, env })

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function pidFilesIn(home: string): Promise<Array<{ file: string; pid: number }>> {
  const files = (await readdir(home).catch(() => [] as string[])).filter((f) => f.endsWith('.pid'))
  return files.map((f) => ({ file: f, pid: (JSON.parse(readFileSync(path.join(home, f), 'utf8')) as { pid: number }).pid }))
}

const preload = (name: string): Record<string, string> => ({ NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(path.join(dir, `${name}.mjs`)).href}`.trim() })

describe('qcc-lab proxy start --detach', () => {
  it('exits 2 with the child\'s own error when it dies after writing its pid file, and leaves no pid file', async () => {
    const home = path.join(dir, 'home-die')
    const r = await run(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', home, '--detach'], preload('die'))
    for (const { pid } of await pidFilesIn(home)) seen.add(pid)
    const pid = /pid (\d+)/.exec(r.stdout + r.stderr)
    if (pid) seen.add(Number(pid[1]))
    expect(r.stdout, r.stdout).not.toContain('started in the background')
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^qcc-lab: Failed to start the proxy in the background: pid \d+ exited with code 3 before it answered GET \/__qcc__\/stats/)
    expect(r.stderr).toContain('injected: the proxy dies right after writing its pid file')
    expect(await pidFilesIn(home)).toEqual([])
    for (const p of seen) expect(isAlive(p)).toBe(false)
  })

  it('exits 2 and stops the child when it never answers within --ready-ms', async () => {
    const home = path.join(dir, 'home-hang')
    const r = await run(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', home, '--detach', '--ready-ms', '1500'], preload('hang'))
    for (const { pid } of await pidFilesIn(home)) seen.add(pid)
    const pid = /pid (\d+)/.exec(r.stdout + r.stderr)
    if (pid) seen.add(Number(pid[1]))
    expect(r.stdout).not.toContain('started in the background')
    expect(r.code).toBe(2)
    // "within 1.5 s" is the readyMs the wait returned, the value its deadline was computed from (the
    // default would say 15 s); that the wait keeps it is test/unit/cli/ready-wait.test.ts, on a virtual
    // clock. How long the run took is not asserted: the test's timeout only guards against a hang.
    expect(r.stderr).toMatch(/^qcc-lab: Failed to start the proxy in the background: pid \d+ did not answer GET \/__qcc__\/stats within 1\.5 s; stopped it/)
    expect(r.stderr).toContain('injected: the proxy hangs right after writing its pid file')
    expect(pid).not.toBeNull()
    expect(isAlive(Number(pid![1]))).toBe(false)
    expect(await pidFilesIn(home)).toEqual([])
  })

  it('still reports a healthy child as started, once it answers', async () => {
    const home = path.join(dir, 'home-ok')
    const r = await run(['proxy', 'start', '--config', config, '--cluster', 'test', '--port', '0', '--home', home, '--detach'])
    for (const { pid } of await pidFilesIn(home)) seen.add(pid)
    expect(r.code, r.stderr).toBe(0)
    const m = /started in the background: pid (\d+), (http:\/\/127\.0\.0\.1:\d+)/.exec(r.stdout)
    expect(m, r.stdout).not.toBeNull()
    const res = await fetch(`${m![2]}/__qcc__/stats`)
    expect(res.status).toBe(200)
    await res.body?.cancel()
    const stop = await run(['proxy', 'stop', '--home', home])
    expect(stop.stdout).toContain(`stopped pid ${m![1]}`)
    expect(await pidFilesIn(home)).toEqual([])
  })
})
