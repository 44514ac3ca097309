/**
 * `qcc-lab run --jobs`: variants run at once print and report exactly what a run one after another
 * does, in the same order even when a later variant finishes first; target mode runs one target at a
 * time unless --jobs says otherwise; Ctrl-C still stops every target.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { bin, qccLabCommand, runCli } from '../helpers/cli.ts'
import { raceCloseScenario } from '../helpers/race-scenario.ts'

let dir: string
const file = (name: string): string => path.join(dir, `${name}.yaml`)

/** A relay that closes every reused connection as a request arrives: each variant's counts differ. */
const race = raceCloseScenario('three connectors against a relay that closes every reused connection as a request arrives', [
  { name: 'naive', connector: 'naive-keepalive', expect: ['attempts.staleSocket == 3', 'failures.total == 3'] },
  { name: 'tuned', connector: 'tuned-keepalive', expect: ['attempts.retried == 3', 'failures.total == 0'] },
  { name: 'force-close', connector: 'force-close', expect: ['upstream.connections == requests'] },
])

/**
 * The first variant is slow on purpose: its client waits out the relay's 2 s silence, while the second
 * one's gives up after 100 ms.
 */
const order = `
description: a slow variant first, a fast one second
upstreams:
  - name: relay
    faults:
      - { kind: delay-response, delayMs: 2000 }
workload:
  requests: 1
variants:
  - name: slow
    expect: ["failures.total == 0"]
  - name: fast
    workload: { requestTimeoutMs: 100 }
    expect: ["failures.total == 1"]
`

const quick = `
description: one request, nothing wrong
upstreams:
  - name: relay
workload:
  requests: 1
variants:
  - name: only
    expect: ["failures.total == 0"]
`

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-run-jobs-'))
  await writeFile(file('race'), race)
  await writeFile(file('order'), order)
  await writeFile(file('quick'), quick)
})
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

/** A report's structure (keys in order, array lengths, value types), without the values. */
function shape(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(shape)
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, shape(v)]))
  return typeof x
}

interface Report {
  scenarios: Array<{ name: string; repeat: number; verdict: string; variants: Array<Record<string, unknown> & { name: string; expectations: Array<{ name: string; status: string; actual?: unknown }> }> }>
  stability: unknown
  verdict: string
}

/** Every verdict and count, per scenario, repeat and variant, in the report's order. */
function counts(r: Report) {
  return r.scenarios.map((s) => ({
    scenario: s.name, repeat: s.repeat, verdict: s.verdict,
    variants: s.variants.map((v) => ({
      name: v.name, verdict: v.verdict, requests: v.requests, ok: v.ok, delivered: v.delivered, failures: v.failures, causes: v.causes,
      attempts: v.attempts, upstream: v.upstream, upstreams: v.upstreams, expectations: v.expectations.map((e) => [e.name, e.status, e.actual]),
    })),
  }))
}

describe('qcc-lab run --jobs', () => {
  it('writes the same JSON report, in the same order, as one variant after another', async () => {
    const args = ['run', file('race'), file('order'), file('quick'), '--repeat', '2', '--json', '-', '--no-progress']
    const one = await runCli([...args, '--jobs', '1'], { timeoutMs: 120_000 })
    const many = await runCli([...args, '--jobs', '8'], { timeoutMs: 120_000 })
    expect(one.code, one.stderr).toBe(0)
    expect(many.code, many.stderr).toBe(0)
    const a = JSON.parse(one.stdout) as Report
    const b = JSON.parse(many.stdout) as Report
    expect(b.scenarios.map((s) => `${s.repeat}:${s.name}`)).toEqual(['0:race', '0:order', '0:quick', '1:race', '1:order', '1:quick'])
    expect(counts(b)).toEqual(counts(a))
    expect(b.stability).toEqual(a.stability)
    expect(shape(b)).toEqual(shape(a))
    // The human output (on stderr with --json -) says the same, minus timings.
    const untimed = (t: string): string => t.replace(/\d+(\.\d+)? (ms|s)\b/g, 'T').replace(/(p50|p99) [\d.]+/g, '$1 T').replace(/ +[\d.]+ +[\d.]+$/gm, '')
    expect(untimed(many.stderr)).toEqual(untimed(one.stderr))
  }, 240_000)

  it('prints results in scenario and variant order when a later variant finishes first', async () => {
    const r = await runCli(['run', file('order'), file('quick'), '--jobs', '3', '--json', path.join(dir, 'order.json')], { timeoutMs: 60_000, env: { COLUMNS: '' } })
    expect(r.code, r.stderr).toBe(0)
    // The slow variant really finished last (piped progress says when each one ended)...
    const ended = [...r.stderr.matchAll(/^ {2}ran (\S+ › \S+) in/gm)].map((m) => m[1])
    expect(ended.at(-1)).toBe('order › slow')
    expect(ended).toHaveLength(3)
    // ...and still comes first: its scenario's block first, its row first.
    const blocks = [...r.stdout.matchAll(/^(PASS|FAIL) (\S+) /gm)].map((m) => m[2])
    expect(blocks).toEqual(['order', 'quick', '2']) // the last: the run's summary
    const rows = [...r.stdout.matchAll(/^✓ {2}(\S+) /gm)].map((m) => m[1])
    expect(rows.slice(0, 3)).toEqual(['slow', 'fast', 'only'])
    const report = JSON.parse(readFileSync(path.join(dir, 'order.json'), 'utf8')) as Report
    expect(report.scenarios.map((s) => [s.name, s.variants.map((v) => v.name)])).toEqual([['order', ['slow', 'fast']], ['quick', ['only']]])
  }, 60_000)

  it('says --jobs in its help, and refuses a count below 1', async () => {
    const help = await runCli(['run', '--help'])
    expect(help.stdout).toMatch(/-j, --jobs <n>\s+how many variants run at once \(default \d+;/)
    const zero = await runCli(['run', file('quick'), '--jobs', '0'])
    expect(zero.code).toBe(2)
    expect(zero.stderr).toMatch(/--jobs takes a whole number from 1 to 64; got "0"/)
  })
})

describe('qcc-lab run --jobs in target mode', () => {
  const never = '"false" {port}'
  it('runs one target at a time unless --jobs is given', async () => {
    const plain = await runCli(['run', file('quick'), '--target-cmd', never, '--no-progress'])
    expect(plain.stdout).toMatch(/^Target mode: /)
    expect(plain.stdout).not.toMatch(/at once/)
    const two = await runCli(['run', file('quick'), '--target-cmd', never, '--no-progress', '--jobs', '2'])
    expect(two.stdout).toMatch(/· 2 targets at once \(--jobs\)/)
  })

  it('stops every target still running when interrupted (Ctrl-C), with two at once', async () => {
    const marker = `qcc-lab-jobs-interrupted-${process.pid}`
    // qcc-lab's 30 s recovery keeps rate-limit-429's contract running long enough to interrupt it; given twice, two targets run at once.
    const command = `${qccLabCommand} proxy start --config {config} --cluster {cluster} --port {port} --home {home} --constants {profile} --log-file {home}/${marker}.log`
    const child = spawn(process.execPath, [bin, 'run', 'rate-limit-429', 'rate-limit-429', '--jobs', '2', '--no-progress', '--target-profile', 'qcc-lab', '--target-cmd', command], { stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } })
    const exited = once(child, 'exit')
    const homes = (): Set<string> => new Set(alive(marker).filter((p) => p.pid !== child.pid).map((p) => p.home))
    const deadline = Date.now() + 30_000
    while (homes().size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(homes().size).toBe(2)
    // Give the targets a moment to be listening: qcc-lab is then inside its run, its handler installed.
    await new Promise((r) => setTimeout(r, 1_000))
    child.kill('SIGINT')
    const [code] = await exited
    expect(code).toBe(130)
    expect(alive(marker).filter((p) => p.pid !== child.pid)).toEqual([])
  }, 60_000)
})

/** Processes whose command line contains `marker` (Linux /proc), other than this one, with the target home they name. */
function alive(marker: string): Array<{ pid: number; home: string }> {
  const out: Array<{ pid: number; home: string }> = []
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue
    try {
      // The shell that runs the command quotes the home; the proxy it starts does not.
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/['"]/g, '')
      const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0]
      const home = new RegExp(`([^\\s\\0]*)/${marker}\\.log`).exec(cmd)?.[1]
      if (home !== undefined && state !== 'Z') out.push({ pid: Number(pid), home })
    } catch { /* gone */ }
  }
  return out
}
