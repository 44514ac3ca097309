/** The runner's once-per-process warm-up (src/harness/runner/warm-up.ts): done once, and leaves nothing open. */
import { describe, expect, it } from 'vitest'
import { warmUp } from '../../../src/harness/runner/warm-up.ts'

/** Open TCP servers and sockets of this process. */
const tcp = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap').length

describe('warmUp', () => {
  it('runs once per process, and closes its upstream, proxy and connections before it resolves', async () => {
    const before = tcp()
    const first = warmUp()
    expect(warmUp()).toBe(first)
    await first
    // Sockets the peer closed leave the list when their close completes, a few loop turns later: wait for
    // that (bounded), then count. A server left listening never leaves it.
    for (let i = 0; i < 200 && tcp() > before; i++) await new Promise((r) => setTimeout(r, 10))
    expect(tcp()).toBe(before)
  })
})
