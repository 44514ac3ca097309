/**
 * The README's "From vitest: the test API" example, as a test so that it cannot rot: keep the two
 * identical (the README imports from 'qcc-lab'; this copy from the source tree, the only difference).
 */
import { expect, it } from 'vitest'
import { request } from 'undici'
import { runScenario, startFakeUpstream, startProxy, type ScenarioDefinition } from '../../src/index.ts'

// A bundled scenario, with the verdict `qcc-lab run stale-keepalive` prints.
it('reproduces the stale keep-alive failure, and its fixes hold', async () => {
  const { passed, unmet, report } = await runScenario('stale-keepalive')
  expect(unmet).toEqual([]) // on failure: which expectation, expected vs got, the first failed request explained
  expect(passed).toBe(true)
  expect(report.variants.find((v) => v.name === 'naive-keepalive')?.failures).toEqual({ 'http-502': 6 })
}, 60_000)

// Your own scenario, as a plain object: the same fields as a scenario file, checked the same way.
const flakyRelay: ScenarioDefinition = {
  description: 'a relay that drops any request on a connection idle for 100 ms or more',
  upstreams: [{ name: 'relay', faults: [{ kind: 'race-close', afterIdleMs: 100 }] }],
  workload: { requests: 8, pacing: { burst: 2, gapMs: 150 } },
  variants: [
    { name: 'contract', expect: ['failures.total == 0', 'upstream.duplicates == 0'] },
    { name: 'naive', connector: 'naive-keepalive', proxy: { attempts: { max: 1 } }, expect: ['failures.total == 3'] },
  ],
}

it('hides a flaky relay from the client, unless the connector is naive', async () => {
  const { passed, unmet } = await runScenario(flakyRelay)
  expect(unmet).toEqual([])
  expect(passed).toBe(true)
})

// The pieces by hand: a fake upstream with a fault, the proxy in front of it, any client.
it('retries a request the relay drops on a reused connection, once, on a fresh one', async () => {
  await using relay = await startFakeUpstream({ name: 'relay', faults: [{ kind: 'race-close', afterIdleMs: 0 }] })
  await using proxy = await startProxy({
    cluster: { name: 'main', connector: 'tuned-keepalive', attempts: { max: 1 }, endpoints: [{ baseUrl: relay.url, apiKey: 'sk-test-0001' }] },
  })
  for (const id of ['first', 'second']) {
    const res = await request(`${proxy.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id },
      body: JSON.stringify({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.statusCode).toBe(200)
    await res.body.text()
  }
  // What reached the relay: the second request crossed the close on connection 1, and was sent again on 2.
  expect(relay.ledger.entries().map((e) => [e.requestId, e.connectionId, e.outcome])).toEqual([
    ['first', 1, 'answered'],
    ['second', 1, 'dropped'],
    ['second', 2, 'answered'],
  ])
  expect(proxy.stats().endpoints[0]?.stale_retries).toBe(1)
})
