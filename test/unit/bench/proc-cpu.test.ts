import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { procCpuMicros } from '../../../src/bench/nginx.ts'

describe('procCpuMicros (nginx CPU for the bench)', () => {
  it.runIf(existsSync('/proc/self/stat'))('reads a process CPU from /proc, growing as the process works', () => {
    const before = procCpuMicros(process.pid)!
    // Work until Node itself counts 100 ms more CPU (not wall time: a busy machine must not matter).
    const start = process.cpuUsage()
    let x = 0
    for (;;) {
      for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + i)
      const used = process.cpuUsage(start)
      if (used.user + used.system >= 100_000) break
    }
    expect(x).toBeGreaterThan(0)
    const after = procCpuMicros(process.pid)!
    expect(before).toBeGreaterThanOrEqual(0)
    // /proc counts in 10 ms ticks: 100 ms of CPU shows as at least 80 ms.
    expect(after - before).toBeGreaterThanOrEqual(80_000)
  })

  it('says undefined for a process that does not exist', () => {
    expect(procCpuMicros(2 ** 22 + 12345)).toBeUndefined()
    expect(procCpuMicros(undefined)).toBeUndefined()
  })
})
