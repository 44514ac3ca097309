/** The programmatic API as a test author uses it: port 0 by default, `await using` cleans up. */
import { describe, expect, it } from 'vitest'
import { request } from 'undici'
import { startFakeUpstream, startProxy } from '../../src/index.ts'

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
      const res = await request(`${proxy.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'x', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] }) })
      expect(res.statusCode).toBe(200)
      await res.body.text()
    }
    // Both were closed when the block ended.
    await expect(request(`${proxyUrl}/__qcc__/stats`)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    await expect(request(`${upstreamUrl}/v1/messages`, { method: 'POST' })).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })
})
