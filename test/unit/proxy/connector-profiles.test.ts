import { afterEach, describe, expect, it } from 'vitest'
import { startFixture, type Fixture } from '../../helpers/proxy-fixture.ts'
import { scriptedServer, type TestServer } from '../../helpers/servers.ts'
import type { UpstreamSpec } from '../../../fake-upstreams/index.ts'

let fx: Fixture | undefined
let server: TestServer | undefined
afterEach(async () => {
  await fx?.close()
  await server?.close()
  fx = server = undefined
})

/**
 * Connector behaviour in isolation: one attempt per request, so qcc's attempt loop does not retry on top.
 * Every reused connection is closed under its next request: the race, made certain.
 */
const single = { attempts: { max: 1 } }
const racingUpstream: UpstreamSpec[] = [{ faults: [{ kind: 'race-close', afterIdleMs: 0 }] }]

const attemptsOf = (f: Fixture) => f.events.attempts.map((a) => [a.requestId, a.outcome, a.reusedConnection, a.staleRetry])

describe('naive-keepalive', () => {
  it('fails the client request when the reused connection is closed under it, and does not retry', async () => {
    fx = await startFixture({ connector: 'naive-keepalive', upstreams: racingUpstream, cluster: single })
    expect((await fx.send('r1')).status).toBe(200)
    const second = await fx.send('r2')
    expect(second.status).toBe(502)
    expect(JSON.parse(second.text)).toEqual({ error: 'All 1 endpoints failed' })
    expect(attemptsOf(fx)).toEqual([
      ['r1', 'ok', false, false],
      ['r2', 'stale-socket', true, false],
    ])
    expect(fx.upstreams[0]!.ledger.byRequestId('r2').map((e) => e.outcome)).toEqual(['dropped'])
  })

  it('ignores the upstream\'s Keep-Alive hint and reuses the connection anyway', async () => {
    // The upstream says `timeout=1`, which a client that honours it (minus a margin) would not reuse at all;
    // it really closes only after 60 s, so the test does not depend on how fast the two requests follow.
    fx = await startFixture({ connector: 'naive-keepalive', upstreams: [{ faults: [{ kind: 'idle-close', idleMs: 60_000, keepAliveHeader: 'lying', advertisedMs: 1_000 }] }] })
    await fx.send('a')
    await fx.send('b')
    expect(fx.upstreams[0]!.ledger.summary().connections).toBe(1)
  })
})

describe('tuned-keepalive', () => {
  it('retries a stale reused connection once on a fresh one, counts it, and the client never sees it', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: racingUpstream, cluster: single })
    expect((await fx.send('r1')).status).toBe(200)
    expect((await fx.send('r2')).status).toBe(200)
    expect(attemptsOf(fx)).toEqual([
      ['r1', 'ok', false, false],
      ['r2', 'stale-socket', true, false],
      ['r2', 'ok', false, true],
    ])
    const deliveries = fx.upstreams[0]!.ledger.byRequestId('r2')
    expect(deliveries.map((e) => [e.outcome, e.indexOnConnection])).toEqual([['dropped', 1], ['answered', 0]])
    expect(deliveries[0]!.connectionId).not.toBe(deliveries[1]!.connectionId)
    expect(fx.proxy.stats().stale_retries).toBe(1)
  })

  it('honours the upstream\'s Keep-Alive hint: timeout=1 minus the 2 s margin means no reuse', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ faults: [{ kind: 'idle-close', idleMs: 1_999 }] }] })
    await fx.send('a')
    await fx.send('b')
    expect(fx.upstreams[0]!.ledger.summary().connections).toBe(2)
  })

  it('reuses the connection when the hint leaves room', async () => {
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [{ faults: [{ kind: 'idle-close', idleMs: 30_000 }] }] })
    for (const id of ['a', 'b', 'c']) await fx.send(id)
    expect(fx.upstreams[0]!.ledger.summary()).toMatchObject({ connections: 1, received: 3 })
  })

  it('does not retry a failure on a fresh connection: nothing proves the request was not processed', async () => {
    server = await scriptedServer((_n, socket) => socket.end())
    fx = await startFixture({ connector: 'tuned-keepalive', upstreams: [], extraEndpoints: [server.url], cluster: single })
    const res = await fx.send('r1')
    expect(res.status).toBe(502)
    expect(attemptsOf(fx)).toEqual([['r1', 'connection-closed', false, false]])
  })
})

describe('force-close', () => {
  it('opens one upstream connection per request and never reuses one', async () => {
    fx = await startFixture({ connector: 'force-close', upstreams: racingUpstream, cluster: single })
    for (const id of ['a', 'b', 'c', 'd']) expect((await fx.send(id)).status).toBe(200)
    const ledger = fx.upstreams[0]!.ledger
    expect(ledger.summary()).toMatchObject({ connections: 4, received: 4, answered: 4, dropped: 0 })
    expect(ledger.entries().every((e) => e.indexOnConnection === 0)).toBe(true)
  })
})
