/**
 * The probe against fake upstreams whose behaviour is known: idle closes at 300 ms, 1 s and 5 s, honest,
 * lying and absent Keep-Alive headers, FIN and RST, a relay that closes on use, one that drops requests
 * ahead of its close, behind the fake upstream's injected RTT (`networkRttMs`, what `qcc-lab bench --rtt`
 * uses). Tolerances follow from the probe's method, never from this machine's speed:
 * - the bound, max(one RTT, 5 %), on the estimate's error;
 * - the probe's own claim: the true timeout lies within estimate ± resolution, and that resolution is
 *   itself within the bound (the narrowing aims for half of it; stalls of this machine are left out or
 *   counted into it).
 */
import { describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { startFakeUpstream, type FaultSpec } from '../../fake-upstreams/index.ts'
import { selfSignedCertificate } from '../../src/shared/self-signed.ts'
import { resolveTarget } from '../../src/field/probe/target.ts'
import { ProbeAbortedError, runProbe, type ProbeOptions } from '../../src/field/probe/run-probe.ts'
import type { ProbeReport } from '../../src/field/probe/report.ts'
import { ProbeConnectError } from '../../src/field/probe/connection.ts'
import { closedPort } from '../helpers/raw-http.ts'

const RTT = 20

/** Waits (bounded) until the upstream has no connection left open: the probe leaked none. */
async function noConnectionsLeft(up: { openConnections(): number }): Promise<number> {
  for (let i = 0; i < 100 && up.openConnections() > 0; i++) await sleep(20)
  return up.openConnections()
}

async function probeFake(faults: FaultSpec[], options: { tls?: boolean; rttMs?: number; probe?: Partial<ProbeOptions> } = {}): Promise<ProbeReport> {
  await using up = await startFakeUpstream({ faults, networkRttMs: options.rttMs ?? RTT, tls: options.tls ? await selfSignedCertificate() : undefined })
  const report = await runProbe({ target: resolveTarget(up.url, { insecure: true }), maxRequests: 20, ...options.probe })
  expect(await noConnectionsLeft(up)).toBe(0)
  return report
}

/** The estimate is within max(RTT, 5 %) of the fake's timeout, within its own resolution, and that resolution is within the bound too. */
function expectFound(report: ProbeReport, kind: 'observed-close' | 'close-on-use', truthMs: number): void {
  const idle = report.idle
  expect(idle.kind).toBe(kind)
  if (idle.kind !== 'observed-close' && idle.kind !== 'close-on-use') return
  const bound = Math.max(RTT, 0.05 * truthMs)
  expect(Math.abs(idle.estimateMs - truthMs)).toBeLessThanOrEqual(bound)
  // (1e-9: the difference of two decimals in floating point, e.g. 1002.1 - 1000 = 2.1000000000000227.)
  expect(Math.abs(idle.estimateMs - truthMs)).toBeLessThanOrEqual(idle.resolutionMs + 1e-9)
  expect(idle.resolutionMs).toBeLessThanOrEqual(bound)
}

/** Force-close costs this many RTTs: the measured cost, rounded to whole RTTs of the injected one. */
const rtts = (costMs: number): number => Math.round(costMs / RTT)

describe('qcc-lab probe against a fake relay with a known idle close', () => {
  it('finds a 300 ms idle close sent as RST behind a lying Keep-Alive header', async () => {
    const r = await probeFake([{ kind: 'idle-close', idleMs: 300, mode: 'rst', keepAliveHeader: 'lying', advertisedMs: 60_000 }])
    expectFound(r, 'observed-close', 300)
    expect(r.closes.kind).toBe('rst')
    expect(r.header).toMatchObject({ verdict: 'lying', direction: 'overstates', header: 'timeout=60' })
    // Safe: below the close by more than one RTT, so no request written at that idle crosses the FIN.
    expect(r.recommendation.idleExpiryMs).not.toBeNull()
    expect(r.recommendation.idleExpiryMs!).toBeLessThan(300 - RTT)
    expect(r.recommendation.defaults.find((d) => d.client === 'undici (defaults)')).toMatchObject({ expiryMs: 58_000, safe: false })
  })

  it('reports a 1 s idle close behind a 20 ms RTT as 1 s ± 20 ms, and force-close as one RTT per request (the issue\'s done-when, HTTP)', async () => {
    const r = await probeFake([{ kind: 'idle-close', idleMs: 1000, mode: 'fin', keepAliveHeader: 'honest' }])
    expectFound(r, 'observed-close', 1000)
    expect(Math.abs((r.idle as { estimateMs: number }).estimateMs - 1000)).toBeLessThanOrEqual(20)
    expect(r.closes.kind).toBe('fin')
    expect(r.header).toMatchObject({ verdict: 'honest', header: 'timeout=1' })
    expect(rtts(r.recommendation.forceClose.costPerRequestMs!)).toBe(1)
    expect(r.recommendation.forceClose.costPerFirstSseEventMs).toBe(r.recommendation.forceClose.costPerRequestMs)
    expect(r.recommendation.forceClose).toMatchObject({ neededUndici: false, neededAiohttp: false })
    expect(r.requestCap).toMatchObject({ kind: 'none', tried: 20 })
    expect(r.recommendation.idleExpiryMs!).toBeLessThan(1000 - RTT)
    expect(r.recommendation.aiohttp.keepaliveTimeoutS).toBe(r.recommendation.idleExpiryMs! / 1000)
  })

  it('reports force-close as two RTTs per request over HTTPS, with TLS full and resumed handshakes (the issue\'s done-when, HTTPS)', async () => {
    const r = await probeFake([{ kind: 'idle-close', idleMs: 1000, mode: 'rst', keepAliveHeader: 'absent' }], { tls: true })
    expectFound(r, 'observed-close', 1000)
    expect(r.target.protocol).toBe('https')
    expect(r.header).toMatchObject({ verdict: 'absent', header: null })
    expect(r.closes.kind).toBe('rst')
    expect(r.timings.tlsFullMs).toBeDefined()
    expect(r.timings.tlsResumption).toBe('resumed')
    expect(rtts(r.recommendation.forceClose.costPerRequestMs!)).toBe(2)
    expect(rtts(r.recommendation.forceClose.aiohttpCostPerRequestMs!)).toBe(2)
    expect(r.recommendation.undici.options).toMatchObject({ allowH2: false })
  })

  it('finds a 5 s idle close without a Keep-Alive header', async () => {
    const r = await probeFake([{ kind: 'idle-close', idleMs: 5000, mode: 'fin', keepAliveHeader: 'absent' }])
    expectFound(r, 'observed-close', 5000)
    expect(r.header.verdict).toBe('absent')
    // undici's 4 s default is below the close, aiohttp's 15 s is not.
    expect(r.recommendation.defaults.map((d) => d.safe)).toEqual([true, false, false])
  }, 60_000)
})

describe('qcc-lab probe against a relay whose close races requests', () => {
  it('finds a relay that never closes idle connections but loses every request after 1 s, by narrowing', async () => {
    const r = await probeFake([
      { kind: 'race-close', afterIdleMs: 1000, mode: 'fin' },
      { kind: 'idle-close', idleMs: 60_000, keepAliveHeader: 'lying', advertisedMs: 60_000 },
    ])
    expectFound(r, 'close-on-use', 1000)
    expect(r.idle.rounds).toBeGreaterThan(1)
    expect(r.race).toMatchObject({ kind: 'close-on-use', verdict: 'close-on-use' })
    expect(r.closes.kind).toBe('fin')
    expect(r.recommendation.idleExpiryMs!).toBeLessThan(1000)
  })

  it('sees requests lost ahead of the idle close, and widens the margin past them', async () => {
    // Requests that arrive at 940 ms idle or later are read and dropped; idle connections close at 1 s.
    const r = await probeFake([
      { kind: 'race-close', afterIdleMs: 940, mode: 'fin' },
      { kind: 'idle-close', idleMs: 1000, mode: 'fin', keepAliveHeader: 'honest' },
    ])
    expectFound(r, 'observed-close', 1000)
    expect(r.race).toMatchObject({ kind: 'observed-close', verdict: 'races' })
    const race = r.race as { furthestLostLeadMs: number }
    expect(race.furthestLostLeadMs).toBeGreaterThan(RTT)
    expect(r.recommendation.margin!.rttMs).toBe(race.furthestLostLeadMs)
    expect(r.recommendation.idleExpiryMs!).toBeLessThan(940)
  })
})

describe('qcc-lab probe keeps its bounds', () => {
  it('stops at once on abort and leaves no connection open', async () => {
    await using up = await startFakeUpstream({ faults: [{ kind: 'idle-close', idleMs: 5000 }], networkRttMs: RTT })
    const ac = new AbortController()
    const run = runProbe({ target: resolveTarget(up.url), signal: ac.signal, onProgress: (p) => { if (p.step === 'idle') ac.abort() } })
    await expect(run).rejects.toBeInstanceOf(ProbeAbortedError)
    expect(await noConnectionsLeft(up)).toBe(0)
  })

  it('reports no idle close up to --max-idle for a relay that keeps connections longer', async () => {
    const r = await probeFake([{ kind: 'idle-close', idleMs: 60_000, keepAliveHeader: 'honest' }], { rttMs: 0, probe: { maxIdleMs: 400 } })
    expect(r.idle).toMatchObject({ kind: 'none-seen' })
    expect((r.idle as { atLeastMs: number }).atLeastMs).toBeGreaterThanOrEqual(400)
    expect(r.header.verdict).toBe('unverified')
    expect(r.notes.join(' ')).toMatch(/raise --max-idle/)
  })

  it('names the relay it could not reach', async () => {
    const port = await closedPort()
    await expect(runProbe({ target: resolveTarget(`http://127.0.0.1:${port}`) })).rejects.toThrow(ProbeConnectError)
    await expect(runProbe({ target: resolveTarget(`http://127.0.0.1:${port}`) })).rejects.toThrow(/ECONNREFUSED/)
  })
})
