/**
 * `qcc-lab doctor --log` on the two real qcc logs (test/fixtures/doctor/): each names its own failure,
 * with the evidence line, the scenario that replays it and the fix, and not the other file's failure.
 */
import { describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { listBundledScenarios } from '../../src/harness/scenario/load.ts'
import { aiohttpLog, all0Log, reportOf, runDoctor } from './doctor-cli.ts'

const shared = fileURLToPath(new URL('../../../shared/fixtures/qcc-logs/', import.meta.url))

describe('the fixtures', () => {
  it.skipIf(!existsSync(shared))('are byte-for-byte the shared real logs', () => {
    for (const f of [aiohttpLog, all0Log]) {
      const name = f.split('/').pop()!
      expect(readFileSync(f).equals(readFileSync(`${shared}${name}`)), name).toBe(true)
    }
  })
})

describe('doctor --log on qcc 6f7b3a5 (aiohttp keep-alive, a relay closing after each answer)', () => {
  it('names the stale connection: 2 × "Can not write request body", 1 × "Server disconnected", first at line 1976; exit 1', async () => {
    const run = await runDoctor(['--log', aiohttpLog, '--json'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(1)
    const r = reportOf(run)
    expect(r.schema).toBe('qcc-lab/doctor-report@1')
    expect(r.verdict).toBe('failing')
    const failures = r.findings.filter((f) => f.severity === 'failure').map((f) => f.id)
    expect(failures).toEqual(['stale-connection'])
    const stale = r.findings.find((f) => f.id === 'stale-connection')!
    expect(stale.count).toBe(3)
    expect(r.log!.summary.stale.byVariant).toEqual({ 'cannot-write-body': 2, 'server-disconnected': 1 })
    expect(stale.first?.line).toBe(1976)
    expect(stale.replay[0]).toBe('qcc-lab run closing-transport')
    expect(stale.replay).toContain('qcc-lab run stale-keepalive')
    expect(stale.fix[0]).toContain('qcc-lab probe http://127.0.0.1:19503')
    // The failure queue took the endpoint for it; the client still got 200 × 200 (qcc's retry).
    expect(r.log!.summary.queue.reasons).toEqual({ 'stale connection': 1 })
    expect(r.log!.summary.clientAnswers).toEqual({ total: 200, byStatus: { 200: 200 } })
    expect(r.log!.summary.noEndpoint.tally).toBeNull()
  })

  it('says so in text: the finding, the quoted line, the replay command and the timeline', async () => {
    const run = await runDoctor(['--log', aiohttpLog])
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/^FAILING · 1 finding means the failure is happening/m)
    expect(run.stdout).toMatch(/✗ stale-connection — /)
    expect(run.stdout).toContain('line 1976 (2026-12-01 08:52:14,947): fastcc.proxy.server - ERROR - [req-110] 请求失败: [Errno None] Can not write request body for http://127.0.0.1:19503/v1/messages')
    expect(run.stdout).toContain('$ qcc-lab run closing-transport')
    expect(run.stdout).toMatch(/Timeline \(1 s buckets/)
    expect(run.stdout).not.toMatch(/\u001b\[/)
  })
})

describe('doctor --log on qcc 7ee81e9 (v0.6.1, both endpoints briefly 503)', () => {
  it('names All 0 endpoints: 19 requests, both endpoints in the failure queue just before; exit 1', async () => {
    const run = await runDoctor(['--log', all0Log, '--json'])
    expect(run.code).toBe(1)
    const r = reportOf(run)
    expect(r.findings.filter((f) => f.severity === 'failure').map((f) => f.id)).toEqual(['no-endpoint'])
    const f = r.findings.find((x) => x.id === 'no-endpoint')!
    expect(f.count).toBe(19)
    expect(f.first?.line).toBe(120)
    expect(f.evidence.join('\n')).toContain('总 2 个 endpoint, 健康 0 个, 降级 0 个, 失败队列 2 个 — every endpoint was in the failure queue')
    expect(f.replay[0]).toBe('qcc-lab run overloaded-529 -p qcc-0.6.1')
    expect(f.fix.join(' ')).toMatch(/Queue only on a refused key \(401\/403\)/)
    expect(r.log!.summary.queue.queuedAtEnd).toEqual(['aed3470c', '62298bdc'])
    expect(r.log!.summary.clientAnswers.byStatus).toEqual({ 502: 19, 503: 1 })
    expect(r.findings.map((x) => x.id)).not.toContain('stale-connection')
  })
})

describe('doctor --log input forms', () => {
  it('reads a gzip-compressed log and a log on stdin the same as the plain file', async () => {
    const plain = reportOf(await runDoctor(['--log', all0Log, '--json']))
    const gz = await runDoctor(['--log', '-', '--json'], { input: gzipSync(readFileSync(all0Log)) })
    expect(gz.code).toBe(1)
    const r = reportOf(gz)
    expect(r.findings).toEqual(plain.findings)
    expect(r.log).toMatchObject({ file: '-', gzip: true })
  })

  it('cuts a line longer than 64 KiB instead of holding it, and reads on', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'qcc-lab-doctor-long-'))
    try {
      const file = path.join(dir, 'long.log')
      writeFileSync(file, Buffer.concat([Buffer.from(`2026-12-01 08:52:26,850 - fastcc.cli - DEBUG - ${'x'.repeat(3 * 1024 * 1024)}\n`), readFileSync(all0Log)]))
      const run = await runDoctor(['--log', file, '--json'])
      expect(run.code).toBe(1)
      const r = reportOf(run)
      expect(r.log).toMatchObject({ truncatedLines: 1 })
      expect(r.log!.summary.lines).toBe(363)
      expect(r.findings.find((f) => f.id === 'no-endpoint')).toMatchObject({ count: 19, first: { line: 121 } })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('names only bundled scenarios in its replay commands', async () => {
    const bundled = new Set(await listBundledScenarios())
    for (const file of [aiohttpLog, all0Log]) {
      const r = reportOf(await runDoctor(['--log', file, '--json']))
      for (const cmd of r.findings.flatMap((f) => f.replay)) {
        const name = /^qcc-lab run ([\w-]+)/.exec(cmd)?.[1]
        expect(name && bundled.has(name), cmd).toBe(true)
      }
    }
  })
})
