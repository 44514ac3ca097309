/**
 * The request cap per connection and a relay without keep-alive, against hand-written servers whose
 * behaviour is exact (test/helpers/servers.ts): the n-th request on each connection decides.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type net from 'node:net'
import { answerOk, scriptedServer, type TestServer } from '../helpers/servers.ts'
import { SocketRegistry } from '../../src/field/probe/connection.ts'
import { findRequestCap } from '../../src/field/probe/request-cap.ts'
import { resolveTarget } from '../../src/field/probe/target.ts'
import { runProbe } from '../../src/field/probe/run-probe.ts'
import { emitScenario } from '../../src/field/probe/scenario-emission.ts'

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const closeAnswer = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}'

async function cap(onRequest: (n: number, socket: net.Socket) => void) {
  server = await scriptedServer(onRequest)
  const registry = new SocketRegistry()
  try {
    return await findRequestCap(resolveTarget(server.url), registry, { address: '127.0.0.1', timeoutMs: 5_000, maxRequests: 20, rttMs: 1, signal: new AbortController().signal })
  } finally {
    expect(registry.size).toBe(0)
  }
}

describe('the request cap per connection', () => {
  it('is none when every request on one connection is answered', async () => {
    expect(await cap((_n, s) => answerOk(s))).toMatchObject({ kind: 'none', tried: 20 })
  })

  it('is announced when the relay says Connection: close on the 5th answer', async () => {
    expect(await cap((n, s) => (n < 5 ? answerOk(s) : s.end(closeAnswer)))).toMatchObject({ kind: 'announced', cap: 5 })
  })

  it('closes after the 5th answer without saying so', async () => {
    expect(await cap((n, s) => { answerOk(s); if (n === 5) s.end() })).toMatchObject({ kind: 'closes-after', cap: 5, closeKind: 'fin' })
  })

  it('loses the 6th request: read, then closed unanswered', async () => {
    expect(await cap((n, s) => (n <= 5 ? answerOk(s) : s.end()))).toMatchObject({ kind: 'loses-next', cap: 5, closeKind: 'fin' })
  })
})

describe('a relay without keep-alive', () => {
  it('has no idle timeout to find, nothing to tune, and no scenario to emit', async () => {
    server = await scriptedServer((_n, s) => s.end(closeAnswer))
    const r = await runProbe({ target: resolveTarget(server.url), maxIdleMs: 500 })
    expect(r.idle.kind).toBe('no-keep-alive')
    expect(r.timings.noKeepAlive).toBe(true)
    expect(r.requestCap.kind).toBe('skipped')
    expect(r.recommendation).toMatchObject({ idleExpiryMs: null, forceClose: { neededUndici: false, neededAiohttp: false } })
    expect(emitScenario(r)).toMatchObject({ ok: false })
  })
})
