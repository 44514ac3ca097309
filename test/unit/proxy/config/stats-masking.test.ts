/**
 * Credentials written into a base URL (`https://user:secret@relay`, which a qcc config may hold) are
 * masked in `/__qcc__/stats` like keys: at most their last 4 characters show.
 */
import { describe, expect, it } from 'vitest'
import { request } from 'undici'
import { maskUrlCredentials } from '../../../../src/proxy/cluster.ts'
import { startProxy } from '../../../../src/proxy/server.ts'

describe('maskUrlCredentials', () => {
  it.each([
    ['https://relay.example.com/api', 'https://relay.example.com/api'],
    ['https://relayuser:supersecret@relay.example.com/api', 'https://…user:…cret@relay.example.com/api'],
    ['https://sk-ant-key-12345678@relay.example.com', 'https://…5678@relay.example.com'],
    ['http://a:b@127.0.0.1:9', 'http://****:****@127.0.0.1:9'],
    ['https://user:p%40ss:word@relay.example.com', 'https://****:…word@relay.example.com'],
    ['https://relay.example.com/path@with-at', 'https://relay.example.com/path@with-at'],
    ['https://relay.example.com/?next=a@b', 'https://relay.example.com/?next=a@b'],
  ])('%s → %s', (url, shown) => {
    expect(maskUrlCredentials(url)).toBe(shown)
  })
})

describe('/__qcc__/stats', () => {
  it('never shows a password or user written into a base URL', async () => {
    const proxy = await startProxy({
      port: 0,
      seed: 1,
      cluster: { name: 't', endpoints: [{ baseUrl: 'http://relayuser:supersecretpass@127.0.0.1:9/api', apiKey: 'sk-test-key-abcdef' }], verifier: { enabled: false } },
    })
    try {
      const res = await request(`${proxy.url}/__qcc__/stats`)
      const text = await res.body.text()
      expect(text).not.toContain('supersecretpass')
      expect(text).not.toContain('relayuser')
      expect(JSON.parse(text).endpoints[0].base_url).toBe('http://…user:…pass@127.0.0.1:9/api')
      expect(JSON.stringify(proxy.stats())).not.toContain('supersecretpass')
    } finally {
      await proxy.close()
    }
  })
})
