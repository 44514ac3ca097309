/** upstreamHeaders takes shortcuts (one lower-casing per name, `Connection: keep-alive` not parsed); the result must not change. */
import { describe, expect, it } from 'vitest'
import { upstreamHeaders } from '../../../src/proxy/upstream-headers.ts'
import { createRandom } from '../../../src/shared/random.ts'

/** The straightforward version the shortcuts replaced. */
function reference(rawHeaders: readonly string[], apiKey: string, duplicateAuth = false): Record<string, string> {
  const hop = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'])
  const replaced = new Set(['host', 'content-length', 'expect', 'x-api-key', 'authorization', 'anthropic-version'])
  const named = new Set<string>()
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue
    for (const t of rawHeaders[i + 1]!.split(',')) if (t.trim() !== '') named.add(t.trim().toLowerCase())
  }
  const out = Object.create(null) as Record<string, string>
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]!
    const name = raw.toLowerCase()
    const value = rawHeaders[i + 1]!
    if (duplicateAuth && (name === 'x-api-key' || name === 'anthropic-version') && raw !== name) {
      out[raw] = value
      continue
    }
    if (hop.has(name) || named.has(name) || replaced.has(name)) continue
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`
  }
  out['x-api-key'] = apiKey
  out.authorization = `Bearer ${apiKey}`
  out['anthropic-version'] = '2023-06-01'
  return out
}

const entries = (h: Record<string, string>) => Object.keys(h).map((k) => [k, h[k]])

describe('upstreamHeaders', () => {
  it('matches the straightforward version on the cases that matter', () => {
    const cases: string[][] = [
      ['host', 'x', 'connection', 'keep-alive', 'content-type', 'application/json', 'content-length', '12'],
      ['Connection', 'keep-alive', 'Connection', 'x-secret', 'X-Secret', 's', 'x-kept', 'k'],
      ['connection', 'close', 'x-a', '1'],
      ['Connection', 'Keep-Alive, X-Hop', 'x-hop', 'h', 'keep-alive', 'timeout=5', 'x-b', '2'],
      ['x-secret', 's', 'connection', 'keep-alive', 'connection', ' x-secret , ,x-other', 'x-other', 'o'],
      ['X-Api-Key', 'client', 'Anthropic-Version', 'old', 'accept', 'a', 'Accept', 'b'],
      ['constructor', 'x', '__proto__', 'y', 'toString', 'z', 'CONNECTION', 'toString'],
      [],
    ]
    for (const raw of cases) for (const dup of [false, true]) expect(entries(upstreamHeaders(raw, 'sk-k', dup)), JSON.stringify(raw)).toEqual(entries(reference(raw, 'sk-k', dup)))
  })

  it('matches it on random header lists', () => {
    const random = createRandom(11).next
    const names = ['connection', 'Connection', 'CONNECTION', 'keep-alive', 'x-a', 'X-A', 'x-b', 'host', 'te', 'x-api-key', 'X-Api-Key', 'anthropic-version', 'Anthropic-Version', 'content-length', 'connectio', 'connections']
    const values = ['keep-alive', 'close', 'x-a', 'X-B, x-a', ' , ', 'keep-alive, x-b', 'v', '']
    for (let n = 0; n < 5_000; n++) {
      const raw: string[] = []
      const count = Math.floor(random() * 7)
      for (let i = 0; i < count; i++) raw.push(names[Math.floor(random() * names.length)]!, values[Math.floor(random() * values.length)]!)
      const dup = random() < 0.5
      expect(entries(upstreamHeaders(raw, 'sk-k', dup)), JSON.stringify(raw)).toEqual(entries(reference(raw, 'sk-k', dup)))
    }
  })
})
