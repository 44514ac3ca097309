/**
 * The probe against fake relays whose close races requests: one that never closes idle connections but
 * loses every request after 1 s, one that drops requests ahead of its 1 s idle close. Tolerances: see
 * test/helpers/probe-fake.ts.
 */
import { describe, expect, it } from 'vitest'
import { expectFound, probeFake, RTT } from '../helpers/probe-fake.ts'

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
