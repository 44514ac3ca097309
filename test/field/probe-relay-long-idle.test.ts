/**
 * The probe against a fake relay that closes idle connections after 5 s without a Keep-Alive header,
 * and the probe's bounds: an abort, --max-idle, a relay it cannot reach. Tolerances: see
 * test/helpers/probe-fake.ts.
 */
import { describe, expect, it } from 'vitest'
import { startFakeUpstream } from '../../fake-upstreams/index.ts'
import { resolveTarget } from '../../src/field/probe/target.ts'
import { ProbeAbortedError, runProbe } from '../../src/field/probe/run-probe.ts'
import { ProbeConnectError } from '../../src/field/probe/connection.ts'
import { closedPort } from '../helpers/raw-http.ts'
import { expectFound, noConnectionsLeft, probeFake, RTT } from '../helpers/probe-fake.ts'

describe('qcc-lab probe against a fake relay with a long idle close', () => {
  it('finds a 5 s idle close without a Keep-Alive header', async () => {
    const r = await probeFake([{ kind: 'idle-close', idleMs: 5000, mode: 'fin', keepAliveHeader: 'absent' }])
    expectFound(r, 'observed-close', 5000)
    expect(r.header.verdict).toBe('absent')
    // undici's 4 s default is below the close, aiohttp's 15 s is not.
    expect(r.recommendation.defaults.map((d) => d.safe)).toEqual([true, false, false])
  }, 60_000)
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
