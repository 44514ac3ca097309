/**
 * The programmatic API as a test author uses it from vitest: port 0 by default, `await using` cleans up,
 * input checked with the schemas config and scenario files are checked with, and runScenario returns the
 * verdict `qcc-lab run` prints.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import {
  QccLabError, ScenarioError, UsageError, loadScenario, runScenario, runVariant, startFakeUpstream, startProxy,
  type ProxyStats, type ScenarioDefinition,
} from '../../src/index.ts'

const messageBody = JSON.stringify({ model: 'x', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] })
const post = (url: string) => request(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: messageBody })

describe('the test API', () => {
  it('starts a proxy and an upstream on free ports and closes both at the end of an `await using` block', async () => {
    let proxyUrl = ''
    let upstreamUrl = ''
    {
      await using upstream = await startFakeUpstream({ name: 'relay' })
      await using proxy = await startProxy({ cluster: { name: 'c', endpoints: [{ baseUrl: upstream.url, apiKey: 'sk-api-test-0001' }] } })
      proxyUrl = proxy.url
      upstreamUrl = upstream.url
      expect(Number(new URL(proxy.url).port)).not.toBe(7860)
      const res = await post(proxy.url)
      expect(res.statusCode).toBe(200)
      await res.body.text()
    }
    // Both were closed when the block ended.
    await expect(request(`${proxyUrl}/__qcc__/stats`)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    await expect(request(`${upstreamUrl}/v1/messages`, { method: 'POST' })).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })
})

describe('startProxy input', () => {
  it('takes connectors as a config file writes them: a profile name, or the profile with its overrides beside it', async () => {
    await using a = await startFakeUpstream({ name: 'a' })
    await using b = await startFakeUpstream({ name: 'b' })
    await using proxy = await startProxy({
      cluster: {
        name: 'c',
        connector: 'naive-keepalive',
        endpoints: [
          { baseUrl: a.url, apiKey: 'sk-api-test-000a' },
          { baseUrl: b.url, apiKey: 'sk-api-test-000b', priority: 2, connector: { profile: 'force-close', connectTimeoutMs: 2_000 } },
        ],
      },
    })
    const res = await post(proxy.url)
    expect(res.statusCode).toBe(200)
    await res.body.text()
    const stats: ProxyStats = proxy.stats()
    expect(stats.endpoints.map((e) => e.connector_profile)).toEqual(['naive-keepalive', 'force-close'])
  })

  it('refuses a bad field with a QccLabError that names it, every problem at once', async () => {
    const start = startProxy({
      cluster: {
        name: 'c',
        // @ts-expect-error a misspelt profile is a type error too
        connector: 'naive-keepalives',
        endpoints: [{ baseUrl: 'ftp://relay.example.com', apiKey: 'sk-api-test-0001' }],
      },
    })
    await expect(start).rejects.toThrow(QccLabError)
    await expect(start).rejects.toThrow(/^Failed to start the proxy: 2 problems in its config:\n/)
    await expect(start).rejects.toThrow('\n  cluster.connector: expected a connector profile (force-close, naive-keepalive, tuned-keepalive), a mapping with "profile" and overrides')
    await expect(start).rejects.toThrow('\n  cluster.endpoints[0].baseUrl: expected an http:// or https:// URL such as https://relay.example.com, not "ftp:"')
  })

  it('names a misspelt override at the path it was written', async () => {
    const endpoints = [{ baseUrl: 'http://127.0.0.1:9', apiKey: 'sk-api-test-0001' }]
    // @ts-expect-error idleTimeoutMS is not a connector setting
    await expect(startProxy({ cluster: { name: 'c', endpoints, connector: { profile: 'tuned-keepalive', idleTimeoutMS: 2_000 } } }))
      .rejects.toThrow('Failed to start the proxy: cluster.connector.idleTimeoutMS: unknown field; remove it or check its spelling.')
    // @ts-expect-error the same in the { profile, overrides } form
    await expect(startProxy({ cluster: { name: 'c', endpoints, connector: { profile: 'tuned-keepalive', overrides: { idleTimeoutMS: 2_000 } } } }))
      .rejects.toThrow('Failed to start the proxy: cluster.connector.overrides.idleTimeoutMS: unknown field; remove it or check its spelling.')
  })
})

describe('startFakeUpstream input', () => {
  it('refuses a bad field with a QccLabError that names it, behaviour and faults in one message', async () => {
    const start = startFakeUpstream({
      name: 'relay',
      port: 70_000,
      // @ts-expect-error textDelta is not a behaviour field
      behaviour: { textDelta: 3 },
      faults: [{ kind: 'idle-close', idleMs: -1 }],
    })
    await expect(start).rejects.toThrow(QccLabError)
    await expect(start).rejects.toThrow('Failed to start the fake upstream "relay": port: expected a number <= 65535; behaviour.textDelta: unknown field; remove it or check its spelling; faults[0].idleMs: expected a positive number')
  })

  it('checks a behaviour set later the same way', async () => {
    await using upstream = await startFakeUpstream()
    // @ts-expect-error firstByteDelayMs is a number of ms
    expect(() => upstream.setBehaviour({ firstByteDelayMs: '5' })).toThrow('Failed to set the behaviour: behaviour.firstByteDelayMs: expected a number, got string')
  })
})

/** The smallest scenario: one relay without faults; every request must be answered by it. */
const plain: ScenarioDefinition = {
  description: 'one relay, no fault',
  upstreams: [{ name: 'relay' }],
  workload: { requests: 4 },
  variants: [{ name: 'answered', expect: ['failures.total == 0', 'upstream.received == requests'] }],
}
const plainYaml = `description: one relay, no fault
upstreams:
  - name: relay
workload: { requests: 4 }
variants:
  - name: answered
    expect: ['failures.total == 0', 'upstream.received == requests']
`
const dir = mkdtempSync(path.join(tmpdir(), 'qcc-lab-test-api-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('runScenario', () => {
  it('returns the verdict and report qcc-lab run prints, for a bundled scenario by name', async () => {
    const { passed, report, unmet } = await runScenario('stale-keepalive', { variants: ['naive-keepalive'] })
    expect(unmet).toEqual([])
    expect(passed).toBe(true)
    expect(report).toMatchObject({ name: 'stale-keepalive', verdict: 'pass', mode: 'bundled', seed: 1, bundledOnly: [] })
    const [variant] = report.variants
    expect(variant).toMatchObject({ name: 'naive-keepalive', verdict: 'pass', connector: 'naive-keepalive' })
    expect(variant!.expectations.map((e) => [e.name, e.status])).toEqual([
      ['reproduces stale-socket attempts', 'pass'],
      ['the client sees the failure', 'pass'],
      ['caused by the stale socket', 'pass'],
      ['the connection is reused between requests', 'pass'],
    ])
  })

  it.each([
    ['a plain object', () => plain],
    ['YAML text', () => plainYaml],
    ['a file path', () => {
      const file = path.join(dir, 'plain.yaml')
      writeFileSync(file, plainYaml)
      return file
    }],
    ['a loaded Scenario', () => loadScenario(path.join(dir, 'plain.yaml'))],
  ])('takes %s', async (_what, input) => {
    const { passed, report } = await runScenario(await input())
    expect(passed).toBe(true)
    expect(report.variants.map((v) => [v.name, v.verdict, v.requests, v.upstream.received])).toEqual([['answered', 'pass', 4, 4]])
  })

  it('says which expectation did not hold, and fails', async () => {
    const wrong: ScenarioDefinition = { ...plain, variants: [{ name: 'wrong', expect: ['failures.total == 1'] }] }
    const { passed, report, unmet } = await runScenario(wrong)
    expect(passed).toBe(false)
    expect(report.verdict).toBe('fail')
    expect(unmet).toEqual(['wrong: failures.total == 1: expected == 1, got 0'])
  })

  it('refuses an inline scenario with a ScenarioError naming the field, as for a file', async () => {
    const bad: ScenarioDefinition = {
      ...plain,
      // @ts-expect-error idleMS: the new user's typo
      upstreams: [{ name: 'relay', faults: [{ kind: 'idle-close', idleMS: 300 }] }],
    }
    const run = runScenario(bad)
    await expect(run).rejects.toThrow(ScenarioError)
    await expect(run).rejects.toThrow('(inline scenario): upstreams[0].faults[0].idleMs: missing; expected a number\n(inline scenario): upstreams[0].faults[0].idleMS: unknown field; remove it or check its spelling')
    await expect(runScenario(plainYaml.replace('requests: 4', 'requests: -4'))).rejects.toThrow('(inline YAML):4:23: workload.requests: expected a positive number')
  })

  it('refuses a variant the scenario does not have, naming the ones it has', async () => {
    await expect(runScenario(plain, { variants: ['answerd'] })).rejects.toThrow(UsageError)
    await expect(runVariant(plain, 'answerd')).rejects.toThrow('Failed to run variant "answerd": scenario inline has no such variant; it has answered.')
  })
})

describe('runVariant', () => {
  it('returns one variant\'s verdict, report and record', async () => {
    const { passed, report, record, unmet } = await runVariant(plain, 'answered')
    expect([passed, report.verdict, unmet]).toEqual([true, 'pass', []])
    expect(record.samples).toHaveLength(4)
  })
})
