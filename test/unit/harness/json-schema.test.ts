import { describe, expect, it } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { parse } from 'yaml'
import { jsonSchemaNames, jsonSchemaText, jsonSchemas, proxyConfigJsonSchema, scenarioJsonSchema } from '../../../src/harness/scenario/json-schema.ts'
import { bundledScenarioDir, listBundledScenarios } from '../../../src/harness/scenario/load.ts'
import { parseScenario } from '../../../src/harness/scenario/parse.ts'
import { scenarioSchema } from '../../../src/harness/scenario/schema.ts'
import { labConfigSchema } from '../../../src/proxy/config/lab-config.ts'
import { faultKinds } from '../../../fake-upstreams/faults/index.ts'
import { ScenarioError } from '../../../src/shared/errors.ts'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const committed = (file: string): string => readFileSync(path.join(root, 'schemas', file), 'utf8')
const header = '# yaml-language-server: $schema=../schemas/scenario.schema.json'

/**
 * No JSON Schema validator (ajv or another) is installed, and none is added for this: zod 4's own
 * `z.fromJSONSchema` interprets the *committed JSON text* (not the zod source it came from), which is
 * what an editor reads. It is experimental in zod; the rejections below show it enforces the keywords
 * that matter here (additionalProperties, oneOf by const kind, $ref into $defs).
 */
const validatorFor = (file: string): z.ZodType => z.fromJSONSchema(JSON.parse(committed(file)))

type Json = Record<string, unknown>

/** Every `properties` entry in a JSON Schema, with its path. */
function properties(node: unknown, at = '#'): Array<{ at: string; schema: Json }> {
  if (typeof node !== 'object' || node === null) return []
  if (Array.isArray(node)) return node.flatMap((n, i) => properties(n, `${at}/${i}`))
  const out: Array<{ at: string; schema: Json }> = []
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && typeof value === 'object' && value !== null) {
      for (const [name, schema] of Object.entries(value)) out.push({ at: `${at}/properties/${name}`, schema: schema as Json })
    }
    out.push(...properties(value, `${at}/${key}`))
  }
  return out
}

const readmeConfig = `
clusters:
  main:
    strategy: priority_failover
    connector: tuned-keepalive
    attempts: { max: 5, perEndpoint: 2 }
    breaker: { threshold: 3, openMs: 60000 }
    verifier: { intervalMs: 60000 }
    endpoints:
      - { baseUrl: https://relay-a.example.com, apiKeyEnv: RELAY_A_KEY, priority: 1 }
      - { baseUrl: https://relay-b.example.com, apiKeyEnv: RELAY_B_KEY, priority: 2, connector: force-close }
  imported:
    qcc: { profile: prod }
    endpointOverrides: { 29a0dbab: { connector: naive-keepalive } }
    compat: [lb-healthy-only]
`

describe('JSON Schemas', () => {
  it.each(jsonSchemaNames)('schemas/%s is what the generator makes now (run `qcc-lab schema <name> --out schemas/<file>` after a schema change)', (name) => {
    expect(committed(jsonSchemas[name].file)).toBe(jsonSchemaText(name))
  })

  it('has the scenario file\'s top-level shape: the zod schema\'s fields, required ones, nothing else', () => {
    const s = scenarioJsonSchema()
    expect(s).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', additionalProperties: false })
    expect(Object.keys(s.properties as Json).sort()).toEqual(Object.keys(scenarioSchema.shape).sort())
    expect((s.required as string[]).sort()).toEqual(['description', 'upstreams', 'variants', 'workload'])
    expect(Object.keys(s.$defs as Json).sort()).toEqual(['ConstantDuration', 'Duration'])
  })

  it('offers one schema per fault kind, told apart by kind', () => {
    const upstreams = (scenarioJsonSchema().properties as Json).upstreams as Json
    const faults = ((upstreams.items as Json).properties as Json).faults as Json
    const oneOf = (faults.items as Json).oneOf as Json[]
    expect(oneOf.map((k) => ((k.properties as Json).kind as Json).const)).toEqual(faultKinds)
    for (const k of oneOf) expect(Object.keys(k.properties as Json)).toEqual(expect.arrayContaining(['probability', 'fromRequest', 'untilRequest', 'cycle']))
  })

  it.each(jsonSchemaNames)('describes every field of the %s schema (hover docs in the editor)', (name) => {
    const missing = properties(jsonSchemas[name].build()).filter((p) => typeof p.schema.description !== 'string' || p.schema.description === '').map((p) => p.at)
    expect(missing).toEqual([])
  })

  it('documents the timing fields and the { constant, times, plusMs } form', () => {
    const s = scenarioJsonSchema()
    const pacing = (((s.properties as Json).workload as Json).properties as Json).pacing as Json
    const { gapMs, gapOfIdle } = pacing.properties as Record<string, Json>
    expect(gapMs!.description).toMatch(/constant, times, plusMs.*race-close afterIdleMs, idle-close idleMs/)
    expect(gapMs!.$ref).toBe('#/$defs/Duration')
    expect(gapOfIdle!.description).toMatch(/fraction of upstreams\[0\]'s idle-close idleMs.*undici >= 8\.5/)
    const constant = (s.$defs as Record<string, Json>).ConstantDuration!
    expect(Object.keys(constant.properties as Json)).toEqual(['constant', 'times', 'plusMs'])
  })

  describe('the committed scenario schema, read by a JSON Schema interpreter', () => {
    const validate = validatorFor('scenario.schema.json')

    it('accepts every bundled scenario', async () => {
      const names = await listBundledScenarios()
      expect(names.length).toBeGreaterThan(10)
      for (const name of names) {
        const data = parse(readFileSync(path.join(bundledScenarioDir, `${name}.yaml`), 'utf8'))
        const r = validate.safeParse(data)
        expect(r.success, `${name}: ${JSON.stringify(r.error?.issues)}`).toBe(true)
      }
    })

    it.each([
      ['a misspelt fault parameter', (d: Json) => { ((d.upstreams as Json[])[0]!.faults as Json[])[0]!.idleMS = 400 }],
      ['an unknown fault kind', (d: Json) => { ((d.upstreams as Json[])[0]!.faults as Json[])[0]!.kind = 'idle-clsoe' }],
      ['an unknown constant', (d: Json) => { ((d.workload as Json).pacing as Json).gapOfIdle = undefined; ((d.workload as Json).pacing as Json).gapMs = { constant: 'recoverSecs' } }],
      ['an unknown top-level field', (d: Json) => { d.varaints = [] }],
      ['an unknown compat switch', (d: Json) => { (d.variants as Json[])[1]!.proxy = { compat: ['lb-healthy-onyl'] } }],
    ])('rejects %s, as the loader does', (_label, mutate) => {
      const data = parse(readFileSync(path.join(bundledScenarioDir, 'stale-keepalive.yaml'), 'utf8')) as Json
      mutate(data)
      expect(validate.safeParse(JSON.parse(JSON.stringify(data))).success).toBe(false)
      expect(() => parseScenario(JSON.stringify(data), 'x.yaml', 'x')).toThrow(ScenarioError)
    })

    it('accepts a fault duration that follows a constant', () => {
      const data = parse(readFileSync(path.join(bundledScenarioDir, 'stale-keepalive.yaml'), 'utf8')) as Json
      ((data.upstreams as Json[])[0]!.faults as Json[])[0]!.idleMs = { constant: 'recoverMs', plusMs: 300 }
      expect(validate.safeParse(data).success).toBe(true)
    })
  })

  describe('the committed proxy-config schema', () => {
    const validate = validatorFor('proxy-config.schema.json')

    it('accepts the README\'s example config, as the loader does', () => {
      const data = parse(readmeConfig)
      expect(labConfigSchema.safeParse(data).success).toBe(true)
      expect(validate.safeParse(data).success).toBe(true)
    })

    it('rejects a misspelt cluster field and an unknown connector profile', () => {
      for (const bad of [readmeConfig.replace('strategy:', 'stratgy:'), readmeConfig.replace('connector: force-close', 'connector: turbo')]) {
        const data = parse(bad)
        expect(labConfigSchema.safeParse(data).success).toBe(false)
        expect(validate.safeParse(data).success).toBe(false)
      }
    })

    it('has the config\'s top-level shape', () => {
      const s = proxyConfigJsonSchema()
      expect(Object.keys(s.properties as Json).sort()).toEqual(Object.keys(labConfigSchema.shape).sort())
      expect(s.required).toEqual(['clusters'])
    })
  })

  describe('the editor header on bundled scenarios', () => {
    it('is the first line of every bundled scenario and points at the shipped schema', async () => {
      for (const name of await listBundledScenarios()) {
        const file = path.join(bundledScenarioDir, `${name}.yaml`)
        const first = readFileSync(file, 'utf8').split('\n')[0]
        expect(first, name).toBe(header)
        expect(existsSync(path.resolve(path.dirname(file), first!.split('$schema=')[1]!))).toBe(true)
      }
    })

    it('leaves the line and column of a problem where the problem is', () => {
      const text = readFileSync(path.join(bundledScenarioDir, 'stale-keepalive.yaml'), 'utf8').replace('  requests: 28\n', '  requests: -28\n')
      const line = text.split('\n').findIndex((l) => l === '  requests: -28') + 1
      expect(line).toBeGreaterThan(1)
      try {
        parseScenario(text, 'scenarios/stale-keepalive.yaml', 'stale-keepalive')
        throw new Error('expected the scenario to be rejected')
      } catch (err) {
        expect((err as Error).message).toContain(`scenarios/stale-keepalive.yaml:${line}:13: workload.requests: expected a positive number`)
      }
    })
  })
})
