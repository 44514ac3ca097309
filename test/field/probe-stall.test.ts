/**
 * The stall monitor sees this machine's own stalls: a blocked event loop makes the heartbeat due during
 * the block fire late by about the block's length. The block here is made on purpose (a busy loop), so
 * the heartbeat cannot fire inside it whatever the machine's speed.
 */
import { describe, expect, it } from 'vitest'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { HEARTBEAT_MS, startStallMonitor } from '../../src/field/probe/stall-monitor.ts'

const block = (ms: number): number => {
  const end = performance.now() + ms
  while (performance.now() < end) { /* the stall */ }
  return performance.now()
}

describe('the stall monitor', () => {
  it('says an event handled right after a 40 ms stall may be off by about that much', async () => {
    const monitor = startStallMonitor()
    try {
      await sleep(3 * HEARTBEAT_MS)
      const before = performance.now()
      const after = block(40)
      // The heartbeat due during the block fires when it ends, late by at least 40 - one period.
      await sleep(2 * HEARTBEAT_MS)
      expect(monitor.uncertaintyAt(after)).toBeGreaterThanOrEqual(40 - HEARTBEAT_MS)
      expect(before).toBeLessThan(after)
    } finally {
      monitor.stop()
    }
  })

  it('blames a stall only on events handled within a heartbeat of its end', async () => {
    // A clock that moves one heartbeat per reading, and 40 ms more at the reading we choose.
    let t = 0
    let jump = 0
    let stallEnd: number | undefined
    const monitor = startStallMonitor({
      now: () => {
        t += HEARTBEAT_MS + jump
        if (jump !== 0) stallEnd = t
        jump = 0
        return t
      },
    })
    try {
      await sleep(4 * HEARTBEAT_MS)
      jump = 40
      while (stallEnd === undefined) await sleep(HEARTBEAT_MS)
      expect(monitor.uncertaintyAt(stallEnd)).toBe(40)
      expect(monitor.uncertaintyAt(stallEnd - HEARTBEAT_MS)).toBe(40)
      expect(monitor.uncertaintyAt(stallEnd - 2 * HEARTBEAT_MS - 1)).toBe(0)
      expect(monitor.uncertaintyAt(stallEnd + 2 * HEARTBEAT_MS)).toBe(0)
    } finally {
      monitor.stop()
    }
  })
})
