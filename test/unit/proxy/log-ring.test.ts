/** The proxy log's ring (columns and a byte arena, log.ts): lines come back exactly as logged, oldest first. */
import { describe, expect, it } from 'vitest'
import { ProxyLog, queryLogs } from '../../../src/proxy/log.ts'

function logWith(capacity: number) {
  let t = 1_700_000_000_000
  return new ProxyLog({ proxyId: 'p1', capacity, secrets: ['sk-secret-key-0001'], clock: () => t++ })
}

describe('the proxy log ring', () => {
  it('keeps the last `capacity` lines in order, each as logged', () => {
    const log = logWith(4)
    const messages = [
      'short',
      'x'.repeat(300), // longer than an arena slot
      `${'é'.repeat(120)}`, // 240 bytes: fits a slot
      `${'é'.repeat(130)}`, // 260 bytes: does not
      'lone \ud800 surrogate',
      '',
      'key sk-secret-key-0001 masked',
      '漢字と emoji 🎉',
    ]
    messages.forEach((m, i) => log.log(i % 2 === 0 ? 'INFO' : 'WARNING', `event.${i}`, m))
    const kept = log.records()
    expect(kept.map((r) => r.message)).toEqual(['lone \ud800 surrogate', '', 'key …0001 masked', '漢字と emoji 🎉'])
    expect(kept.map((r) => r.event)).toEqual(['event.4', 'event.5', 'event.6', 'event.7'])
    expect(kept.map((r) => r.level)).toEqual(['INFO', 'WARNING', 'INFO', 'WARNING'])
    expect(kept.map((r) => r.time)).toEqual([4, 5, 6, 7].map((i) => 1_700_000_000_000 + i))
    expect(kept.every((r) => r.proxyId === 'p1' && r.line.endsWith(` - ${r.level} - ${r.event}: ${r.message}`))).toBe(true)
  })

  it('gives back long, non-ASCII and empty messages across many wraps', () => {
    const log = logWith(7)
    const all: string[] = []
    for (let i = 0; i < 100; i++) {
      const m = i % 5 === 0 ? `long ${i} ${'y'.repeat(250 + i)}` : i % 5 === 1 ? `ü ${i} ${'ß'.repeat(i)}` : i % 5 === 2 ? '' : `[req-${i}] POST /v1/messages`
      all.push(m)
      log.debug('e', m)
      expect(log.records().map((r) => r.message)).toEqual(all.slice(-7))
    }
  })

  it('serves /__qcc__/logs from the ring before it is full', () => {
    const log = logWith(5_000)
    log.info('request.start', '[req-1] POST /v1/messages')
    log.error('request.failed', '[req-1] all failed')
    const r = queryLogs(log, new URLSearchParams('level=ERROR'))
    expect(r.status).toBe(200)
    expect((r.body as { logs: string[] }).logs).toHaveLength(1)
    expect((r.body as { logs: string[] }).logs[0]).toMatch(/ - ERROR - request.failed: \[req-1\] all failed$/)
  })
})
