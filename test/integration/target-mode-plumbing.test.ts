/**
 * Target mode's plumbing: --strict, config layouts, stopping targets, refusing bad input.
 * Each target is a separate process driven through the CLI as a user's CI drives it. One of four
 * target-mode-*.test.ts files (one until they were split so that they run at once); shared pieces in
 * test/helpers/target-mode.ts.
 */
import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { bin, qccLabCommand, runCli } from '../helpers/cli.ts'
import { alive, bundled, fixtures, profile, stub } from '../helpers/target-mode.ts'

describe('target mode plumbing', () => {
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
