/**
 * The request headers that go to an upstream: the client's, minus what is hop-by-hop (RFC 9110 §7.6.1:
 * the fixed list and every header the client's `Connection` names), `Host`, `Content-Length`, `Expect`
 * (the proxy has the whole body already; undici refuses `expect` anyway) and the client's own auth;
 * plus the endpoint's key as `x-api-key` and `Authorization: Bearer`, and `anthropic-version:
 * 2023-06-01` as qcc forces it.
 */
import { hopByHopHeaders } from './forward.ts'

const replaced = new Set(['host', 'content-length', 'expect', 'x-api-key', 'authorization', 'anthropic-version'])

/** The header names a `Connection` header lists (lower-case), from a raw header list. */
export function connectionTokens(rawHeaders: readonly string[]): Set<string> {
  const tokens = new Set<string>()
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue
    for (const t of rawHeaders[i + 1]!.split(',')) {
      const name = t.trim().toLowerCase()
      if (name !== '') tokens.add(name)
    }
  }
  return tokens
}

/** What never goes upstream as the client sent it: hop-by-hop headers and the ones the proxy replaces. */
const dropped = new Set([...hopByHopHeaders, ...replaced])

/**
 * Headers for one attempt on one endpoint. With `duplicateAuth` (compat) a client's mixed-case
 * `X-Api-Key` / `Anthropic-Version` is forwarded too, as qcc's case-sensitive lookup did.
 * Each name is lower-cased once (the `Connection` tokens are read only when there is one).
 */
export function upstreamHeaders(rawHeaders: readonly string[], apiKey: string, duplicateAuth = false): Record<string, string> {
  // No prototype: a client header named `constructor` or `__proto__` is just a name.
  const out = Object.create(null) as Record<string, string>
  let named: Set<string> | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]!
    // Only a 10-character name can be `Connection`: the others are not lower-cased twice.
    if (raw.length === 10 && raw.toLowerCase() === 'connection') {
      // `Connection: keep-alive` (what client pools send) or `close` names only a header dropped anyway.
      const value = rawHeaders[i + 1]!
      if (value === 'keep-alive' || value === 'close') continue
      named = connectionTokens(rawHeaders)
      break
    }
  }
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]!
    const name = raw.toLowerCase()
    const value = rawHeaders[i + 1]!
    if (duplicateAuth && (name === 'x-api-key' || name === 'anthropic-version') && raw !== name) {
      out[raw] = value
      continue
    }
    if (dropped.has(name) || (named !== undefined && named.has(name))) continue
    const prev = out[name]
    out[name] = prev === undefined ? value : `${prev}, ${value}`
  }
  out['x-api-key'] = apiKey
  out.authorization = `Bearer ${apiKey}`
  out['anthropic-version'] = '2023-06-01'
  return out
}
