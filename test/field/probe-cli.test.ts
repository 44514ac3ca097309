/**
 * `qcc-lab probe` as a user runs it: a real process (bin/qcc-lab.js), its exit code, stdout and stderr,
 * against a fake relay in this process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstreams/index.ts'
import { loadScenario } from '../../src/harness/scenario/load.ts'
import { probeProgressPrinter } from '../../src/cli/commands/probe.ts'
import { closedPort } from '../helpers/raw-http.ts'

const cli = fileURLToPath(new URL('../../bin/qcc-lab.js', import.meta.url))
let dir: string
let relay: FakeUpstream

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-probe-cli-'))
  relay = await startFakeUpstream({ faults: [{ kind: 'idle-close', idleMs: 300, mode: 'rst', keepAliveHeader: 'absent' }], networkRttMs: 5 })
})
afterAll(async () => {
  await relay.close()
  await rm(dir, { recursive: true, force: true })
})

function probe(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'probe', ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
    })
  })
}

describe('qcc-lab probe (CLI)', () => {
  it('explains itself in --help', async () => {
    const r = await probe(['--help'])
    expect(r.code).toBe(0)
    for (const text of ['<base-url>', '--max-idle', '--key-env', '--emit-scenario', '--allow-completion', 'qcc-lab/probe-report@1', 'FIN vs RST', 'Ctrl-C']) expect(r.stdout).toContain(text)
    for (const line of r.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
  })

  it('prints the report, writes --json with its schema tag and a scenario the loader takes', async () => {
    const scenario = path.join(dir, 'relay.yaml')
    const r = await probe([relay.url, '--json', '-', '--emit-scenario', scenario, '--max-requests', '5'])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as { schema: string; idle: { kind: string; estimateMs: number }; environment: { node: string } }
    expect(report.schema).toBe('qcc-lab/probe-report@1')
    expect(report.idle.kind).toBe('observed-close')
    expect(report.environment.node).toBe(process.versions.node)
    // The human report moves to stderr when the JSON takes stdout; progress lines come first, piped.
    expect(r.stderr).toMatch(/^ {2}probe: timing 5 new connections$/m)
    expect(r.stderr).toContain(`qcc-lab probe ${relay.url}`)
    expect(r.stderr).toMatch(/Recommendation\n/)
    expect(r.stderr).toContain(`wrote ${scenario}`)
    expect((await loadScenario(scenario)).upstreams[0]!.faults[0]).toMatchObject({ kind: 'idle-close', mode: 'rst', keepAliveHeader: 'absent' })
  })

  it('sends the free count-tokens call with the key from the environment, and never shows the key', async () => {
    const r = await probe([relay.url, '--request', 'count-tokens', '--key-env', 'QCC_LAB_PROBE_KEY', '--json', '-', '--max-idle', '1', '--max-requests', '0'], { QCC_LAB_PROBE_KEY: 'sk-ant-secret-7788' })
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as { target: { request: string; keyEnv: string }; timings: { status: number } }
    expect(report.target).toMatchObject({ request: 'POST /v1/messages/count_tokens (free token count, with the key)', keyEnv: 'QCC_LAB_PROBE_KEY' })
    expect(report.timings.status).toBe(200)
    expect(`${r.stdout}${r.stderr}`).not.toContain('secret-7788')
  })

  it('refuses bad input with exit 2 and a message that says how to fix it', async () => {
    const port = await closedPort()
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [[relay.url, '--max-idle', '0'], /--max-idle takes seconds from 0.05 to 3600/],
      [[relay.url, '--connections', '2'], /--connections takes a whole number from 4 to 64/],
      [[relay.url, '--request', 'paid'], /Allowed choices are get, count-tokens, completion/],
      [[relay.url, '--key-env', 'QCC_LAB_PROBE_UNSET_KEY'], /--key-env QCC_LAB_PROBE_UNSET_KEY: the environment variable is not set or empty; export it first/],
      [[relay.url, '--key-env', 'sk-ant-not-a-name'], /expected the name of an environment variable/],
      [[relay.url, '--request', 'completion', '--key-env', 'K'], /--allow-completion to confirm/, { K: 'sk-test' }],
      [['ftp://relay.example.com'], /only http:\/\/ and https:\/\/ base URLs/],
      [[`http://127.0.0.1:${port}`], /Failed to connect to http:\/\/127\.0\.0\.1:\d+: nothing listens there \(ECONNREFUSED\)/],
      [[relay.url, '--json', dir], /--json .*: is a folder/],
    ]
    for (const [args, message, env] of cases) {
      const r = await probe(args, env)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toMatch(message)
      expect(r.stderr, args.join(' ')).not.toMatch(/^\s+at /m)
    }
    // Nine processes one after another: a guard against a hang, sized for a busy machine (30 s ran out at 8 files at once).
  }, 60_000)

  it('stops on Ctrl-C with exit 130 and leaves no connection open at the relay', async () => {
    await using slow = await startFakeUpstream({ faults: [{ kind: 'idle-close', idleMs: 30_000 }] })
    const child = spawn(process.execPath, [cli, 'probe', slow.url, '--no-progress'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    // Interrupted while the idle connections are open.
    for (let i = 0; i < 200 && slow.openConnections() < 10; i++) await sleep(25)
    expect(slow.openConnections()).toBeGreaterThanOrEqual(10)
    child.kill('SIGINT')
    const [code] = await once(child, 'exit') as [number | null]
    expect(code).toBe(130)
    expect(stderr).toContain('probe interrupted')
    for (let i = 0; i < 100 && slow.openConnections() > 0; i++) await sleep(20)
    expect(slow.openConnections()).toBe(0)
  })
})

describe('probe progress', () => {
  const capture = (isTTY: boolean) => {
    let out = ''
    let tick: () => void = () => undefined
    let t = 0
    const printer = probeProgressPrinter({ isTTY, write: (s: string) => { out += s }, columns: 100 }, { now: () => t, every: (fn) => { tick = fn; return () => undefined } })
    return { printer, out: () => out, advance: (ms: number) => { t += ms; tick() } }
  }

  it('prints a line per step when piped, and one every few seconds while it waits', () => {
    const columns = process.env.COLUMNS
    delete process.env.COLUMNS
    const c = capture(false)
    if (columns !== undefined) process.env.COLUMNS = columns
    c.printer.onProgress({ step: 'timings', message: 'timing 5 new connections', done: 0, total: 5 })
    c.printer.onProgress({ step: 'timings', message: 'timing new connections', done: 3, total: 5 })
    c.printer.onProgress({ step: 'idle', message: 'idle timeout, round 1: 16 connections idle 25 ms–120 s', waitMs: 120_050 })
    c.printer.onProgress({ step: 'cap', message: 'requests on one connection', done: 10, total: 100 })
    c.advance(5_000)
    expect(c.out()).toBe([
      '  probe: timing 5 new connections',
      // Piped, lines fit 80 columns (COLUMNS unset), wrapped with a hanging indent.
      '  probe: idle timeout, round 1: 16 connections idle 25 ms–120 s · waits up to',
      '    121 s',
      '  … idle timeout, round 1: 16 connections idle 25 ms–120 s · waits up to 121 s ·',
      '    request cap 10/100 · 5 s in this step, 5 s in all',
      '',
    ].join('\n'))
  })

  it('redraws one live line on a terminal and clears it at the end', () => {
    const c = capture(true)
    c.printer.onProgress({ step: 'idle', message: 'idle timeout, round 1', waitMs: 1_000 })
    c.printer.onProgress({ step: 'idle', message: 'connections resolved', done: 4, total: 16 })
    c.advance(2_000)
    c.printer.stop()
    expect(c.out().split('\r\u001b[2K').filter(Boolean)).toEqual([
      '  idle timeout, round 1 · 0 s in this step, 0 s in all',
      '  idle timeout, round 1 (4/16) · 0 s in this step, 0 s in all',
      '  idle timeout, round 1 (4/16) · 2 s in this step, 2 s in all',
    ])
  })
})
