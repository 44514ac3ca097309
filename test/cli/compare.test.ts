/**
 * `qcc-lab compare` and `bench`'s CLI plumbing on synthetic reports (no timing involved, no real bench). The
 * command lines run in this process (runCliInProcess: the CLI's own runCommand, output captured as a pipe
 * sees it; each a few ms instead of a Node start of ~0.25 CPU-s); one of each kind also runs in a real child
 * and must answer exactly alike, and the EPIPE case is a real child.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { bin, childAndInProcess, runCliInProcess as run } from '../helpers/cli.ts'
import { benchMatrix, fullMatrix, quickMatrix } from '../unit/bench/report-fixture.ts'

let dir: string
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-compare-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

/** Writes a report into the test folder and returns its path. */
async function reportFile(name: string, data: unknown): Promise<string> {
  const file = path.join(dir, name)
  await writeFile(file, JSON.stringify(data))
  return file
}

function report(tunedRps: number): object {
  const result = (target: string, rps: number) => ({
    id: `http/json/c64/rtt0/${target}`, target, protocol: 'http', payload: 'json', concurrency: 64, rttMs: 0,
    rounds: [],
    median: { requests: rps, rps, p50: 20, p90: 40, p99: 80, ttfbP50: 20, errors: 0, connectionsPerRequest: 0, handshakesPerRequest: 0, clientCpuCores: 0.3 },
    spread: { rps: 0.08, p50: 0.05, p90: 0.1, p99: 0.3, ttfbP50: 0.05 },
  })
  return {
    schema: 'qcc-lab/bench-report@1', createdAt: '2026-11-26T00:00:00Z', mode: 'quick', settings: { rounds: 3, roundMs: 500, warmupMs: 1000 },
    environment: { node: '24', undici: '8', cpuModel: 'x', cores: 2, platform: 'linux-x64', gitCommit: null },
    results: [result('direct', 3000), result('tuned-keepalive', tunedRps)], ratios: [],
  }
}

describe('qcc-lab compare', () => {
  it('exits 0 for the same figures, 1 when tuned-keepalive lost half its throughput, 2 on a file that is not a report', async () => {
    const a = path.join(dir, 'a.json')
    const b = path.join(dir, 'b.json')
    const half = path.join(dir, 'half.json')
    const bad = path.join(dir, 'bad.json')
    await writeFile(a, JSON.stringify(report(2000)))
    await writeFile(b, JSON.stringify(report(2050)))
    await writeFile(half, JSON.stringify(report(1000)))
    await writeFile(bad, '{"schema":"qcc-lab/run-report@1"}')
    expect((await run(['compare', a, b])).code).toBe(0)
    const regressed = await run(['compare', b, half])
    expect(regressed.code).toBe(1)
    expect(regressed.stdout).toMatch(/http\/json\/c64\/rtt0\/tuned-keepalive\s+rps\s+2050\.00\s+1000\.00\s+-51\.2%\s+-51\.2% vs direct\s+8%\s+REGRESSION/)
    const unreadable = await run(['compare', a, bad])
    expect(unreadable.code).toBe(2)
    expect(unreadable.stderr).toMatch(/not a qcc-lab\/bench-report@1 file/)
    expect((await run(['compare', a, b, '--threshold', 'lots'])).code).toBe(2)
  })

  it('answers in a real child exactly as in this process: a regression, a pass, an unreadable report, a bad flag', async () => {
    const a = await reportFile('child-a.json', report(2000))
    const half = await reportFile('child-half.json', report(1000))
    const bad = path.join(dir, 'child-bad.json')
    await writeFile(bad, '{"schema":"qcc-lab/run-report@1"}')
    const lines = [['compare', a, half], ['compare', a, a, '--json', '-'], ['compare', a, bad], ['compare', a, a, '--threshold', 'lots']]
    const { children, inProcess } = await childAndInProcess(lines)
    expect(children.map((c) => c.code)).toEqual([1, 0, 2, 2])
    expect(inProcess).toEqual(children)
  })
})

describe('qcc-lab compare: reports of different configurations', () => {
  it('refuses a --quick report against a full one (exit 2), saying what differs and how to proceed', async () => {
    const quick = await reportFile('quick.json', benchMatrix(quickMatrix))
    const full = await reportFile('full.json', benchMatrix(fullMatrix))
    const r = await run(['compare', quick, full])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    const lines = r.stderr.trim().split('\n')
    expect(lines[0]).toBe(`qcc-lab: Failed to compare: ${quick} and ${full} measured different configurations: 0 only in ${quick}, 80 only in ${full}, 16 in both.`)
    expect(lines).toContain(`  mode: quick in ${quick}, full in ${full}`)
    expect(lines).toContain(`  rtt ms (--rtt): 0 in ${quick}, 0,20 in ${full}`)
    expect(lines).toContain(`  concurrency (--concurrency): 64 in ${quick}, 1,8,64 in ${full}`)
    expect(lines.at(-1)).toMatch(/or pass --intersection to compare only the 16 configuration\(s\) both have\.$/)
    expect(r.stderr).not.toMatch(/internal error|^\s+at /m)
  })

  it('with --intersection compares the 16 both have and says 80 were left out, on the terminal and in the JSON', async () => {
    const quick = await reportFile('quick.json', benchMatrix(quickMatrix))
    const full = await reportFile('full.json', benchMatrix(fullMatrix))
    const table = await run(['compare', quick, full, '--intersection'])
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/^--intersection: compared the 16 configuration\(s\) both reports have; left out 80 \(0 only in base, 80 only in head\)\.$/m)
    const json = await run(['compare', quick, full, '--intersection', '--json', '-'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ schema: 'qcc-lab/compare-report@1', compared: 16, leftOut: 80, intersection: true })
  })

  it('compares reports of the same configurations as before, --intersection or not', async () => {
    const a = await reportFile('full-a.json', benchMatrix(fullMatrix))
    const b = await reportFile('full-b.json', benchMatrix(fullMatrix))
    const plain = await run(['compare', a, b])
    expect(plain.code).toBe(0)
    expect(plain.stdout).toMatch(/^Compared 96 configurations;/m)
    expect(plain.stdout).not.toMatch(/left out|intersection/)
    expect((await run(['compare', a, b, '--intersection'])).stdout).toBe(plain.stdout.replace(/^/, '--intersection: compared the 96 configuration(s) both reports have; left out 0 (0 only in base, 0 only in head).\n'))
  })
})

describe('qcc-lab compare: files that are not bench reports', () => {
  it('refuses a run report given as a bench report (exit 2), naming the file and what it is', async () => {
    const a = await reportFile('base.json', report(2000))
    const runReport = await reportFile('run-report.json', { schema: 'qcc-lab/run-report@3', scenarios: [] })
    const r = await run(['compare', a, runReport])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`qcc-lab: ${runReport}: schema: "qcc-lab/run-report@3" is a run report (what \`qcc-lab run --json\` writes), not a qcc-lab/bench-report@1 file. Give a report written by \`qcc-lab bench --json <file>\`.\n`)
  })

  it('refuses its own output given back to it', async () => {
    const a = await reportFile('base.json', report(2000))
    const b = await reportFile('head.json', report(2050))
    const comparison = path.join(dir, 'comparison.json')
    expect((await run(['compare', a, b, '--json', comparison])).code).toBe(0)
    const r = await run(['compare', comparison, b])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/comparison\.json: schema: "qcc-lab\/compare-report@1" is a comparison \(what `qcc-lab compare --json` writes\)/)
  })
})

describe('qcc-lab compare --json', () => {
  it('writes a tagged comparison, changes in percent, to stdout with - or a bare --json, the table to stderr', async () => {
    const b = await reportFile('head.json', report(2050))
    const half = await reportFile('half.json', report(1000))
    for (const args of [['--json', '-'], ['--json']]) {
      const r = await run(['compare', b, half, ...args])
      expect(r.code, args.join(' ')).toBe(1)
      const json = JSON.parse(r.stdout) as { schema: string; thresholdPct: number; changes: Array<Record<string, unknown>> }
      expect(json.schema).toBe('qcc-lab/compare-report@1')
      expect(json.thresholdPct).toBe(10)
      expect(json.changes.find((x) => x.id === 'http/json/c64/rtt0/tuned-keepalive' && x.figure === 'rps')).toMatchObject({ changePct: -51.219512, changeVsDirectPct: -51.219512, noisePct: 8, regression: true })
      expect(json.changes.every((x) => !('change' in x) && !('noise' in x))).toBe(true)
      expect(r.stderr).toMatch(/tuned-keepalive\s+rps\s+2050\.00\s+1000\.00\s+-51\.2%\s+-51\.2% vs direct\s+8%\s+REGRESSION/)
    }
  })

  it('writes a file atomically, the table staying on stdout', async () => {
    const a = await reportFile('base.json', report(2000))
    const b = await reportFile('head.json', report(2050))
    const sub = path.join(dir, 'out')
    await mkdir(sub)
    const out = path.join(sub, 'comparison.json')
    const r = await run(['compare', a, b, '--json', out])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^No regression beyond the thresholds and the noise\.$/m)
    expect(JSON.parse(await readFile(out, 'utf8'))).toMatchObject({ schema: 'qcc-lab/compare-report@1', regressions: 0 })
    expect(await readdir(sub)).toEqual(['comparison.json'])
  })

  it('refuses an output in a missing folder, or over one of the reports, before comparing (exit 2)', async () => {
    const a = await reportFile('base.json', report(2000))
    const b = await reportFile('head.json', report(2050))
    const missing = await run(['compare', a, b, '--json', path.join(dir, 'no-such-folder', 'c.json')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/^qcc-lab: --json .*no-such-folder\/c\.json: the folder .*no-such-folder does not exist; create it first \(mkdir -p /)
    expect(missing.stdout).toBe('')
    const before = await readFile(b, 'utf8')
    const over = await run(['compare', a, '--json', b, b])
    expect(over.code).toBe(2)
    expect(over.stderr).toMatch(/--json .*head\.json: is one of the reports being compared; give the comparison its own file, or - for stdout\./)
    expect(await readFile(b, 'utf8')).toBe(before)
  })

  it('ends quietly when the reader of its output goes away (compare --json | head -c 10)', async () => {
    const a = await reportFile('base.json', report(2000))
    const b = await reportFile('head.json', report(2050))
    const child = spawn(process.execPath, [bin, 'compare', a, b, '--json', '-'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    // Like `| head -c 10` that already exited: the first write meets EPIPE, every time.
    child.stdout.destroy()
    const [code] = await once(child, 'exit')
    expect(stderr).not.toMatch(/EPIPE|^\s+at /m)
    expect(code).toBe(0)
  })
})

describe('qcc-lab compare --help', () => {
  it('describes the exit codes and --intersection', async () => {
    const r = await run(['compare', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/--intersection\s+when the reports hold different configurations/)
    expect(r.stdout).toMatch(/--json \[file\]/)
    expect(r.stdout).toMatch(/^ {2}2 {2}a file is unreadable or not a bench report .*\n.*different configurations.*\n.*--intersection/m)
  })
})

describe('qcc-lab bench outputs', () => {
  // Refused before any measuring: a real bench takes ~50 s, so a 20 s limit fails a check that came after it.
  const early = { timeoutMs: 20_000 }

  it('refuses a --json or --markdown path in a missing folder at once (exit 2), not after the run', async () => {
    for (const flag of ['--json', '--markdown']) {
      const r = await run(['bench', '--quick', '--no-progress', flag, path.join(dir, 'no-such-folder', 'bench.out')], early)
      expect(r.code, flag).toBe(2)
      expect(r.stderr, flag).toMatch(new RegExp(`^qcc-lab: ${flag} .*no-such-folder/bench\\.out: the folder .*no-such-folder does not exist; create it first`))
      expect(r.stdout, flag).toBe('')
    }
  })

  it('refuses --json and --markdown both on stdout (-)', async () => {
    const r = await run(['bench', '--quick', '--no-progress', '--json', '-', '--markdown', '-'], early)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--json and --markdown both write to stdout \(-\); give one of them a file\./)
  })
})

describe('qcc-lab bench --anchor', () => {
  it('says how to install nginx and exits 2 when nginx is not on PATH', async () => {
    const r = await run(['bench', '--quick', '--anchor', 'nginx'], { env: { PATH: path.dirname(process.execPath) } })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/nginx is not on PATH\. Install it \(Debian\/Ubuntu: `apt-get install nginx`\)/)
  })

  it('rejects an unknown anchor', async () => {
    const r = await run(['bench', '--quick', '--anchor', 'haproxy'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--anchor takes nginx, node-floor or both \(comma-separated\); got "haproxy"/)
  })
})
