/** The proxy splits plain request targets by hand; the result must be what `new URL` gives, for any target. */
import { describe, expect, it } from 'vitest'
import { requestTarget } from '../../../src/proxy/routes.ts'
import { createRandom } from '../../../src/shared/random.ts'

function viaUrl(raw: string): { pathname: string; search: string } | undefined {
  if (!raw.startsWith('/')) return undefined
  try {
    const u = new URL(raw, 'http://proxy')
    return { pathname: u.pathname, search: u.search }
  } catch {
    return undefined
  }
}

const same = (raw: string): void => {
  const t = requestTarget(raw)
  expect(t === undefined ? undefined : { pathname: t.pathname, search: t.search }, JSON.stringify(raw)).toEqual(viaUrl(raw))
}

describe('requestTarget', () => {
  it('reads a target as URL does', () => {
    for (const raw of [
      '/', '/v1/messages', '/v1/messages?beta=true', '/v1/messages?', '/v1/messages??x', '/v1/messages?a=1&b=2#frag',
      '/a/./b', '/a/../b', '/a/..', '/a/.', '/..', '/a/.../b', '/a/.b/c', '/a/b.', '/%2e%2e/x', '/a/%2E/b', '/a%20b',
      '/a b', '/a\\b', '/a\tb', '/é', '/a?q=é', "/a'b?c'd", '/a?x="y"', '/a?<b>', '/a{b}', '/a`b', '/a|b', '/a^b',
      '//evil.example/x', '//', '///x', '/:x', '/a:b@c', '/v1/messages?x=%zz', '/a?b#', '/#', '/?', '/?#', '/a;b=c',
      'http://example.com/x', '', '*', 'x/y',
    ]) same(raw)
  })

  it('agrees with URL on random targets', () => {
    const random = createRandom(7).next
    const alphabet = "/?.%#\\ 'ab09-_~!$&()*+,;=:@\"<>`{}|^é\t"
    for (let i = 0; i < 20_000; i++) {
      let raw = '/'
      const n = Math.floor(random() * 12)
      for (let j = 0; j < n; j++) raw += alphabet[Math.floor(random() * alphabet.length)]
      same(raw)
    }
  })
})
