/**
 * Target mode judged by its reference targets, each a separate process driven through the CLI as a
 * user's CI drives it: the bundled proxy passes every contract; the bundled proxy replaying a historical
 * qcc bug fails exactly the contracts that bug breaks; a stub that answers without forwarding fails them
 * all. Timelines follow test/fixtures/targets/fast-lab.yaml, which the bundled proxy is also started with.
 */
import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { listBundledScenarios } from '../../src/harness/scenario/load.ts'
import { bin, qccLabCommand, runCli, verdicts } from '../helpers/cli.ts'

const fixtures = fileURLToPath(new URL('../fixtures/targets/', import.meta.url))
const profile = path.join(fixtures, 'fast-lab.yaml')
const bundled = (extra = ''): string =>
  `${qccLabCommand} proxy start --config {config} --cluster {cluster} --port {port} --home {home} --constants {profile}${extra}`
const stub = (extra = ''): string => `"${process.execPath}" "${path.join(fixtures, 'stub-200.mjs')}" {port}${extra}`
const lying = (mode: string): string => `"${process.execPath}" "${path.join(fixtures, 'lying-relay.mjs')}" {config} {cluster} {port} ${mode}`

async function runAll(target: string, extra: string[] = []) {
  const r = await runCli(['run', '--all', '--no-progress', '--target-profile', profile, '--target-cmd', target, '--json', '-', ...extra])
  if (r.code === 2) throw new Error(`qcc-lab exited 2:\n${r.stderr}`)
  return { code: r.code, report: JSON.parse(r.stdout), stderr: r.stderr }
}

const failing = (report: Parameters<typeof verdicts>[0]): string[] =>
  Object.entries(verdicts(report)).filter(([, v]) => v === 'fail').map(([k]) => k.split('/')[0]!).sort()

describe('target mode against reference targets', () => {
  it('runs a contract of every bundled scenario against `qcc-lab proxy start`, and every one passes', async () => {
    const { code, report } = await runAll(bundled())
    expect(code).toBe(0)
    const names = await listBundledScenarios()
    expect(report.scenarios.map((s: { name: string }) => s.name)).toEqual(names)
    for (const s of report.scenarios) {
      expect(s.variants.length, s.name).toBeGreaterThanOrEqual(1)
      for (const v of s.variants) {
        expect(v, `${s.name}/${v.name}`).toMatchObject({ contract: true, mode: 'target', verdict: 'pass', connector: 'n/a' })
        // The target's own constants drove the timeline, not the scenario's bundled settings.
        expect(v.constants).toMatchObject({ recoverMs: 300, verifierIntervalMs: 500, headersTimeoutMs: 300 })
        // Attempt events are the bundled proxy's: n/a here, never a 0 that passes.
        for (const e of v.expectations.filter((x: { check: string }) => /^attempts\./.test(x.check))) expect(e.status).toBe('n/a')
      }
    }
    expect(report.verification.ran).toBe(names.length)
    expect(report.verification.total).toBe(report.verification.ran + report.verification.bundledOnly)
  }, 240_000)

  it.each([
    ['lb-healthy-only', 'qcc', ['all-endpoints-failed', 'breaker-recovery', 'flapping-endpoint', 'midstream-reset', 'overloaded-529', 'rate-limit-429']],
    ['buffered-streaming', 'qcc', ['midstream-reset', 'slow-stream']],
    ['qcc-0.6.1', 'qcc', ['all-endpoints-failed', 'flapping-endpoint', 'midstream-reset', 'overloaded-529', 'slow-stream']],
    // The cluster is the default profile: qcc's silent fallback to it (ignoring the failure queue) hides
    // the outages that end in "All 0 endpoints failed" with the layout qcc add leaves.
    ['qcc-0.6.1', 'cluster-default', ['midstream-reset', 'slow-stream']],
  ])('fails exactly the contracts that --compat %s breaks (config layout %s)', async (compat, layout, broken) => {
    const { code, report } = await runAll(bundled(` --compat ${compat}`), ['--config-layout', layout])
    expect(code).toBe(1)
    expect(failing(report)).toEqual(broken)
    for (const s of report.scenarios.filter((x: { verdict: string }) => x.verdict === 'fail')) {
      for (const k of s.keptHomes) rmSync(k.home, { recursive: true, force: true })
    }
  }, 240_000)

  it('fails every contract of a stub that answers 200 without forwarding, and keeps its home to look at', async () => {
    const { code, report } = await runAll(stub())
    expect(code).toBe(1)
    const names = await listBundledScenarios()
    expect(failing(report)).toEqual(names)
    for (const s of report.scenarios) {
      for (const v of s.variants) {
        const traffic = v.expectations.find((e: { name: string }) => e.name === 'traffic reached the upstreams')
        expect(traffic, `${s.name}/${v.name}`).toMatchObject({ status: 'fail', actual: 0, implicit: true })
      }
      // The home of each failed variant is kept: the cache.json it was given and its own log.
      expect(s.keptHomes.length, s.name).toBe(s.variants.length)
      for (const k of s.keptHomes) {
        expect(existsSync(path.join(k.home, 'cache.json'))).toBe(true)
        expect(existsSync(path.join(k.home, '.fastcc', 'cache.json'))).toBe(true)
        expect(existsSync(path.join(k.home, 'target.log'))).toBe(true)
        rmSync(k.home, { recursive: true, force: true })
      }
    }
  }, 240_000)
})

describe('relays that forward and still lie', () => {
  it.each([
    ['canned', 'drops the upstream\'s answer and replies with a message of its own'],
    ['double', 'sends every request upstream twice'],
    ['empty', 'replies 200 with an empty body'],
  ])('fails every contract of a relay that %s (%s)', async (mode) => {
    const { code, report } = await runAll(lying(mode))
    expect(code).toBe(1)
    expect(failing(report)).toEqual(await listBundledScenarios())
    for (const s of report.scenarios) for (const k of s.keptHomes) rmSync(k.home, { recursive: true, force: true })
  }, 240_000)
})

describe('target mode plumbing', () => {
  it('gives the same verdicts 5 runs out of 5 (--repeat 5)', async () => {
    const r = await runCli(['run', 'stale-keepalive', 'breaker-recovery', 'midstream-reset', 'failure-queue-isolation', '--repeat', '5', '--no-progress',
      '--target-profile', profile, '--target-cmd', bundled(), '--json', '-'])
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report.stability).toHaveLength(4)
    for (const s of report.stability) expect(s, `${s.scenario}/${s.variant}`).toMatchObject({ runs: 5, verdicts: ['pass'] })
  }, 240_000)

  it('fails the run with --strict when a variant is bundled-only, and says so', async () => {
    const plain = await runCli(['run', 'overloaded-529', '--no-progress', '--target-profile', profile, '--target-cmd', bundled()])
    expect(plain.code).toBe(0)
    expect(plain.stdout).toMatch(/^PASS 1 scenario run\(s\), verified 1\/2 against the target · 1 bundled-only/m)
    const strict = await runCli(['run', 'overloaded-529', '--strict', '--no-progress', '--target-profile', profile, '--target-cmd', bundled()])
    expect(strict.code).toBe(1)
    expect(strict.stdout).toMatch(/^FAIL 1 scenario run\(s\), verified 1\/2 against the target · 1 bundled-only\s+\(--strict: fails the run\)/m)
  }, 120_000)

  it.each(['qcc', 'null-default', 'cluster-default'])('hands the target a cache.json in the %s layout, which the bundled proxy reads', async (layout) => {
    const r = await runCli(['run', 'failure-queue-isolation', '--no-progress', '--config-layout', layout, '--target-profile', profile, '--target-cmd', bundled(), '--json', '-'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).target).toMatchObject({ layout })
  }, 120_000)

  it('leaves no process behind when a target ignores SIGTERM: its process group is SIGKILLed', async () => {
    const marker = `qcc-lab-ignores-sigterm-${process.pid}`
    const r = await runCli(['run', 'overloaded-529', '--no-progress', '--target-stop-ms', '300', '--target-profile', profile,
      '--target-cmd', `${stub(' --ignore-sigterm')} ${marker}`, '--json', '-'])
    expect(r.code).toBe(1)
    expect(alive(marker)).toEqual([])
    for (const s of JSON.parse(r.stdout).scenarios) for (const k of s.keptHomes ?? []) rmSync(k.home, { recursive: true, force: true })
  }, 60_000)

  it('refuses a misspelt placeholder, a quoted one, and target-mode flags without a target', async () => {
    const typo = await runCli(['run', 'overloaded-529', '--target-cmd', `${qccLabCommand} proxy start --config {conifg} --cluster {cluster} --port {port}`])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toMatch(/unknown placeholder \{conifg\}; did you mean \{config\}\?/)
    const quoted = await runCli(['run', 'overloaded-529', '--target-cmd', `${qccLabCommand} proxy start --config "{home}/cache.json" --cluster {cluster} --port {port}`])
    expect(quoted.code).toBe(2)
    expect(quoted.stderr).toMatch(/\{home\} is inside quotes/)
    const noTarget = await runCli(['run', 'overloaded-529', '--target-profile', 'qcc-lab'])
    expect(noTarget.code).toBe(2)
    expect(noTarget.stderr).toMatch(/--target-profile applies to target mode only/)
  })

  it('fails only the variant whose target did not start, keeps its output, and runs the rest', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'qcc-lab-flaky-'))
    try {
      // Starts the proxy the first time, exits 4 the second time.
      const flaky = path.join(dir, 'flaky.sh')
      writeFileSync(flaky, `#!/bin/sh\nif [ -e "${dir}/started" ]; then echo "second start refused"; exit 4; fi\ntouch "${dir}/started"\nexec "$@"\n`, { mode: 0o755 })
      const scenario = path.join(dir, 'two.yaml')
      writeFileSync(scenario, 'description: two contracts\nupstreams: [{ name: relay }]\nworkload: { requests: 2 }\nvariants:\n  - { name: one, expect: [failures.total == 0] }\n  - { name: two, expect: [failures.total == 0] }\n')
      const r = await runCli(['run', scenario, '--no-progress', '--target-profile', profile, '--target-cmd', `sh "${flaky}" ${bundled()}`, '--json', '-'])
      expect(r.code).toBe(1)
      const [s] = JSON.parse(r.stdout).scenarios
      expect(s.variants.map((v: { name: string; verdict: string }) => [v.name, v.verdict])).toEqual([['one', 'pass'], ['two', 'fail']])
      expect(s.variants[1].expectations).toEqual([expect.objectContaining({ name: 'the target started', status: 'fail', reason: expect.stringMatching(/it exited with code 4/) })])
      expect(s.variants[1].target).toMatchObject({ ended: 'did-not-start', logTail: expect.stringMatching(/second start refused/) })
      expect(s.keptHomes).toHaveLength(1)
      expect(readFileSync(path.join(s.keptHomes[0].home, 'target.log'), 'utf8')).toMatch(/second start refused/)
      rmSync(s.keptHomes[0].home, { recursive: true, force: true })
      expect(r.stderr).not.toMatch(/internal error/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('stops the target\'s whole process group when qcc-lab itself is interrupted (Ctrl-C)', async () => {
    const marker = `qcc-lab-interrupted-${process.pid}`
    // The qcc-lab profile's 30 s recovery keeps breaker-recovery running long enough to interrupt it.
    const child = spawn(process.execPath, [bin, 'run', 'breaker-recovery', '--no-progress', '--target-profile', 'qcc-lab', '--target-cmd', `${bundled()} --log-file {home}/${marker}.log`], { stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } })
    const exited = once(child, 'exit')
    // The target's processes (its command line names the marker too), not qcc-lab itself.
    const targets = (): number[] => alive(marker).filter((pid) => pid !== child.pid)
    const deadline = Date.now() + 20_000
    while (targets().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(targets().length).toBeGreaterThanOrEqual(1)
    // Give the target a moment to be listening: qcc-lab is then inside its run, its handler installed.
    await new Promise((r) => setTimeout(r, 1_000))
    child.kill('SIGINT')
    const [code] = await exited
    expect(code).toBe(130)
    expect(targets()).toEqual([])
  }, 60_000)

  it('refuses an unknown target profile and a bad profile file, naming the field', async () => {
    const unknown = await runCli(['run', 'overloaded-529', '--target-profile', 'qcc-9', '--target-cmd', bundled()])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/--target-profile qcc-9: no such file and no built-in profile by that name; built in: qcc, qcc-lab/)
    const bad = await runCli(['run', 'overloaded-529', '--target-profile', path.join(fixtures, 'stub-200.mjs'), '--target-cmd', bundled()])
    expect(bad.code).toBe(2)
    expect(bad.stderr).not.toMatch(/^\s+at /m)
  })
})

/** Processes whose command line contains `marker` (Linux /proc), other than this one. */
function alive(marker: string): number[] {
  const out: number[] = []
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0]
      if (cmd.includes(marker) && state !== 'Z') out.push(Number(pid))
    } catch { /* gone */ }
  }
  return out
}
