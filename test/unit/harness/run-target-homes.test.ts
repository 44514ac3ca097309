/**
 * Against a target, runScenario keeps the home (the cache.json it was given and its own log) of a
 * failed variant only, and lists the variants only the bundled proxy can run without running them: the
 * same for `qcc-lab run` and the API, since both get the report from runScenario.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { runScenario, type ScenarioDefinition, type TargetSpec } from '../../../src/index.ts'
import { loadTargetProfile } from '../../../src/harness/runner/target-profile.ts'
import { qccLabCommand } from '../../helpers/cli.ts'

const fixtures = fileURLToPath(new URL('../../fixtures/targets/', import.meta.url))
const profileFile = path.join(fixtures, 'fast-lab.yaml')
const dir = mkdtempSync(path.join(tmpdir(), 'qcc-lab-homes-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The target command, which first notes the home it was given (in `file`). */
const target = (file: string, command: string): TargetSpec => ({
  command: `echo {home} >> "${file}" && exec ${command}`,
  profile: loadTargetProfile(profileFile),
  profileFile,
})
const bundled = `${qccLabCommand} proxy start --config {config} --cluster {cluster} --port {port} --home {home} --constants {profile}`
const stub = `"${process.execPath}" "${path.join(fixtures, 'stub-200.mjs')}" {port}`

const scenario: ScenarioDefinition = {
  description: 'one relay, no fault',
  upstreams: [{ name: 'relay' }],
  workload: { requests: 2 },
  variants: [
    { name: 'answered', expect: ['failures.total == 0'] },
    { name: 'naive', connector: 'naive-keepalive', expect: ['failures.total == 0'] },
  ],
}

describe('runScenario against a target', () => {
  it('removes the home of a variant that passed and runs no bundled-only variant', async () => {
    const homes = path.join(dir, 'passed.txt')
    const { passed, report, records } = await runScenario(scenario, { target: target(homes, bundled) })
    expect(passed).toBe(true)
    expect(report).toMatchObject({ mode: 'target', verdict: 'pass', bundledOnly: [{ variant: 'naive', reason: 'sets a connector profile, which an external proxy cannot be told' }] })
    expect(report.variants.map((v) => v.name)).toEqual(['answered'])
    expect(report.keptHomes).toBeUndefined()
    const [home] = readFileSync(homes, 'utf8').trim().split('\n')
    expect(existsSync(home!)).toBe(false)
    expect(records[0]!.target?.home).toBeUndefined()
  })

  it('keeps the home of a variant that failed, with the config it was given and its own log', async () => {
    const homes = path.join(dir, 'failed.txt')
    const { passed, report, records } = await runScenario(scenario, { target: target(homes, stub) })
    const [home] = readFileSync(homes, 'utf8').trim().split('\n')
    try {
      expect(passed).toBe(false)
      expect(report.keptHomes).toEqual([{ variant: 'answered', home }])
      expect(records[0]!.target?.home).toBe(home)
      expect(existsSync(path.join(home!, 'cache.json'))).toBe(true)
      expect(existsSync(path.join(home!, 'target.log'))).toBe(true)
    } finally {
      rmSync(home!, { recursive: true, force: true })
    }
  })
})
