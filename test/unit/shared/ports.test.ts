/** portForChild's slices: processes side by side pick {port}s from disjoint parts of the range below the ephemeral one. */
import { describe, expect, it } from 'vitest'
import net from 'node:net'
import { once } from 'node:events'
import { childPortRange, portForChild, portSlice } from '../../../src/shared/ports.ts'

describe('portSlice', () => {
  it('gives neighbouring pids disjoint slices of the range, 64 of them, that together cover it', () => {
    const slices = Array.from({ length: 64 }, (_, pid) => portSlice(pid + 1000, 10_000, 32_767))
    for (const s of slices) expect(s.to - s.from + 1).toBe(355)
    const sorted = [...slices].sort((a, b) => a.from - b.from)
    expect(sorted[0]!.from).toBe(10_000)
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.from).toBe(sorted[i - 1]!.to + 1)
    expect(sorted.at(-1)!.to).toBeLessThanOrEqual(32_767)
    // The slice follows pid % 64.
    expect(portSlice(7, 10_000, 32_767)).toEqual(portSlice(71, 10_000, 32_767))
  })

  it('is the whole range where a slice would be too small', () => {
    expect(portSlice(5, 10_000, 15_000)).toEqual({ from: 10_000, to: 15_000 })
  })
})

describe('portForChild', () => {
  it("hands out a bindable port from this process's slice, and not the same one twice", async () => {
    const { lowest, highest } = childPortRange()
    const own = portSlice(process.pid, lowest, highest)
    const ports = [await portForChild(), await portForChild(), await portForChild()]
    expect(new Set(ports).size).toBe(3)
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(own.from)
      expect(port).toBeLessThanOrEqual(own.to)
      const server = net.createServer().listen(port, '127.0.0.1')
      await once(server, 'listening')
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
