/**
 * `--emit-scenario`: the scenario loads with the scenario loader, `qcc-lab run` replays it, and the
 * probe's recommended settings pass against the replayed relay while the old qcc connector fails; and
 * the replay can fail: an idle expiry past the relay's race window fails the recommended variant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startFakeUpstream } from '../../fake-upstreams/index.ts'
import { loadScenario } from '../../src/harness/scenario/load.ts'
import { parseScenario } from '../../src/harness/scenario/parse.ts'
import { resolveTarget } from '../../src/field/probe/target.ts'
import { runProbe } from '../../src/field/probe/run-probe.ts'
import { emitScenario } from '../../src/field/probe/scenario-emission.ts'
import type { ProbeReport } from '../../src/field/probe/report.ts'
import { runCli, verdicts } from '../helpers/cli.ts'

let dir: string
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-probe-scenario-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

const fixture = async (name: string): Promise<ProbeReport> =>
  JSON.parse(await readFile(new URL(`../fixtures/probe/report-${name}.json`, import.meta.url), 'utf8')) as ProbeReport

describe('a scenario emitted from a probe', () => {
  let file: string
  let report: ProbeReport

  beforeAll(async () => {
    // The relay: idle close at 300 ms behind a lying header, 20 ms RTT.
    await using up = await startFakeUpstream({ faults: [{ kind: 'idle-close', idleMs: 300, mode: 'fin', keepAliveHeader: 'lying', advertisedMs: 60_000 }], networkRttMs: 20 })
    report = await runProbe({ target: resolveTarget(up.url), maxRequests: 10 })
    const emitted = emitScenario(report)
    if (!emitted.ok) throw new Error(emitted.reason)
    file = path.join(dir, 'relay.yaml')
    await writeFile(file, emitted.yaml)
  }, 30_000)

  it('loads with the scenario loader and replays the measured relay', async () => {
    const s = await loadScenario(file)
    expect(s.variants.map((v) => v.name)).toEqual(['contract', 'naive-keepalive', 'force-close', 'recommended'])
    const faults = s.upstreams[0]!.faults as Array<Record<string, unknown>>
    expect(faults[0]).toMatchObject({ kind: 'idle-close', mode: 'fin', keepAliveHeader: 'lying', advertisedMs: 60_000 })
    expect(Math.abs((faults[0]!.idleMs as number) - 300)).toBeLessThanOrEqual(20)
    expect(faults[1]).toMatchObject({ kind: 'race-close' })
    const recommended = s.variants.find((v) => v.name === 'recommended')!
    expect(recommended.connector).toEqual({
      profile: 'tuned-keepalive',
      overrides: { idleTimeoutMs: report.recommendation.idleExpiryMs, maxIdleTimeoutMs: report.recommendation.idleExpiryMs, honourKeepAliveHint: false, retryStaleOnFreshConnection: false },
    })
  })

  it('passes under `qcc-lab run`: the recommended expiry alone is safe, the old connector meets the race', async () => {
    const r = await runCli(['run', file, '--json', '-', '--no-progress'], { timeoutMs: 120_000 })
    expect(r.stderr).not.toMatch(/^lint:/m)
    expect(r.code, r.stderr).toBe(0)
    const v = verdicts(JSON.parse(r.stdout))
    expect(Object.values(v)).toEqual(['pass', 'pass', 'pass', 'pass'])
  }, 120_000)

  it('fails under `qcc-lab run` when the idle expiry is past the relay\'s race window', async () => {
    const broken = (await readFile(file, 'utf8')).replace(/(idleTimeoutMs|maxIdleTimeoutMs): \d+/g, '$1: 60000')
    const brokenFile = path.join(dir, 'too-long.yaml')
    await writeFile(brokenFile, broken)
    const r = await runCli(['run', brokenFile, '-p', 'recommended', '--json', '-', '--no-progress'], { timeoutMs: 120_000 })
    expect(r.code, r.stderr).toBe(1)
    expect(Object.values(verdicts(JSON.parse(r.stdout)))).toEqual(['fail'])
  }, 120_000)
})

describe('scenarios emitted from other relays', () => {
  it('replays a relay that closes on use with race-close at its timeout', async () => {
    const report = await fixture('close-on-use')
    const emitted = emitScenario(report)
    if (!emitted.ok) throw new Error(emitted.reason)
    const s = parseScenario(emitted.yaml, 'close-on-use.yaml', emitted.name)
    const faults = s.upstreams[0]!.faults as Array<Record<string, unknown>>
    expect(faults.map((f) => f.kind)).toEqual(['race-close', 'idle-close'])
    expect(faults[0]).toMatchObject({ afterIdleMs: Math.round((report.idle as { estimateMs: number }).estimateMs), mode: 'rst' })
    expect(faults[1]).toMatchObject({ keepAliveHeader: 'absent' })
    expect(s.workload.gap).toBeGreaterThan(faults[0]!.afterIdleMs as number)
  })

  it('replays a relay that closes right after every answer, with force-close as the only safe setting', async () => {
    const report = await fixture('close-after-response')
    expect(report.recommendation.idleExpiryMs).toBeNull()
    const emitted = emitScenario(report)
    if (!emitted.ok) throw new Error(emitted.reason)
    const s = parseScenario(emitted.yaml, 'close-after-response.yaml', emitted.name)
    expect(s.upstreams[0]!.faults).toEqual([{ kind: 'close-after-response', afterMs: 0, mode: 'fin', advertisedMs: 60_000 }])
    expect(s.variants.map((v) => v.name)).toEqual(['contract', 'naive-keepalive', 'force-close'])
  })

  it('has nothing to replay for a relay that kept every idle connection up to --max-idle', async () => {
    expect(emitScenario(await fixture('none-seen'))).toMatchObject({ ok: false, reason: expect.stringMatching(/no close to replay; raise --max-idle/) })
  })

  it('names the scenario after the relay\'s host and port', async () => {
    const emitted = emitScenario(await fixture('close-on-use'))
    expect(emitted).toMatchObject({ ok: true, name: 'probe-127.0.0.1-9001' })
  })
})
