/**
 * A stub that answers without forwarding, and relays that forward and still lie, fail every contract.
 * Each target is a separate process driven through the CLI as a user's CI drives it. One of four
 * target-mode-*.test.ts files (one until they were split so that they run at once); shared pieces in
 * test/helpers/target-mode.ts.
 */
import { describe, expect, it } from 'vitest'
import { existsSync, rmSync } from 'node:fs'
import path from 'node:path'
import { listBundledScenarios } from '../../src/harness/scenario/load.ts'
import { failing, lying, runAll, stub } from '../helpers/target-mode.ts'

describe('target mode against reference targets', () => {
  it('fails every contract of a stub that answers 200 without forwarding, and keeps its home to look at', async () => {
    const { code, report } = await runAll(stub())
    expect(code).toBe(1)
    const names = await listBundledScenarios()
    expect(failing(report)).toEqual(names)
    for (const s of report.scenarios) {
      for (const v of s.variants) {
        const traffic = v.expectations.find((e: { name: string }) => e.name === 'traffic reached the upstreams')
        expect(traffic, `${s.name}/${v.name}`).toMatchObject({ status: 'fail', actual: 0, implicit: true })
      }
      // The home of each failed variant is kept: the cache.json it was given and its own log.
      expect(s.keptHomes.length, s.name).toBe(s.variants.length)
      for (const k of s.keptHomes) {
        expect(existsSync(path.join(k.home, 'cache.json'))).toBe(true)
        expect(existsSync(path.join(k.home, '.fastcc', 'cache.json'))).toBe(true)
        expect(existsSync(path.join(k.home, 'target.log'))).toBe(true)
        rmSync(k.home, { recursive: true, force: true })
      }
    }
  }, 240_000)
})

describe('relays that forward and still lie', () => {
  // At once (each a `run --all` of ~16 s that waits on lying relays more than it uses the CPU): a relay
  // that lies fails a contract whatever the machine's load, so nothing here is a timing window.
  it.concurrent.for([
    ['canned', 'drops the upstream\'s answer and replies with a message of its own'],
    ['double', 'sends every request upstream twice'],
    ['empty', 'replies 200 with an empty body'],
  ] as const)('fails every contract of a relay that %s (%s)', { timeout: 240_000 }, async ([mode], { expect }) => {
    const { code, report } = await runAll(lying(mode))
    expect(code).toBe(1)
    expect(failing(report)).toEqual(await listBundledScenarios())
    for (const s of report.scenarios) for (const k of s.keptHomes) rmSync(k.home, { recursive: true, force: true })
  })
})
