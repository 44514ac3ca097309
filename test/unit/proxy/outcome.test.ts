import { afterEach, describe, expect, it } from 'vitest'
import { Pool } from 'undici'
import { classifyError, classifyStatus, errorCode, outcomeLabels } from '../../../src/proxy/outcome.ts'
import { failedOnReusedSocket, installSocketReuseTracking } from '../../../src/proxy/connector/socket-reuse.ts'
import { answerOk, scriptedServer, type TestServer } from '../../helpers/servers.ts'
import { closedPort } from '../../helpers/raw-http.ts'

installSocketReuseTracking()

let server: TestServer | undefined
let pool: Pool | undefined
afterEach(async () => {
  await pool?.close()
  await server?.close()
  pool = server = undefined
})

/** Sends `count` sequential requests; returns the error of the last one (the others must succeed). */
async function lastError(url: string, count: number, options: Pool.Options = {}): Promise<unknown> {
  // One connection, so the second request must reuse the first one's socket.
  pool = new Pool(url, { allowH2: false, keepAliveTimeout: 60_000, connections: 1, ...options })
  for (let i = 1; i <= count; i++) {
    try {
      const res = await pool.request({ method: 'POST', path: '/v1/messages', body: '{}' })
      await res.body.text()
      if (i === count) return undefined
    } catch (err) {
      if (i < count) throw err
      return err
    }
  }
  return undefined
}

const classify = (err: unknown, responseStarted = false) =>
  classifyError(err, { reusedConnection: failedOnReusedSocket(err), responseStarted })

describe('classifying the errors undici really raises', () => {
  it('a FIN under a request on a reused connection is a stale socket (UND_ERR_SOCKET "other side closed")', async () => {
    server = await scriptedServer((n, socket) => (n === 1 ? answerOk(socket) : socket.end()))
    const err = await lastError(server.url, 2)
    expect(errorCode(err)).toBe('UND_ERR_SOCKET')
    expect((err as Error).message).toBe('other side closed')
    expect(failedOnReusedSocket(err)).toBe(true)
    expect(classify(err)).toBe('stale-socket')
  })

  it('a RST under a request on a reused connection is a stale socket (ECONNRESET)', async () => {
    server = await scriptedServer((n, socket) => (n === 1 ? answerOk(socket) : socket.resetAndDestroy()))
    const err = await lastError(server.url, 2)
    expect(errorCode(err)).toBe('ECONNRESET')
    expect(classify(err)).toBe('stale-socket')
  })

  it('the same FIN on a fresh connection is connection-closed, not stale', async () => {
    server = await scriptedServer((_n, socket) => socket.end())
    const err = await lastError(server.url, 1)
    expect(errorCode(err)).toBe('UND_ERR_SOCKET')
    expect(failedOnReusedSocket(err)).toBe(false)
    expect(classify(err)).toBe('connection-closed')
  })

  it('the same RST on a fresh connection is connection-reset', async () => {
    server = await scriptedServer((_n, socket) => socket.resetAndDestroy())
    expect(classify(await lastError(server.url, 1))).toBe('connection-reset')
  })

  it('nothing listening is connect-refused', async () => {
    const err = await lastError(`http://127.0.0.1:${await closedPort()}`, 1)
    expect(errorCode(err)).toBe('ECONNREFUSED')
    expect(classify(err)).toBe('connect-refused')
  })

  it('no response head in time is headers-timeout', async () => {
    server = await scriptedServer(() => undefined)
    const err = await lastError(server.url, 1, { headersTimeout: 50 })
    expect(errorCode(err)).toBe('UND_ERR_HEADERS_TIMEOUT')
    expect(classify(err)).toBe('headers-timeout')
  })

  it('a cut after the head arrived is reset-mid-stream, whatever the connection', async () => {
    server = await scriptedServer((_n, socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n5\r\nevent\r\n')
      setImmediate(() => socket.resetAndDestroy())
    })
    pool = new Pool(server.url, { allowH2: false })
    const res = await pool.request({ method: 'POST', path: '/', body: '{}' })
    const err = await res.body.text().then(() => undefined, (e: unknown) => e)
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(errorCode(err))
    // The very same error before any response byte is a connection failure the attempt loop may retry;
    // after the head it is a mid-stream reset that must never be retried.
    expect(classify(err, false)).toMatch(/^connection-(reset|closed)$/)
    expect(classify(err, true)).toBe('reset-mid-stream')
  })

  it('EPIPE on a reused connection is a stale socket too', () => {
    const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })
    expect(classifyError(err, { reusedConnection: true, responseStarted: false })).toBe('stale-socket')
    expect(classifyError(err, { reusedConnection: false, responseStarted: false })).toBe('connection-reset')
  })

  it('finds the code of a wrapped fetch error and treats an abort as the client going away', () => {
    const wrapped = new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) })
    expect(errorCode(wrapped)).toBe('UND_ERR_SOCKET')
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' })
    expect(classifyError(abort, { reusedConnection: true, responseStarted: true })).toBe('client-aborted')
    expect(classifyError(new Error('???'), { reusedConnection: false, responseStarted: false })).toBe('network-error')
  })
})

describe('classifyStatus', () => {
  it.each([[200, 'ok'], [204, 'ok'], [301, 'http-4xx'], [401, 'http-4xx'], [429, 'http-4xx'], [500, 'http-5xx'], [529, 'http-5xx']] as const)(
    '%i → %s', (status, outcome) => { expect(classifyStatus(status)).toBe(outcome) },
  )

  it('labels stale-socket with aiohttp\'s message for humans', () => {
    expect(outcomeLabels['stale-socket']).toContain('Cannot write to closing transport')
  })
})
