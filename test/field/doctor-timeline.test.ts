/** The timeline: a bucket size picked from the log's span, exact counts in bounded memory. */
import { describe, expect, it } from 'vitest'
import { TimelineCounter } from '../../src/field/doctor/timeline.ts'

const t0 = Date.UTC(2026, 11, 1, 8, 52, 12, 37)
const S = 1_000
const H = 3_600_000

describe('TimelineCounter', () => {
  it('uses 1 s buckets for a burst of a few seconds', () => {
    const t = new TimelineCounter()
    t.add(t0, 'requests')
    t.add(t0 + 2.5 * S, 'stale')
    const r = t.result()
    expect(r.bucketMs).toBe(S)
    expect(r.buckets.map((b) => b.start)).toEqual(['2026-12-01 08:52:12', '2026-12-01 08:52:14'])
  })

  it('picks the smallest size that fits the span in 24 rows: 1 h for a day, 6 h for two days', () => {
    const day = new TimelineCounter()
    day.add(t0, 'requests')
    day.add(t0 + 23 * H, 'requests')
    expect(day.result().bucketMs).toBe(H)
    const two = new TimelineCounter()
    two.add(t0, 'requests')
    two.add(t0 + 47 * H, 'requests')
    expect(two.result().bucketMs).toBe(6 * H)
  })

  it('coarsens when too many buckets exist, keeping every count', () => {
    const t = new TimelineCounter(8)
    for (let i = 0; i < 1_000; i++) t.add(t0 + i * 997, i % 2 === 0 ? 'requests' : 'stale')
    const r = t.result(1_000)
    expect(r.buckets.length).toBeLessThanOrEqual(9)
    expect(r.buckets.reduce((a, b) => a + b.counts.requests, 0)).toBe(500)
    expect(r.buckets.reduce((a, b) => a + b.counts.stale, 0)).toBe(500)
  })
})
