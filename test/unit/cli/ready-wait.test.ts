/**
 * `proxy start --detach`'s ready wait on a virtual clock: which deadline it kept (--ready-ms, not a
 * default) without measuring wall time. test/cli/proxy-detach.test.ts runs the real thing and reads the
 * message, which names the `readyMs` this returns.
 */
import { describe, expect, it } from 'vitest'
import { waitUntilReady } from '../../../src/cli/ready-wait.ts'
import type { Clock } from '../../../src/shared/clock.ts'

/** Starts at 0; `sleep(ms)` moves it on by exactly `ms` (after a real turn of the event loop). */
function virtualClock(): Clock & { t: number } {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => { await new Promise((r) => setImmediate(r)); clock.t += ms },
  }
  return clock
}

describe('waitUntilReady', () => {
  it('gives up at readyMs, not before and not at some default, when the child never answers', async () => {
    const clock = virtualClock()
    const looks: number[] = []
    const outcome = await waitUntilReady(1_500, {
      find: () => ({ url: 'http://127.0.0.1:1' }),
      exited: () => false,
      answers: async (_rec, timeoutMs) => { looks.push(clock.t); expect(timeoutMs).toBeLessThanOrEqual(1_000); return false },
    }, clock)
    expect(outcome).toEqual({ kind: 'timeout', readyMs: 1_500 })
    expect(clock.t).toBe(1_500)
    // One look every 50 ms of the virtual clock, from 0 up to the last instant before the deadline.
    expect(looks[0]).toBe(0)
    expect(looks.at(-1)).toBe(1_450)
    expect(looks).toHaveLength(30)
  })

  it('is ready at the first look that answers, and waits for the record first', async () => {
    const clock = virtualClock()
    const record = { url: 'http://127.0.0.1:2' }
    const outcome = await waitUntilReady(15_000, {
      find: () => (clock.t >= 200 ? record : undefined),
      exited: () => false,
      answers: async () => clock.t >= 400,
    }, clock)
    expect(outcome).toEqual({ kind: 'ready', record })
    expect(clock.t).toBe(400)
  })

  it('ends at once when the child exits, ready or not', async () => {
    const clock = virtualClock()
    let asked = 0
    const outcome = await waitUntilReady(15_000, {
      find: () => ({ url: 'http://127.0.0.1:3' }),
      exited: () => clock.t >= 100,
      answers: async () => { asked++; return false },
    }, clock)
    expect(outcome).toEqual({ kind: 'exited' })
    expect(clock.t).toBe(100)
    expect(asked).toBe(2)
  })
})
