/** The CLI as a user runs it: a real process, its exit code, its stdout and stderr. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { raceCloseScenario } from '../helpers/race-scenario.ts'

const bin = fileURLToPath(new URL('../../bin/qcc-lab.js', import.meta.url))
let dir: string

beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-cli-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
    })
  })
}

/**
 * A quick scenario: race-close on every reused connection, 6 back-to-back requests. With naive keep-alive
 * every second request fails (reused → dropped; the next one opens a new connection), so 3 of 6.
 */
const quick = (expectNaive: string): string => raceCloseScenario('quick CLI scenario', [
  { name: 'naive', connector: 'naive-keepalive', expect: [expectNaive] },
  { name: 'tuned', connector: 'tuned-keepalive', expect: ['failures.total == 0'] },
])

async function scenarioFile(name: string, text: string): Promise<string> {
  const file = path.join(dir, name)
  await writeFile(file, text)
  return file
}

describe('qcc-lab run', () => {
  it('exits 0 when every expectation held, and writes the JSON report', async () => {
    const file = await scenarioFile('pass.yaml', quick('attempts.staleSocket >= 1'))
    const json = path.join(dir, 'report.json')
    const r = await run(['run', file, '--json', json])
    expect(r.stderr).not.toMatch(/internal error/)
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^PASS pass/m)
    expect(r.stdout).not.toMatch(/\u001b\[/) // NO_COLOR
    const report = JSON.parse(await readFile(json, 'utf8'))
    expect(report).toMatchObject({ schema: 'qcc-lab/run-report@3', verdict: 'pass', environment: { undici: expect.stringMatching(/^8\./) } })
    const naive = report.scenarios[0].variants.find((v: { name: string }) => v.name === 'naive')
    expect(naive).toMatchObject({ requests: 6, attempts: { staleSocket: 3 }, failures: { 'http-502': 3 }, causes: { 'stale-socket': 3 }, contract: false })
    expect(naive.expectations[0]).toEqual({ name: 'attempts.staleSocket >= 1', check: 'attempts.staleSocket >= 1', status: 'pass', pass: true, expected: '>= 1', actual: 3 })
  })

  it('exits 1 when an expectation failed, and says which', async () => {
    const file = await scenarioFile('fail.yaml', quick('failures.total == 0'))
    const r = await run(['run', file])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^FAIL fail/m)
    expect(r.stdout).toMatch(/✗ failures\.total == 0 \(expected == 0, got 3\)/)
    // Wrapped to 80 columns (the width of a pipe): the words may be split across lines.
    expect(r.stdout).toMatch(/naive-r0-1\s+failed\s+\(http-502\)\s+—\s+the\s+client\s+got\s+HTTP\s+502\s+"\{\\"error\\":\\"All\s+1\s+endpoints\s+failed\\"\}":\s+attempt\s+1\s+→\s+relay\s+\(\w+\):\s+stale-socket\s+on\s+a\s+reused\s+connection/)
  })

  it('runs one variant with --profile and prints JSON to stdout with --json -', async () => {
    const file = await scenarioFile('one.yaml', quick('attempts.staleSocket >= 1'))
    const r = await run(['run', file, '--profile', 'tuned', '--json', '-'])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report.scenarios[0].variants.map((v: { name: string }) => v.name)).toEqual(['tuned'])
  })

  it('exits 2 on a malformed scenario, naming file and field, with no stack trace', async () => {
    const file = await scenarioFile('bad.yaml', quick('x').replace('requests: 6', 'requests: -6'))
    const r = await run(['run', file])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(new RegExp(`qcc-lab: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: workload.requests: expected a positive number`))
    expect(r.stderr).not.toMatch(/^\s+at /m)
  })

  it('exits 2 on an unknown scenario, an unknown variant and a bad option value', async () => {
    const unknown = await run(['run', 'no-such-scenario'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/Failed to find scenario "no-such-scenario".*Bundled: .*stale-keepalive/)
    const variant = await run(['run', 'stale-keepalive', '--profile', 'warp-speed'])
    expect(variant.code).toBe(2)
    expect(variant.stderr).toMatch(/Failed to select variant "warp-speed".*naive-keepalive/)
    const repeat = await run(['run', 'stale-keepalive', '--repeat', 'lots'])
    expect(repeat.code).toBe(2)
    expect(repeat.stderr).toMatch(/--repeat takes a whole number from 1 to 1000; got "lots"/)
  })

  it('reports stability with --repeat', async () => {
    const file = await scenarioFile('repeat.yaml', quick('attempts.staleSocket >= 1'))
    const r = await run(['run', file, '--repeat', '3', '--json', '-'])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report.scenarios).toHaveLength(3)
    expect(report.stability).toEqual([
      { scenario: 'repeat', variant: 'naive', runs: 3, verdicts: ['pass'], expectations: [{ name: 'attempts.staleSocket >= 1', held: 3 }], failureCounts: [3], staleSocketCounts: [3] },
      { scenario: 'repeat', variant: 'tuned', runs: 3, verdicts: ['pass'], expectations: [{ name: 'failures.total == 0', held: 3 }], failureCounts: [0], staleSocketCounts: [3] },
    ])
    expect(r.stderr).toMatch(/Stability over 3 runs/)
  })
})

describe('qcc-lab help, list and version', () => {
  it('explains run in --help, exits 0', async () => {
    const r = await run(['run', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/--repeat <n>/)
    expect(r.stdout).toMatch(/Examples:/)
  })

  it('lists scenarios, faults and profiles as JSON', async () => {
    const r = await run(['list', '--json'])
    expect(r.code).toBe(0)
    const data = JSON.parse(r.stdout)
    expect(data.schema).toBe('qcc-lab/list@1')
    expect(data.scenarios.map((s: { name: string }) => s.name)).toContain('stale-keepalive')
    expect(data.faults.map((f: { kind: string }) => f.kind)).toEqual(['idle-close', 'race-close', 'error-response', 'reset-mid-stream', 'delay-response', 'close-after-response'])
    expect(data.connectorProfiles.map((p: { name: string }) => p.name)).toEqual(['force-close', 'naive-keepalive', 'tuned-keepalive'])
  })

  it('exits 2 on an unknown command', async () => {
    expect((await run(['fly'])).code).toBe(2)
  })
})

describe('report outputs and pipes', () => {
  it('checks every output path before the run: a missing folder is exit 2 and nothing is written', async () => {
    const file = await scenarioFile('out.yaml', quick('attempts.staleSocket >= 1'))
    const json = path.join(dir, 'ok.json')
    const r = await run(['run', file, '--json', json, '--junit', path.join(dir, 'no-such-folder', 'junit.xml')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--junit .*no-such-folder\/junit\.xml: the folder .*no-such-folder does not exist; create it first \(mkdir -p /)
    expect(r.stderr).not.toMatch(/internal error|^\s+at /m)
    expect(r.stdout).not.toMatch(/PASS|FAIL/)
    await expect(readFile(json, 'utf8')).rejects.toThrow(/ENOENT/)
  })

  it('writes any one report to stdout with -, and refuses two there', async () => {
    const file = await scenarioFile('dash.yaml', quick('attempts.staleSocket >= 1'))
    const junit = await run(['run', file, '--junit', '-'])
    expect(junit.code).toBe(0)
    expect(junit.stdout).toMatch(/^<\?xml version="1\.0"/)
    expect(junit.stderr).toMatch(/^PASS dash/m)
    const two = await run(['run', file, '--json', '-', '--markdown', '-'])
    expect(two.code).toBe(2)
    expect(two.stderr).toMatch(/--json and --markdown both write to stdout \(-\)/)
  })

  it('ends quietly when the reader of its output goes away (qcc-lab … | head)', async () => {
    const { spawn } = await import('node:child_process')
    for (const args of [['list'], ['help', 'run'], ['explain', 'stale-keepalive']]) {
      const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
      // Like `| head` that already exited: the reading end is closed before qcc-lab writes, so its
      // first write meets EPIPE, every time.
      child.stdout.destroy()
      const [code] = await once(child, 'exit')
      expect(stderr, args.join(' ')).not.toMatch(/EPIPE|^\s+at /m)
      expect(code, args.join(' ')).toBe(0)
    }
  })
})
