/** `qcc-lab compare` exit codes on synthetic reports (no timing involved). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const bin = fileURLToPath(new URL('../../bin/qcc-lab.js', import.meta.url))
let dir: string
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-compare-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
  execFile(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
    resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
  })
})

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
    expect(regressed.stdout).toMatch(/http\/json\/c64\/rtt0\/tuned-keepalive\s+rps\s+2050\.00\s+1000\.00\s+-51\.2%\s+-51\.2%\s+8%\s+REGRESSION/)
    const unreadable = await run(['compare', a, bad])
    expect(unreadable.code).toBe(2)
    expect(unreadable.stderr).toMatch(/not a qcc-lab\/bench-report@1 file/)
    expect((await run(['compare', a, b, '--threshold', 'lots'])).code).toBe(2)
  })
})

describe('qcc-lab bench --anchor', () => {
  it('says how to install nginx and exits 2 when nginx is not on PATH', async () => {
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, 'bench', '--quick', '--anchor', 'nginx'], {
        env: { ...process.env, PATH: path.dirname(process.execPath), NO_COLOR: '1' },
      }, (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }))
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/nginx is not on PATH\. Install it \(Debian\/Ubuntu: `apt-get install nginx`\)/)
  })

  it('rejects an unknown anchor', async () => {
    const r = await run(['bench', '--quick', '--anchor', 'haproxy'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--anchor: only "nginx" is supported/)
  })
})
