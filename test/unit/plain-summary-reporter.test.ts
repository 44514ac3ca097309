/** The plain closing line that CI reads: a failed hook is a failure, never "0 failed". */
import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

describe('the plain summary line', () => {
  it('counts a failed beforeAll as a failure, with its tests skipped', async () => {
    const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/reporter/vitest.config.ts'], { cwd: root, timeout: 60_000 }, (err, stdout) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout })
      })
    })
    expect(out.code).toBe(1)
    expect(out.stdout.trim().split('\n').at(-1)).toBe('1 passed, 1 failed, 2 skipped')
  }, 60_000)
})
