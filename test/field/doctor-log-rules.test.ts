/**
 * Reading one line: qcc's and qcc-lab's formats, and which event each line is, counted once. The lines
 * are real: from the two qcc logs, from the seed's own symptom text, and as src/proxy writes them.
 */
import { describe, expect, it } from 'vitest'
import { formatNaiveTime, parseLogLine } from '../../src/field/doctor/log-line.ts'
import { classifyRecord } from '../../src/field/doctor/log-rules.ts'
import { createLogScan } from '../../src/field/doctor/log-scan.ts'

const at = '2026-12-01 08:52:14,947'
const qcc = (logger: string, level: string, message: string): string => `${at} - ${logger} - ${level} - ${message}`
const lab = (level: string, event: string, message: string): string => `${at} - qcc-lab.proxy - ${level} - ${event}: ${message}`
const eventOf = (line: string) => {
  const r = parseLogLine(line, 1)
  if (!r) throw new Error(`not a record: ${line}`)
  return classifyRecord(r)
}

describe('parseLogLine', () => {
  it('reads qcc\'s Python logging format, the logger and level apart from the message', () => {
    const r = parseLogLine(qcc('fastcc.proxy.server', 'ERROR', '[req-110] 请求失败: Server disconnected'), 7)
    expect(r).toMatchObject({ line: 7, time: at, logger: 'fastcc.proxy.server', level: 'ERROR', dialect: 'qcc', event: null, message: '[req-110] 请求失败: Server disconnected' })
    expect(formatNaiveTime(r!.timeMs)).toBe('2026-12-01 08:52:14')
  })

  it('splits qcc-lab\'s event name from its message', () => {
    expect(parseLogLine(lab('WARNING', 'upstream.stale-socket', '[req-2] 21cb1f48: x'), 1)).toMatchObject({ dialect: 'qcc-lab', event: 'upstream.stale-socket', message: '[req-2] 21cb1f48: x' })
  })

  it('takes a CRLF line and refuses a traceback line or an impossible date', () => {
    expect(parseLogLine(`${qcc('httpx', 'INFO', 'x')}\r`, 1)?.message).toBe('x')
    expect(parseLogLine('Traceback (most recent call last):', 1)).toBeNull()
    expect(parseLogLine('  File "fastcc/proxy/server.py", line 1, in x', 1)).toBeNull()
    expect(parseLogLine('2026-13-01 08:52:14,947 - x - INFO - y', 1)).toBeNull()
  })
})

describe('classifyRecord: qcc', () => {
  it('counts aiohttp\'s stale-connection words on an error line, with the relay URL', () => {
    expect(eventOf(qcc('fastcc.proxy.server', 'ERROR', '[req-110] 请求失败: [Errno None] Can not write request body for http://127.0.0.1:19503/v1/messages')))
      .toEqual({ kind: 'stale-connection', variant: 'cannot-write-body', url: 'http://127.0.0.1:19503/v1/messages', endpoint: null })
    expect(eventOf(qcc('fastcc.proxy.server', 'WARNING', '⚠ 检测到暂时性网络错误: Cannot write to closing transport, URL: http://relay/v1/messages, endpoint: 111f4745')))
      .toEqual({ kind: 'stale-connection', variant: 'closing-transport', url: 'http://relay/v1/messages', endpoint: '111f4745' })
    expect(eventOf(qcc('fastcc.proxy.server', 'ERROR', '[req-3] ✗ 错误类型: transient, 推荐操作: 暂时性网络错误，快速重试同一节点, 错误: Server disconnected without sending a response.')))
      .toMatchObject({ kind: 'stale-connection', variant: 'server-disconnected' })
  })

  it('does not count the words again in the DEBUG endpoint dump or the failure-queue lines that quote them', () => {
    expect(eventOf(qcc('fastcc.proxy.server', 'DEBUG', "  Endpoint 9102cf15: enabled=True, healthy=False, status={'status': 'unhealthy', 'last_error': '请求失败: [Errno None] Can not write request body for http://127.0.0.1:19503/v1/messages'}"))).toBeNull()
    expect(eventOf(qcc('fastcc.proxy.failure_queue', 'INFO', 'Endpoint 9102cf15 加入失败队列, 原因: 请求失败: [Errno None] Can not write request body for http://127.0.0.1:19503/v1/messages')))
      .toEqual({ kind: 'queue-add', endpoint: '9102cf15', reason: '请求失败: [Errno None] Can not write request body for http://127.0.0.1:19503/v1/messages' })
    expect(eventOf(qcc('fastcc.proxy.failure_queue', 'DEBUG', 'Endpoint 9102cf15 已在失败队列中（原因: 请求失败: Server disconnected），跳过重复添加'))).toEqual({ kind: 'queue-repeat', endpoint: '9102cf15' })
  })

  it('reads the seed\'s symptom lines: a forced circuit-open fallback, a None pick, then All 0', () => {
    expect(eventOf(qcc('fastcc.proxy.server', 'ERROR', "集群 'test': 所有节点都不可用，强制尝试 1 个断路器打开的 endpoint"))).toEqual({ kind: 'fallback', layer: 'selection', tier: 'circuit-open' })
    expect(eventOf(qcc('fastcc.proxy.server', 'DEBUG', '负载均衡器选择: None'))).toEqual({ kind: 'balancer-none' })
    expect(eventOf(qcc('fastcc.proxy.server', 'ERROR', '[req-8] ✗ 尝试了 0 个 endpoint，共 0 次，全部失败'))).toEqual({ kind: 'request-failed', tried: 0, status: null })
  })

  it('does not call a failed connect a stale connection (a new connection is never stale), reset or not', () => {
    expect(eventOf(qcc('fastcc.proxy.server', 'ERROR', '[req-4] 请求失败: Cannot connect to host 127.0.0.1:19503 ssl:default [Connection reset by peer]'))).toBeNull()
    expect(eventOf(qcc('fastcc.proxy.server', 'ERROR', '[req-5] 请求失败: connect ECONNRESET 127.0.0.1:19503'))).toBeNull()
    // The same reset words on a request that was sent are one.
    expect(eventOf(qcc('fastcc.proxy.server', 'ERROR', '[req-6] 请求失败: [Errno 104] Connection reset by peer'))).toMatchObject({ kind: 'stale-connection', variant: 'connection-reset' })
  })

  it('counts a reset while streaming as a cut stream, not a stale connection', () => {
    expect(eventOf(qcc('fastcc.proxy.server', 'WARNING', '[req-9] ⚠ 流式传输中断: Connection reset by peer, endpoint: 111f4745'))).toEqual({ kind: 'stream-cut' })
    expect(eventOf(lab('DEBUG', 'upstream.error', '[req-9] 21cb1f48: reset-mid-stream: other side closed'))).toEqual({ kind: 'stream-cut' })
  })

  it('tells the selection layer\'s fallbacks from the balancer\'s, and a pick of type "any (极端降级)" from a fallback', () => {
    expect(eventOf(qcc('fastcc.proxy.server', 'WARNING', "集群 'prod': 没有健康 endpoint，降级使用 1 个 degraded endpoint"))).toEqual({ kind: 'fallback', layer: 'selection', tier: 'degraded' })
    expect(eventOf(qcc('fastcc.proxy.server', 'WARNING', "配置 'default': 没有健康/降级 endpoint，最后尝试 2 个 unhealthy endpoint"))).toEqual({ kind: 'fallback', layer: 'selection', tier: 'unhealthy' })
    expect(eventOf(qcc('fastcc.proxy.load_balancer', 'WARNING', '没有健康 endpoints，降级使用 1 个 degraded endpoint'))).toEqual({ kind: 'fallback', layer: 'balancer', tier: 'degraded' })
    expect(eventOf(qcc('fastcc.proxy.load_balancer', 'ERROR', '没有健康/降级 endpoints，极端降级使用所有 2 个 endpoint'))).toEqual({ kind: 'fallback', layer: 'balancer', tier: 'any' })
    expect(eventOf(qcc('fastcc.proxy.load_balancer', 'INFO', '负载均衡器选择: 9102cf15 (策略: priority_failover, 类型: any (极端降级))'))).toBeNull()
  })

  it('reads the cluster state, the verifier, the access log and the default-profile fallback', () => {
    expect(eventOf(qcc('fastcc.proxy.server', 'INFO', "集群 'all-endpoints-failed': 总 2 个 endpoint, 健康 0 个, 降级 0 个, 失败队列 2 个"))).toEqual({ kind: 'cluster-state', total: 2, healthy: 0, degraded: 0, queued: 2 })
    expect(eventOf(qcc('fastcc.proxy.server', 'INFO', "集群 'prod': 总 1 个 endpoint, 健康 1 个"))).toEqual({ kind: 'cluster-state', total: 1, healthy: 1, degraded: null, queued: null })
    expect(eventOf(qcc('fastcc.proxy.failure_queue', 'INFO', '✅ Endpoint abeb15a9 已恢复健康 (660ms, 评分: 90)'))).toEqual({ kind: 'queue-recovered', endpoint: 'abeb15a9' })
    expect(eventOf(qcc('fastcc.proxy.failure_queue', 'WARNING', '❌ Endpoint 1e3e69eb 仍然不健康: HTTP 504'))).toEqual({ kind: 'queue-still-failing', endpoint: '1e3e69eb', reason: 'HTTP 504' })
    expect(eventOf(qcc('aiohttp.access', 'INFO', '127.0.0.1 [01/Dec/2026:08:52:26 +0000] "POST /v1/messages HTTP/1.1" 502 203 "-" "-"'))).toEqual({ kind: 'client-answer', status: 502 })
    expect(eventOf(qcc('aiohttp.access', 'INFO', '127.0.0.1 [01/Dec/2026:08:52:26 +0000] "GET /__qcc__/stats HTTP/1.1" 200 1373 "-" "-"'))).toBeNull()
    expect(eventOf(qcc('fastcc.proxy.server', 'DEBUG', '从默认配置创建临时 endpoint'))).toEqual({ kind: 'default-profile-fallback' })
  })
})

describe('classifyRecord: qcc-lab', () => {
  it('counts a stale socket by its event, with undici\'s words, not the aiohttp label it quotes', () => {
    expect(eventOf(lab('WARNING', 'upstream.stale-socket', '[req-2] 21cb1f48: stale socket (aiohttp: "Cannot write to closing transport") — UND_ERR_SOCKET other side closed')))
      .toEqual({ kind: 'stale-connection', variant: 'other-side-closed', url: null, endpoint: '21cb1f48' })
    expect(eventOf(lab('WARNING', 'upstream.stale-socket', '[req-2] 21cb1f48: stale socket (aiohttp: "Cannot write to closing transport") — ECONNRESET read ECONNRESET'))).toMatchObject({ variant: 'connection-reset' })
    // The final result of the same attempt, at DEBUG: not a second stale socket.
    expect(eventOf(lab('DEBUG', 'upstream.error', '[req-2] 21cb1f48: stale-socket: other side closed'))).toBeNull()
  })

  it('reads All 0, the failed requests\' status and the failure queue', () => {
    expect(eventOf(lab('ERROR', 'request.failed', '[req-2] tried 0 endpoint(s), 0 attempt(s); all failed → 502 All 0 endpoints failed'))).toEqual({ kind: 'request-failed', tried: 0, status: 502 })
    expect(eventOf(lab('WARNING', 'request.failed', '[req-1] tried 1 endpoint(s), 1 attempt(s); returning the last answer (HTTP 503)'))).toEqual({ kind: 'request-failed', tried: 1, status: 503 })
    expect(eventOf(lab('ERROR', 'lb.none', "[req-2] cluster 'x': no endpoint to try (degraded endpoints refused by the healthy-only balancer (lb-healthy-only); 0 excluded by this request)"))).toEqual({ kind: 'balancer-none' })
    expect(eventOf(lab('ERROR', 'lb.none', "[req-2] cluster 'x': no endpoint to try (all 2 excluded, disabled or isolated; 0 excluded by this request)"))).toEqual({ kind: 'all-isolated' })
    expect(eventOf(lab('ERROR', 'lb.none', "[req-2] cluster 'x': no endpoint to try (all 1 excluded, disabled or isolated; 1 excluded by this request)"))).toBeNull()
    expect(eventOf(lab('WARNING', 'queue.add', 'endpoint 5a1f9c3e isolated in the failure queue: HTTP 401: {"type":"error"}'))).toEqual({ kind: 'queue-add', endpoint: '5a1f9c3e', reason: 'HTTP 401: {"type":"error"}' })
    expect(eventOf(lab('INFO', 'verify.ok', 'endpoint 5a1f9c3e recovered (12 ms): code echoed'))).toEqual({ kind: 'queue-recovered', endpoint: '5a1f9c3e' })
  })
})

describe('createLogScan', () => {
  it('keeps the state before the first All 0 and resets the queue at a proxy start', () => {
    const scan = createLogScan()
    const lines = [
      qcc('fastcc.proxy.server', 'INFO', '[OK] 代理服务器已启动: http://127.0.0.1:7860'),
      qcc('fastcc.proxy.failure_queue', 'INFO', 'Endpoint aaaa1111 加入失败队列, 原因: HTTP 503: x'),
      qcc('fastcc.proxy.server', 'INFO', "集群 'c': 总 1 个 endpoint, 健康 0 个, 降级 0 个, 失败队列 1 个"),
      qcc('fastcc.proxy.server', 'ERROR', '[req-2] ✗ 尝试了 0 个 endpoint，共 0 次，全部失败'),
      'Traceback (most recent call last):',
      qcc('fastcc.proxy.server', 'INFO', '[OK] 代理服务器已启动: http://127.0.0.1:7860'),
    ]
    lines.forEach((l, i) => scan.push(l, i + 1))
    const s = scan.finish()
    expect(s.noEndpoint.tally?.count).toBe(1)
    expect(s.noEndpoint.stateBefore).toMatchObject({ total: 1, healthy: 0, queued: 1, at: { line: 3 } })
    expect(s.queue.added?.count).toBe(1)
    expect(s.queue.queuedAtEnd).toEqual([])
    expect(s).toMatchObject({ lines: 6, records: 5, continuationLines: 1, starts: 2 })
  })
})
