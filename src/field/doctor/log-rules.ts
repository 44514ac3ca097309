/**
 * What one log line means, decided in ONE ordered table per dialect: the first rule whose `test`
 * passes claims the line, so a line is counted once (a failure-queue line quoting a stale-connection
 * error is a queue entry, not a second stale error; qcc-lab's stale-socket line quoting aiohttp's words
 * is one stale socket). Sources: qcc's messages (spec §2–§6 and the real logs in
 * test/fixtures/doctor/), qcc-lab's event names (src/proxy/*.ts, `log.warn('<event>', …)`).
 */
import type { LogRecord } from './log-line.ts'

/**
 * The words a stale or closing keep-alive connection shows up with, in order (the first that matches
 * names the line). `replay` is the bundled scenario that makes the same words appear.
 */
export const staleVariants = {
  'closing-transport': {
    pattern: /Cannot write to closing transport/i,
    label: 'aiohttp "Cannot write to closing transport"',
    replay: 'closing-transport',
  },
  'cannot-write-body': {
    pattern: /Can not write request body/i,
    label: 'aiohttp "Can not write request body" (its wrapper of "Cannot write to closing transport")',
    replay: 'closing-transport',
  },
  'server-disconnected': {
    pattern: /Server disconnected/i,
    label: '"Server disconnected" (aiohttp ServerDisconnectedError, httpx RemoteProtocolError)',
    replay: 'stale-keepalive',
  },
  'other-side-closed': {
    pattern: /other side closed|UND_ERR_SOCKET|socket hang up/i,
    label: 'undici "other side closed" (UND_ERR_SOCKET)',
    replay: 'stale-keepalive',
  },
  'connection-reset': {
    pattern: /Connection reset by peer|ECONNRESET|\[Errno 104\]/i,
    label: 'connection reset (ECONNRESET)',
    replay: 'stale-keepalive',
  },
  'broken-pipe': {
    pattern: /Broken pipe|EPIPE|\[Errno 32\]/i,
    label: 'broken pipe (EPIPE)',
    replay: 'stale-keepalive',
  },
} as const satisfies Record<string, { pattern: RegExp; label: string; replay: string }>

export type StaleVariant = keyof typeof staleVariants
export const staleVariantNames = Object.keys(staleVariants) as StaleVariant[]

/** The stale-connection variant a text names, if any. */
export function staleVariantOf(text: string): StaleVariant | null {
  for (const name of staleVariantNames) if (staleVariants[name].pattern.test(text)) return name
  return null
}

/**
 * The tier a fallback used. qcc's selection layer (`_get_active_endpoints`) logs degraded / unhealthy /
 * circuit-open; its fixed LoadBalancer logs degraded / any (`极端降级`); qcc-lab logs one layer.
 */
export const fallbackTiers = ['degraded', 'unhealthy', 'circuit-open', 'queued', 'any'] as const
export type FallbackTier = (typeof fallbackTiers)[number]
export type FallbackLayer = 'selection' | 'balancer'

export type LogEvent =
  | { readonly kind: 'proxy-start' }
  | { readonly kind: 'request' }
  | { readonly kind: 'attempt'; readonly endpoint: string; readonly url: string | null }
  /** What the client got (qcc: aiohttp's access log; qcc-lab: request.ok / request.proxy-error). */
  | { readonly kind: 'client-answer'; readonly status: number }
  | { readonly kind: 'stale-connection'; readonly variant: StaleVariant; readonly url: string | null; readonly endpoint: string | null }
  /** qcc-lab's tuned-keepalive retried the stale request once on a fresh connection. */
  | { readonly kind: 'stale-retried' }
  /** An answer cut after bytes went to the client (not a stale connection: nothing can be retried). */
  | { readonly kind: 'stream-cut' }
  | { readonly kind: 'fallback'; readonly layer: FallbackLayer; readonly tier: FallbackTier }
  /** The balancer refused every candidate it was given (the seed's `负载均衡器选择: None`). */
  | { readonly kind: 'balancer-none' }
  /** Nothing to select although the request itself excluded nothing: every endpoint disabled or queued. */
  | { readonly kind: 'all-isolated' }
  | { readonly kind: 'default-profile-fallback' }
  /** Every attempt failed; `tried` 0 is `All 0 endpoints failed`. `status`: what the client got, when logged. */
  | { readonly kind: 'request-failed'; readonly tried: number | null; readonly status: number | null }
  | { readonly kind: 'queue-add'; readonly endpoint: string; readonly reason: string }
  | { readonly kind: 'queue-repeat'; readonly endpoint: string }
  | { readonly kind: 'queue-recovered'; readonly endpoint: string }
  | { readonly kind: 'queue-still-failing'; readonly endpoint: string; readonly reason: string }
  | { readonly kind: 'queue-cleared' }
  /** qcc's per-selection line `集群 'x': 总 T 个 endpoint, 健康 h 个[, 降级 d 个, 失败队列 f 个]`. */
  | { readonly kind: 'cluster-state'; readonly total: number; readonly healthy: number; readonly degraded: number | null; readonly queued: number | null }

export type LogEventKind = LogEvent['kind']

interface LogRule {
  /** What the rule recognises, for readers of this table. */
  readonly name: string
  /** Claims the line (cheap: a substring or the event name). */
  readonly test: (r: LogRecord) => boolean
  /** What the claimed line means; null = claimed, counts nothing. */
  readonly event: (r: LogRecord) => LogEvent | null
}

const num = (s: string | undefined): number | null => (s === undefined ? null : Number(s))
const isProblem = (r: LogRecord): boolean => r.level === 'WARNING' || r.level === 'ERROR' || r.level === 'CRITICAL'
const urlIn = (text: string): string | null => /\b(?:for|URL:) (https?:\/\/[^\s,，]+)/.exec(text)?.[1] ?? null

/** qcc's own words (Chinese), from the oldest aiohttp versions to v0.6.1. */
const qccRules: readonly LogRule[] = [
  { name: 'proxy started', test: (r) => r.message.includes('代理服务器已启动'), event: () => ({ kind: 'proxy-start' }) },
  { name: 'request: `[req-N] POST /v1/messages`', test: (r) => /^\[req-\d+\] [A-Z]+ \/\S*$/.test(r.message), event: () => ({ kind: 'request' }) },
  { name: 'failure queue cleared (at start)', test: (r) => r.message.includes('失败队列已清空'), event: () => ({ kind: 'queue-cleared' }) },
  {
    name: 'failure queue entry: `Endpoint <id> 加入失败队列, 原因: <reason>`',
    test: (r) => r.message.includes('加入失败队列'),
    event: (r) => {
      const m = /Endpoint (\S+) 加入失败队列, 原因: (.*)$/s.exec(r.message)
      return m ? { kind: 'queue-add', endpoint: m[1]!, reason: m[2]! } : null
    },
  },
  {
    name: 'failure queue: already queued (`已在失败队列中`; the reason quoted is the old one)',
    test: (r) => r.message.includes('已在失败队列中'),
    event: (r) => ({ kind: 'queue-repeat', endpoint: /Endpoint (\S+)/.exec(r.message)?.[1] ?? '?' }),
  },
  {
    name: 'verifier: `✅ Endpoint <id> 已恢复健康`',
    test: (r) => r.message.includes('已恢复健康'),
    event: (r) => ({ kind: 'queue-recovered', endpoint: /Endpoint (\S+) 已恢复健康/.exec(r.message)?.[1] ?? '?' }),
  },
  {
    name: 'verifier: `❌ Endpoint <id> 仍然不健康: <reason>`',
    test: (r) => r.message.includes('仍然不健康'),
    event: (r) => {
      const m = /Endpoint (\S+) 仍然不健康: ?(.*)$/s.exec(r.message)
      return { kind: 'queue-still-failing', endpoint: m?.[1] ?? '?', reason: m?.[2] ?? '' }
    },
  },
  {
    name: 'cluster state: `集群 \'x\': 总 T 个 endpoint, 健康 h 个, 降级 d 个, 失败队列 f 个`',
    test: (r) => r.message.includes('个 endpoint, 健康'),
    event: (r) => {
      const m = /总 (\d+) 个 endpoint, 健康 (\d+) 个(?:, 降级 (\d+) 个)?(?:, 失败队列 (\d+) 个)?/.exec(r.message)
      return m ? { kind: 'cluster-state', total: Number(m[1]), healthy: Number(m[2]), degraded: num(m[3]), queued: num(m[4]) } : null
    },
  },
  {
    // Both the balancer (INFO, with `类型: any (极端降级)`) and the server (DEBUG) log the pick: the pick is
    // not a fallback line, whatever its type says; only a None pick counts.
    name: 'balancer pick: `负载均衡器选择: <id|None>`',
    test: (r) => r.message.includes('负载均衡器选择:'),
    event: (r) => (/负载均衡器选择: None\b/.test(r.message) ? { kind: 'balancer-none' } : null),
  },
  {
    name: 'selection fallback: `集群 \'x\': 没有健康 endpoint，降级使用 / 最后尝试 / 强制尝试 …`',
    test: (r) => /^(?:集群|配置) '/.test(r.message) && /降级使用|最后尝试|强制尝试/.test(r.message),
    event: (r) => ({
      kind: 'fallback',
      layer: 'selection',
      tier: r.message.includes('强制尝试') ? 'circuit-open' : r.message.includes('最后尝试') ? 'unhealthy' : 'degraded',
    }),
  },
  {
    name: 'balancer fallback: `降级使用 N 个 degraded endpoint` / `极端降级使用所有 N 个 endpoint`',
    test: (r) => /降级使用|极端降级/.test(r.message),
    event: (r) => ({ kind: 'fallback', layer: 'balancer', tier: r.message.includes('极端降级') ? 'any' : 'degraded' }),
  },
  {
    name: 'default profile fallback: `从默认配置创建临时 endpoint` / `使用默认配置的 endpoint`',
    test: (r) => /从默认配置创建临时 endpoint|使用默认配置的 endpoint/.test(r.message),
    event: () => ({ kind: 'default-profile-fallback' }),
  },
  {
    name: 'request failed: `✗ 尝试了 N 个 endpoint，共 M 次，全部失败`, `All 0 endpoints failed`, `重试 N 次后仍失败`',
    test: (r) => /全部失败|All \d+ endpoints failed|No available endpoints|次后仍失败/.test(r.message),
    event: (r) => {
      const tried = /尝试了 (\d+) 个 endpoint/.exec(r.message)?.[1] ?? /All (\d+) endpoints failed/.exec(r.message)?.[1]
      if (tried !== undefined) return { kind: 'request-failed', tried: Number(tried), status: null }
      return { kind: 'request-failed', tried: r.message.includes('No available endpoints') ? 0 : null, status: null }
    },
  },
  {
    // The proxy's own stats polling is not client traffic.
    name: 'client answer: aiohttp.access `"POST /v1/messages HTTP/1.1" 502 …`',
    test: (r) => r.logger === 'aiohttp.access',
    event: (r) => {
      const m = /"[A-Z]+ (\S+) HTTP\/[\d.]+" (\d{3}) /.exec(r.message)
      return m && !m[1]!.startsWith('/__qcc__') ? { kind: 'client-answer', status: Number(m[2]) } : null
    },
  },
  {
    name: 'attempt: `[req-N] 选中 endpoint: <id> (<url>)` / `尝试 k/5, endpoint: <id> (<url>)`',
    test: (r) => /选中 endpoint: |尝试 \d+\/\d+, endpoint: /.test(r.message),
    event: (r) => {
      const m = /endpoint: (\w+)(?: \((\S+?)\))?$/.exec(r.message.trim())
      return m ? { kind: 'attempt', endpoint: m[1]!, url: m[2] ?? null } : null
    },
  },
  {
    // Before the stale words: a reset during streaming quotes them too, but it is no stale socket.
    name: 'stream cut mid-way: `⚠ 流式传输中断: <error>, endpoint: <id>`',
    test: (r) => r.message.includes('流式传输中断'),
    event: () => ({ kind: 'stream-cut' }),
  },
  {
    // Warnings and errors only: qcc's DEBUG endpoint dumps repeat `last_error` on every request.
    // Not a failed connect (`Cannot connect to host … [Connection reset by peer]`): a new connection is never stale.
    name: 'stale connection: aiohttp / httpx / undici words on a WARNING or ERROR line, not a failed connect',
    test: (r) => isProblem(r) && staleVariantOf(r.message) !== null && !connectFailure.test(r.message),
    event: (r) => ({ kind: 'stale-connection', variant: staleVariantOf(r.message)!, url: urlIn(r.message), endpoint: /endpoint: (\w+)/.exec(r.message)?.[1] ?? null }),
  },
]

/** aiohttp's ClientConnectorError, undici's and Node's connect errors: the connection was never made. */
const connectFailure = /Cannot connect to host|ClientConnectorError|ECONNREFUSED|connect (?:ETIMEDOUT|ECONNRESET|EHOSTUNREACH)|UND_ERR_CONNECT/i

const statusIn = (text: string): number | null => num(/HTTP (\d{3})\b/.exec(text)?.[1] ?? /→ (\d{3})\b/.exec(text)?.[1])

/** qcc-lab's proxy: one rule per event name (src/proxy/log.ts puts it first in every message). */
const qccLabEvents: Readonly<Record<string, (r: LogRecord) => LogEvent | null>> = {
  'proxy.start': () => ({ kind: 'proxy-start' }),
  'request.start': () => ({ kind: 'request' }),
  'request.ok': (r) => ({ kind: 'client-answer', status: statusIn(r.message) ?? 200 }),
  'request.proxy-error': (r) => ({ kind: 'client-answer', status: statusIn(r.message) ?? 502 }),
  'request.failed': (r) => ({ kind: 'request-failed', tried: num(/tried (\d+) endpoint/.exec(r.message)?.[1]), status: statusIn(r.message) }),
  // The label in this line quotes aiohttp's words; the variant comes from undici's code after the dash.
  'upstream.stale-socket': (r) => ({
    kind: 'stale-connection',
    variant: staleVariantOf(r.message.split(' — ').slice(1).join(' — ')) ?? 'other-side-closed',
    url: null,
    endpoint: /\] (\S+?): /.exec(r.message)?.[1] ?? null,
  }),
  'upstream.retry-fresh': () => ({ kind: 'stale-retried' }),
  // The attempt's final result (DEBUG); only a mid-stream cut counts here, a stale socket has its own line.
  'upstream.error': (r) => (/^\[[^\]]+\] \S+: reset-mid-stream\b/.test(r.message) ? { kind: 'stream-cut' } : null),
  'lb.degraded-fallback': () => ({ kind: 'fallback', layer: 'selection', tier: 'degraded' }),
  'lb.unhealthy-fallback': () => ({ kind: 'fallback', layer: 'selection', tier: 'unhealthy' }),
  'lb.panic': (r) => ({ kind: 'fallback', layer: 'selection', tier: /every endpoint is queued/.test(r.message) ? 'queued' : 'circuit-open' }),
  'lb.none': (r) => {
    if (r.message.includes('healthy-only balancer')) return { kind: 'balancer-none' }
    // "…; 0 excluded by this request": nothing was left although this request excluded nothing.
    return /; 0 excluded by this request\)/.test(r.message) ? { kind: 'all-isolated' } : null
  },
  'lb.default-profile-fallback': () => ({ kind: 'default-profile-fallback' }),
  'queue.add': (r) => {
    const m = /endpoint (\S+) isolated in the failure queue: (.*)$/s.exec(r.message)
    return m ? { kind: 'queue-add', endpoint: m[1]!, reason: m[2]! } : null
  },
  'verify.ok': (r) => ({ kind: 'queue-recovered', endpoint: /endpoint (\S+) recovered/.exec(r.message)?.[1] ?? '?' }),
  'verify.fail': (r) => {
    const m = /endpoint (\S+) still failing: (.*)$/s.exec(r.message)
    return { kind: 'queue-still-failing', endpoint: m?.[1] ?? '?', reason: m?.[2] ?? '' }
  },
}

/** The meaning of one record, or null when it counts nothing. */
export function classifyRecord(r: LogRecord): LogEvent | null {
  if (r.dialect === 'qcc-lab') {
    const rule = r.event === null ? undefined : qccLabEvents[r.event]
    return rule ? rule(r) : null
  }
  for (const rule of qccRules) if (rule.test(r)) return rule.event(r)
  return null
}

/** The rule names, for `doctor --help` and tests. */
export const qccRuleNames = qccRules.map((r) => r.name)
export const qccLabEventNames = Object.keys(qccLabEvents)
