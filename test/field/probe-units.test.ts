/** The probe's pure parts: parsing, statistics, judging the header, the closes, the idle result, the recommendation. */
import { describe, expect, it } from 'vitest'
import { ResponseParser, ResponseParseError, parseKeepAliveHeader } from '../../src/field/probe/response-parser.ts'
import { requestBytes, resolveTarget } from '../../src/field/probe/target.ts'
import { median, medianInterval } from '../../src/field/probe/stats.ts'
import { ladder, spread, summarizeIdle, targetResolutionMs, type IdleResult } from '../../src/field/probe/idle-timeout.ts'
import type { ConnectionObservation } from '../../src/field/probe/fleet.ts'
import { judgeHeader } from '../../src/field/probe/header-honesty.ts'
import { classifyCloses } from '../../src/field/probe/close-kind.ts'
import { clientDefaults, recommend, safeExpiry } from '../../src/field/probe/recommendation.ts'
import type { TimingsResult } from '../../src/field/probe/timings.ts'
import { UsageError } from '../../src/shared/errors.ts'

const buf = (s: string): Buffer => Buffer.from(s, 'latin1')

describe('ResponseParser', () => {
  it('ends a Content-Length response exactly at its last byte, even split across chunks', () => {
    const p = new ResponseParser()
    expect(p.push(buf('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\n\r\nab'))).toEqual([
      { type: 'head', head: { status: 200, version: '1.1', headers: { 'content-length': '5', 'keep-alive': 'timeout=5' } } },
    ])
    expect(p.push(buf('cd'))).toEqual([])
    expect(p.push(buf('e'))).toEqual([{ type: 'end', bodyBytes: 5, keepAlive: true }])
  })

  it('decodes a chunked body with extensions and trailers, one byte at a time', () => {
    const p = new ResponseParser()
    const text = 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n'
    const events = [...text].flatMap((ch) => p.push(buf(ch)))
    expect(events.map((e) => e.type)).toEqual(['head', 'end'])
    expect(events[1]).toEqual({ type: 'end', bodyBytes: 19, keepAlive: true })
  })

  it('says a connection cannot be reused after Connection: close, or an HTTP/1.0 answer without keep-alive', () => {
    const close = new ResponseParser().push(buf('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'))
    expect(close.at(-1)).toEqual({ type: 'end', bodyBytes: 0, keepAlive: false })
    const old = new ResponseParser().push(buf('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'))
    expect(old.at(-1)).toEqual({ type: 'end', bodyBytes: 0, keepAlive: false })
    const oldKept = new ResponseParser().push(buf('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n'))
    expect(oldKept.at(-1)).toEqual({ type: 'end', bodyBytes: 0, keepAlive: true })
  })

  it('reads a body without framing until the close, and never reuses that connection', () => {
    const p = new ResponseParser()
    expect(p.push(buf('HTTP/1.1 200 OK\r\n\r\nhello')).map((e) => e.type)).toEqual(['head'])
    expect(p.close()).toEqual([{ type: 'end', bodyBytes: 5, keepAlive: false }])
  })

  it('skips 1xx answers and keeps bytes of the next response for after reset', () => {
    const p = new ResponseParser()
    const events = p.push(buf('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx'))
    expect(events).toEqual([{ type: 'head', head: { status: 204, version: '1.1', headers: {} } }, { type: 'end', bodyBytes: 0, keepAlive: true }])
    expect(p.reset().map((e) => e.type)).toEqual(['head', 'end'])
  })

  it('refuses what is not HTTP/1.x', () => {
    expect(() => new ResponseParser().push(buf('SSH-2.0-OpenSSH_9.6\r\n\r\n'))).toThrow(ResponseParseError)
    expect(() => new ResponseParser().push(buf('HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n'))).toThrow(/content-length/)
  })

  it('reads timeout= and max= from a Keep-Alive header', () => {
    expect(parseKeepAliveHeader('timeout=5, max=100')).toEqual({ timeoutS: 5, max: 100 })
    expect(parseKeepAliveHeader('max=3')).toEqual({ max: 3 })
    expect(parseKeepAliveHeader(undefined)).toEqual({})
  })
})

describe('resolveTarget', () => {
  it('sends GET of the base path by default, without a key', () => {
    const t = resolveTarget('https://relay.example.com/api/')
    expect(t).toMatchObject({ tls: true, host: 'relay.example.com', port: 443, servername: 'relay.example.com', rejectUnauthorized: true })
    expect(t.request).toMatchObject({ kind: 'get', method: 'GET', path: '/api', describe: 'GET /api (no key)' })
    expect(requestBytes(t).toString()).toMatch(/^GET \/api HTTP\/1\.1\r\nhost: relay\.example\.com\r\nconnection: keep-alive\r\n/)
  })

  it('sends the key as x-api-key and Bearer for count-tokens, and never shows it', () => {
    const t = resolveTarget('http://127.0.0.1:9001', { request: 'count-tokens', apiKey: 'sk-secret-1234' })
    expect(t.servername).toBeUndefined()
    const bytes = requestBytes(t).toString()
    expect(bytes).toContain('POST /v1/messages/count_tokens HTTP/1.1\r\nhost: 127.0.0.1:9001\r\n')
    expect(bytes).toContain('x-api-key: sk-secret-1234\r\nauthorization: Bearer sk-secret-1234\r\n')
    expect(t.request.describe).toBe('POST /v1/messages/count_tokens (free token count, with the key)')
    expect(JSON.stringify({ ...t, request: { ...t.request, headers: undefined } })).not.toContain('sk-secret')
  })

  it('refuses a paid completion unless asked, and what is not an http(s) URL', () => {
    expect(() => resolveTarget('https://r.example', { request: 'completion', apiKey: 'k' })).toThrow(/--allow-completion/)
    expect(() => resolveTarget('https://r.example', { request: 'completion', allowCompletion: true })).toThrow(/--key-env/)
    expect(() => resolveTarget('ftp://r.example')).toThrow(UsageError)
    expect(() => resolveTarget('relay.example.com')).toThrow(/not a URL/)
    expect(resolveTarget('https://user:pw@r.example').url).toBe('https://r.example')
  })
})

describe('statistics', () => {
  it('gives the sign-test interval of the median', () => {
    const xs = Array.from({ length: 12 }, (_, i) => i + 1)
    expect(median(xs)).toBe(6.5)
    // n = 12: [x(3), x(10)] covers the median with 96 %; [x(4), x(9)] only with 85 %.
    expect(medianInterval(xs)).toEqual({ low: 3, high: 10 })
    expect(medianInterval([5, 1, 9])).toEqual({ low: 1, high: 9 })
  })

  it('spaces the ladder geometrically and the narrowing evenly', () => {
    expect(ladder(25, 120_000, 12)[0]).toBe(25)
    expect(ladder(25, 120_000, 12).at(-1)).toBe(120_000)
    const l = ladder(25, 120_000, 12)
    for (let i = 1; i < l.length; i++) expect(l[i]! / l[i - 1]!).toBeCloseTo(l[1]! / l[0]!, 1)
    expect(spread(0, 100, 3)).toEqual([25, 50, 75])
    expect(targetResolutionMs(1000, 20)).toBeCloseTo(25.1, 9)
    expect(targetResolutionMs(100, 0)).toBeCloseTo(2.6, 9)
  })
})

const ok = (o: Partial<ConnectionObservation>, index = 0): ConnectionObservation => ({ index, warmup: 'ok', ...o })

describe('summarizeIdle', () => {
  it('takes the median of closes seen on idle connections, with the interval as its resolution', () => {
    const closes = [1000.5, 1001, 999.8, 1000.2, 1000.9, 1000.1, 1003, 998, 1000.4, 1000.6, 1000.3, 1000.7]
    const r = summarizeIdle(closes.map((c, i) => ok({ closedAtIdleMs: c, closeKind: 'fin' }, i)), 20)
    expect(r).toMatchObject({ kind: 'observed-close', estimateMs: 1000.5, observations: 12, consistent: true, minObservedMs: 998, maxObservedMs: 1003 })
    // Sorted: 998 999.8 1000.1 | … | 1000.9 1001 1003 → [1000.1, 1001] around 1000.45: at least 2 ms,
    // plus the 0.05 ms the estimate moved when rounded, rounded up.
    expect((r as { resolutionMs: number }).resolutionMs).toBe(2.1)
  })

  it('leaves out closes timed across a stall of this machine, while enough quiet ones remain', () => {
    const quiet = Array.from({ length: 8 }, (_, i) => ok({ closedAtIdleMs: 1000 + i / 10, uncertaintyMs: 0.5 }, i))
    const stalled = [ok({ closedAtIdleMs: 1080, uncertaintyMs: 80 }, 8), ok({ closedAtIdleMs: 1120, uncertaintyMs: 120 }, 9)]
    expect(summarizeIdle([...quiet, ...stalled], 20)).toMatchObject({ estimateMs: 1000.4, resolutionMs: 2.1, observations: 8, discarded: 2 })
    // Too few quiet ones: the quieter half (at least 3) is used, and its median stall is a floor for the resolution.
    expect(summarizeIdle([quiet[0]!, ...stalled], 20)).toMatchObject({ observations: 3, discarded: 0, resolutionMs: 80 })
    expect(summarizeIdle([quiet[0]!, quiet[1]!, ...stalled, ok({ closedAtIdleMs: 1001, uncertaintyMs: 9 }, 10)], 20)).toMatchObject({ observations: 3, discarded: 2, estimateMs: 1000.1, resolutionMs: 2 })
  })

  it('widens the resolution when the closes scatter', () => {
    const closes = [900, 950, 1000, 1050, 1100, 1150]
    const r = summarizeIdle(closes.map((c, i) => ok({ closedAtIdleMs: c }, i)), 20)
    expect(r).toMatchObject({ kind: 'observed-close', estimateMs: 1025, resolutionMs: 125, consistent: false })
  })

  it('brackets a relay that closes only on use between the last answered and the first lost request', () => {
    const r = summarizeIdle([
      ok({ probe: { atIdleMs: 500, outcome: 'answered' } }, 0),
      ok({ probe: { atIdleMs: 990, outcome: 'answered' } }, 1),
      ok({ probe: { atIdleMs: 1010, outcome: 'lost', closeKind: 'fin' } }, 2),
      ok({ probe: { atIdleMs: 2000, outcome: 'timeout' } }, 3),
    ], 20)
    expect(r).toEqual({ kind: 'close-on-use', estimateMs: 1000, resolutionMs: 10, answeredUpToMs: 990, lostFromMs: 1010, consistent: true, probes: 4 })
  })

  it('counts a lost request at its idle time plus this machine\'s stall when the answer before it ended', () => {
    // The loss at 1010 was measured 6 ms short at most: the relay gave the connection up by 1016.
    const r = summarizeIdle([
      ok({ probe: { atIdleMs: 990, outcome: 'answered' }, uncertaintyMs: 30 }, 0),
      ok({ probe: { atIdleMs: 1010, outcome: 'lost', closeKind: 'fin' }, uncertaintyMs: 6 }, 1),
    ], 20)
    expect(r).toMatchObject({ kind: 'close-on-use', answeredUpToMs: 990, lostFromMs: 1016, estimateMs: 1003, resolutionMs: 13 })
  })

  it('says when nothing closed, when the relay refuses keep-alive, and when nothing answered', () => {
    expect(summarizeIdle([ok({ survivedIdleMs: 120_004 }), ok({ probe: { atIdleMs: 60_000, outcome: 'answered' } })], 20)).toEqual({ kind: 'none-seen', atLeastMs: 120_004 })
    expect(summarizeIdle([{ index: 0, warmup: 'no-keep-alive' }], 20)).toEqual({ kind: 'no-keep-alive' })
    expect(summarizeIdle([{ index: 0, warmup: 'failed', warmupError: 'ECONNRESET' }], 20)).toEqual({ kind: 'failed', reason: 'ECONNRESET' })
  })
})

const observed = (estimateMs: number, resolutionMs = 2): IdleResult => ({ kind: 'observed-close', estimateMs, resolutionMs, minObservedMs: estimateMs, maxObservedMs: estimateMs, observations: 10, consistent: true, discarded: 0 })

describe('judgeHeader', () => {
  it('calls a header honest when the relay closes within [N, N + 1) s of it', () => {
    expect(judgeHeader(['timeout=1'], observed(1000), 20)).toMatchObject({ verdict: 'honest', advertisedMs: 1000 })
    expect(judgeHeader(['timeout=0'], observed(300), 20)).toMatchObject({ verdict: 'honest' })
    expect(judgeHeader(['timeout=5, max=100'], observed(5500), 20)).toMatchObject({ verdict: 'honest', advertisedMaxRequests: 100 })
  })

  it('calls it lying when the relay closes earlier (overstates) or much later (understates)', () => {
    expect(judgeHeader(['timeout=60'], observed(1000), 20)).toMatchObject({ verdict: 'lying', direction: 'overstates' })
    expect(judgeHeader(['timeout=5'], observed(30_000), 20)).toMatchObject({ verdict: 'lying', direction: 'understates' })
  })

  it('says absent without a timeout=, and unverified when the close is beyond --max-idle', () => {
    expect(judgeHeader([], observed(1000), 20)).toMatchObject({ verdict: 'absent', header: null })
    expect(judgeHeader(['max=5'], observed(1000), 20)).toMatchObject({ verdict: 'absent', advertisedMaxRequests: 5 })
    expect(judgeHeader(['timeout=300'], { kind: 'none-seen', atLeastMs: 120_000 }, 20)).toMatchObject({ verdict: 'unverified' })
    expect(judgeHeader(['timeout=60'], { kind: 'none-seen', atLeastMs: 120_000 }, 20)).toMatchObject({ verdict: 'lying', direction: 'understates' })
  })
})

describe('classifyCloses', () => {
  it('counts FIN and RST on idle connections, else on lost requests, and silent drops', () => {
    expect(classifyCloses([ok({ closedAtIdleMs: 1, closeKind: 'fin' }), ok({ closedAtIdleMs: 1, closeKind: 'fin' })])).toMatchObject({ kind: 'fin', fin: 2 })
    expect(classifyCloses([ok({ closedAtIdleMs: 1, closeKind: 'rst', unsolicitedBytes: 60 })])).toMatchObject({ kind: 'rst', rst: 1, withUnsolicitedBytes: 1 })
    expect(classifyCloses([ok({ probe: { atIdleMs: 5, outcome: 'lost', closeKind: 'rst' } }), ok({ probe: { atIdleMs: 5, outcome: 'timeout' } })])).toMatchObject({ kind: 'mixed', rst: 1, silent: 1 })
    expect(classifyCloses([ok({ probe: { atIdleMs: 5, outcome: 'timeout' } })])).toMatchObject({ kind: 'silent' })
    expect(classifyCloses([ok({ survivedIdleMs: 5 })])).toMatchObject({ kind: 'none' })
  })
})

const timings = (over: Partial<TimingsResult> = {}): TimingsResult => ({
  samples: 5,
  tcpConnectMs: { min: 0.3, median: 0.4, max: 1 },
  firstRequestMs: { min: 40, median: 41, max: 45 },
  reusedRequestMs: { min: 20, median: 21, max: 23 },
  rttMs: 20,
  reuseMeasured: true,
  freshCostMs: 20.4,
  keepAliveHeaders: [],
  noKeepAlive: false,
  status: 404,
  ...over,
})
const noRace = { kind: 'skipped', reason: '' } as const

describe('recommend', () => {
  it('sets the idle expiry below the measured close by resolution + RTT + max(50 ms, 5 %)', () => {
    expect(safeExpiry(observed(1000), 20)).toMatchObject({ expiryMs: 920, margin: { totalMs: 80, resolutionMs: 2, rttMs: 20, slackMs: 50 } })
    expect(safeExpiry(observed(60_000), 50).expiryMs).toBe(56_940)
    // A close found by lost requests already has the RTT in it.
    expect(safeExpiry({ kind: 'close-on-use', estimateMs: 1000, resolutionMs: 10, answeredUpToMs: 990, lostFromMs: 1010, consistent: true, probes: 9 }, 20).expiryMs).toBe(940)
    // Requests lost further ahead of the close than one RTT widen the margin.
    expect(safeExpiry(observed(1000), 20, { kind: 'observed-close', verdict: 'races', sent: 8, answered: 4, lost: 4, windowMs: 50, furthestLostLeadMs: 35, networkWindowMs: 20 }).expiryMs).toBe(910)
  })

  it('gives undici, aiohttp and qcc-lab settings that ignore a lying header', () => {
    const header = judgeHeader(['timeout=60'], observed(1000), 20)
    const r = recommend({ tls: true, idle: observed(1000), header, race: noRace, timings: timings({ freshCostMs: 43, freshCostResumedMs: 41, tlsResumption: 'resumed' }) })
    expect(r.idleExpiryMs).toBe(920)
    expect(r.undici.options).toEqual({ keepAliveTimeout: 920, keepAliveMaxTimeout: 920, keepAliveTimeoutThreshold: -920, allowH2: false })
    expect(r.aiohttp).toMatchObject({ keepaliveTimeoutS: 0.92, forceClose: false })
    expect(r.qccLab.connector).toEqual({ profile: 'tuned-keepalive', idleTimeoutMs: 920, maxIdleTimeoutMs: 920, honourKeepAliveHint: false })
    expect(r.forceClose).toMatchObject({ neededUndici: false, neededAiohttp: false, costPerRequestMs: 41, costPerFirstSseEventMs: 41, costRtts: 2.1, aiohttpCostPerRequestMs: 43 })
    expect(r.defaults.map((d) => [d.client, d.expiryMs, d.safe])).toEqual([
      ['undici (defaults)', 58_000, false],
      ['aiohttp (default keepalive_timeout=15)', 15_000, false],
      ["qcc's old aiohttp keepalive_timeout=60", 60_000, false],
    ])
  })

  it('asks for force-close when the relay closes too soon after an answer to leave a margin', () => {
    const r = recommend({ tls: false, idle: observed(40), header: judgeHeader(['timeout=60'], observed(40), 20), race: noRace, timings: timings() })
    expect(r.idleExpiryMs).toBeNull()
    expect(r.forceClose).toMatchObject({ neededUndici: true, neededAiohttp: true, costPerRequestMs: 20.4, costRtts: 1 })
    expect(r.qccLab.connector).toBe('force-close')
    expect(r.aiohttp.text).toMatch(/force_close=True/)
  })

  it('caps undici below a silent request cap and asks aiohttp, which has no such limit, for force-close', () => {
    const r = recommend({ tls: false, idle: observed(5000), header: judgeHeader([], observed(5000), 20), race: noRace, timings: timings(), cap: { kind: 'closes-after', cap: 10, tried: 11, closeKind: 'fin', detail: '' } })
    expect(r.undici.options).toMatchObject({ maxRequestsPerClient: 10 })
    expect(r.forceClose).toMatchObject({ neededUndici: false, neededAiohttp: true })
    expect(r.aiohttp.keepaliveTimeoutS).toBeNull()
  })

  it('has nothing to tune when the relay closes every connection itself', () => {
    const r = recommend({ tls: false, idle: { kind: 'no-keep-alive' }, header: judgeHeader([], { kind: 'no-keep-alive' }, 0), race: noRace, timings: timings({ noKeepAlive: true }) })
    expect(r.idleExpiryMs).toBeNull()
    expect(r.forceClose).toMatchObject({ neededUndici: false, neededAiohttp: false })
    expect(clientDefaults(judgeHeader(['timeout=1'], observed(1000), 20), 920, observed(1000))[0]).toMatchObject({ expiryMs: 0, safe: true })
  })
})
