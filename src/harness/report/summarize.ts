/**
 * Run record → report: pure. Joins what the client saw (samples), what the proxy did (attempt and
 * request events, bundled proxy only) and what reached the upstreams (ledgers), then evaluates the
 * expectations. What a run cannot tell (attempt events of an external proxy, a stats path it does not
 * serve) is `undefined` here and `n/a` in the report: never a 0 that passes.
 */
import { summarizeLedgers, type LedgerEntry } from '../../../fake-upstreams/index.ts'
import type { AttemptEvent } from '../../proxy/events.ts'
import { contractTrafficChecks, isBundledOnlyMetric, type Expectation } from '../gate/expectation.ts'
import { evaluate, verdictOf } from '../gate/evaluate.ts'
import type { VariantRecord } from '../runner/record.ts'
import type { Sample } from '../workload/run-workload.ts'
import { round, summarizeLatency } from './stats.ts'
import { failureClass } from './failure-class.ts'
import type { FailedRequestDiagnosis, TraceAttempt, TraceEndpoint, TraceRequest, TraceUpstream, VariantReport, VariantTrace } from './types.ts'

type NamedEntry = LedgerEntry & { readonly upstream: string }

function explain(sample: Sample, failure: string, attempts: readonly AttemptEvent[], entries: readonly NamedEntry[], endpointNames: ReadonlyMap<string, string>): string {
  const parts: string[] = []
  for (const a of attempts) {
    const name = endpointNames.get(a.endpointId)
    parts.push(`attempt ${a.attempt} → ${name ? `${name} (${a.endpointId})` : a.endpointId}: ${a.outcome}${a.reusedConnection ? ' on a reused connection' : ''}${a.staleRetry ? ' (retry on a fresh connection)' : ''}${a.errorMessage ? ` ("${a.errorMessage}")` : ''}`)
  }
  for (const e of entries) {
    // A request that arrived after the upstream's own close carries the reason of that close (`fault:<kind>`).
    const dropped = e.fault?.startsWith('fault:') ? `the request crossed its ${e.fault.slice('fault:'.length)} close` : `fault ${e.fault}`
    const what = e.outcome === 'dropped' ? `closed it without answering (${dropped})` : e.outcome === 'answered' ? `answered HTTP ${e.status ?? '?'}` : e.outcome
    parts.push(`${e.upstream} read it on its connection #${e.connectionId} (request ${e.indexOnConnection + 1} there, idle ${Math.round(e.idleBeforeMs)} ms before) and ${what}`)
  }
  if (entries.length === 0) parts.push('it never reached an upstream')
  const said = sample.errorBody ?? sample.clientErrorMessage
  const quote = said ? ` — the client got ${sample.status ? `HTTP ${sample.status} ` : ''}${JSON.stringify(said.slice(0, 300))}` : ''
  return `${sample.requestId} failed (${failure})${quote}: ${parts.join('; ')}`
}

/** The value at a dotted path: numbers as they are, booleans 1/0, arrays their length; else undefined. */
export function numericAt(root: unknown, keys: readonly string[]): number | undefined {
  let v: unknown = root
  for (const key of keys) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined
    v = (v as Record<string, unknown>)[key]
  }
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'boolean') return v ? 1 : 0
  if (Array.isArray(v)) return v.length
  return undefined
}

/** Endpoint id → upstream name, from the proxy's stats (`endpoints[].base_url` = an upstream's URL). */
function endpointNamesOf(stats: unknown, urls: ReadonlyMap<string, string>): Map<string, string> {
  const names = new Map<string, string>()
  const endpoints = (stats as { endpoints?: unknown } | undefined)?.endpoints
  if (!Array.isArray(endpoints)) return names
  for (const e of endpoints as Array<{ id?: unknown; base_url?: unknown }>) {
    if (typeof e.id === 'string' && typeof e.base_url === 'string') {
      const name = urls.get(e.base_url.replace(/\/+$/, ''))
      if (name) names.set(e.id, name)
    }
  }
  return names
}

export function summarizeVariant(record: VariantRecord, expectations: readonly Expectation[]): VariantReport {
  const bundled = record.mode === 'bundled'
  const outcomeById = new Map(record.requests.map((r) => [r.requestId, r.outcome]))
  const failures: Record<string, number> = {}
  const causes: Record<string, number> = {}
  const failed: Array<{ sample: Sample; failure: string }> = []
  const succeeded: Sample[] = []
  for (const s of record.samples) {
    const cls = failureClass(s)
    if (cls === undefined) succeeded.push(s)
    else {
      failures[cls] = (failures[cls] ?? 0) + 1
      failed.push({ sample: s, failure: cls })
      const cause = outcomeById.get(s.requestId)
      if (cause !== undefined && cause !== 'ok') causes[cause] = (causes[cause] ?? 0) + 1
    }
  }

  const byOutcome: Record<string, number> = {}
  for (const a of record.attempts) byOutcome[a.outcome] = (byOutcome[a.outcome] ?? 0) + 1

  const clientIds = new Set(record.samples.map((s) => s.requestId))
  const isClient = (id: string): boolean => clientIds.has(id)
  const ledger = summarizeLedgers(record.upstreams.map((u) => ({ name: u.name, entries: u.entries, connections: u.connections.length })), isClient)
  const allEntries: NamedEntry[] = record.upstreams.flatMap((u) => u.entries.map((e) => ({ ...e, upstream: u.name })))
  const answered = new Set(allEntries.filter((e) => e.outcome === 'answered').map((e) => e.requestId))
  const lost = failed.filter((f) => !f.sample.skipped && !answered.has(f.sample.requestId)).length

  const attempts = {
    total: record.attempts.length,
    staleSocket: byOutcome['stale-socket'] ?? 0,
    retried: record.attempts.filter((a) => a.staleRetry).length,
    failed: record.attempts.filter((a) => a.outcome !== 'ok').length,
    byOutcome,
  }
  const upstream = { ...ledger, lost, requestsPerConnection: round(ledger.requestsPerConnection) }
  const sent = record.samples.filter((s) => !s.skipped)
  const latencyMs = summarizeLatency(sent.map((s) => s.latencyMs))
  const ttfbMs = summarizeLatency(sent.flatMap((s) => (s.ttfbMs === undefined ? [] : [s.ttfbMs])))
  const firstEvents = sent.flatMap((s) => (s.firstEventMs === undefined ? [] : [s.firstEventMs]))
  const firstEventMs = firstEvents.length === 0 ? undefined : summarizeLatency(firstEvents)

  const upstreams: VariantReport['upstreams'] = Object.fromEntries(record.upstreams.map((u) => {
    const s = summarizeLedgers([{ name: u.name, entries: u.entries, connections: u.connections.length }], isClient)
    return [u.name, { received: s.received, answered: s.answered, ok: s.ok, dropped: s.dropped, probes: s.probes, connections: s.connections }]
  }))
  // Proof of forwarding: the fake upstreams name each message after the request it answers.
  const ownAnswer = (s: Sample): boolean => s.messageId?.endsWith(`_${s.requestId}`) === true
  const ok = succeeded.length
  const delivered = succeeded.filter(ownAnswer).length
  // Streams that reached the client as the upstream sent them (its message_start), however they ended.
  const streamed = record.samples.filter((s) => (s.sseEvents ?? 0) >= 1 && ownAnswer(s)).length
  const base = {
    requests: record.samples.length,
    ok,
    delivered,
    streamed,
    failures,
    causes,
    attempts,
    upstream,
    upstreams,
    latencyMs,
    ttfbMs,
    firstEventMs,
  }
  const timed: Record<string, number> = { latencyMs: sent.length, ttfbMs: sent.filter((s) => s.ttfbMs !== undefined).length, firstEventMs: firstEvents.length }
  const whyNot = (path: string): string => {
    if (!bundled && isBundledOnlyMetric(path)) return 'attempt events exist for the bundled proxy only'
    const root = path.split('.')[0]!
    if (root === 'stats') return record.proxyStats === undefined ? 'the proxy did not serve /__qcc__/stats' : `the proxy's /__qcc__/stats has no number at ${path.slice('stats.'.length)}`
    if (timed[root] === 0) return root === 'firstEventMs' ? 'no SSE stream delivered an event' : root === 'ttfbMs' ? 'no request got a response head' : 'no request was sent'
    return 'no value in this run'
  }
  const metrics = (path: string): number | undefined => {
    if (!bundled && isBundledOnlyMetric(path)) return undefined
    const [root, ...rest] = path.split('.') as [string, ...string[]]
    // A percentile of nothing is no number, not 0 (which would pass every "< x").
    if (timed[root] === 0) return undefined
    if (path === 'failures.total') return failed.length
    if (path.startsWith('failures.')) return failures[path.slice('failures.'.length)] ?? 0
    if (path.startsWith('causes.')) return causes[path.slice('causes.'.length)] ?? 0
    if (path.startsWith('upstreams.')) {
      // Names may contain dots: the field is the last segment.
      const rest = path.slice('upstreams.'.length)
      const cut = rest.lastIndexOf('.')
      return numericAt(upstreams, [rest.slice(0, cut), rest.slice(cut + 1)])
    }
    if (root === 'stats') return numericAt(record.proxyStats, rest)
    return numericAt(base, [root, ...rest])
  }
  const results = record.target?.startError !== undefined
    ? [{ name: 'the target started', check: 'target started', status: 'fail' as const, pass: false, expected: 'its port open', actual: null, reason: record.target.startError }]
    : evaluate(metrics, record.contract ? [...contractTrafficChecks, ...expectations] : expectations, whyNot)

  const urls = new Map(record.upstreams.flatMap((u) => (u.url ? [[u.url.replace(/\/+$/, ''), u.name] as const] : [])))
  const endpointNames = endpointNamesOf(record.proxyStats, urls)
  const attemptsById = groupBy(record.attempts, (a) => a.requestId)
  const entriesById = groupBy(allEntries, (e) => e.requestId)
  // Every failed request explained: the first five in `diagnosis`, all of them in the trace.
  const explained: FailedRequestDiagnosis[] = failed.map(({ sample, failure }) => ({
    requestId: sample.requestId,
    failure,
    explanation: explain(sample, failure, attemptsById.get(sample.requestId) ?? [], entriesById.get(sample.requestId) ?? [], endpointNames),
  }))
  const diagnosis = explained.slice(0, 5)

  const texts = new Map<string, number>()
  for (const { sample } of failed) {
    const text = (sample.errorBody ?? sample.clientErrorMessage)?.trim().slice(0, 300)
    if (text) texts.set(text, (texts.get(text) ?? 0) + 1)
  }
  const errorTexts = [...texts].map(([text, count]) => ({ text, count })).sort((a, b) => b.count - a.count || a.text.localeCompare(b.text)).slice(0, 10)

  return {
    name: record.variant,
    description: record.description,
    connector: record.connector?.profile ?? 'n/a',
    contract: record.contract,
    mode: record.mode,
    verdict: verdictOf(results),
    constants: record.constants,
    timeline: { gapMs: record.workload.gapMs, requestTimeoutMs: record.workload.requestTimeoutMs, maxDurationMs: record.workload.maxDurationMs },
    ...base,
    durationMs: round(record.durationMs, 1),
    proxyStats: record.proxyStats,
    expectations: results,
    diagnosis,
    errorTexts,
    ...(record.target ? { target: { ended: record.target.ended, logTail: record.target.logTail } } : {}),
    trace: traceOf(record, {
      failure: new Map(failed.map((f) => [f.sample.requestId, f.failure])),
      cause: outcomeById,
      diagnosis: new Map(explained.map((d) => [d.requestId, d.explanation])),
      isClient,
      endpointNames,
    }),
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const item of items) {
    const k = key(item)
    const list = out.get(k)
    if (list) list.push(item)
    else out.set(k, [item])
  }
  return out
}

/** 0.1 ms: finer than any picture needs, and it keeps `run --all --json` small. */
const ms = (v: number): number => Math.round(v * 10) / 10

/** The record's raw data on one clock (ms since the variant started), for the pictures and for users. */
function traceOf(record: VariantRecord, joined: {
  readonly failure: ReadonlyMap<string, string>
  readonly cause: ReadonlyMap<string, string>
  readonly diagnosis: ReadonlyMap<string, string>
  readonly isClient: (id: string) => boolean
  readonly endpointNames: ReadonlyMap<string, string>
}): VariantTrace {
  const w = record.workloadOriginMs ?? 0
  const requests: TraceRequest[] = record.samples.map((s) => {
    const failure = joined.failure.get(s.requestId)
    const cause = failure === undefined ? undefined : joined.cause.get(s.requestId)
    const diagnosis = joined.diagnosis.get(s.requestId)
    return {
      id: s.requestId,
      startMs: ms(w + s.startMs),
      latencyMs: ms(s.latencyMs),
      ...(s.ttfbMs !== undefined ? { ttfbMs: ms(s.ttfbMs) } : {}),
      ...(s.firstEventMs !== undefined ? { firstEventMs: ms(s.firstEventMs) } : {}),
      ...(s.status !== undefined ? { status: s.status } : {}),
      ...(failure !== undefined ? { failure } : {}),
      ...(cause !== undefined && cause !== 'ok' ? { cause } : {}),
      ...(diagnosis !== undefined ? { diagnosis } : {}),
      ...(s.skipped ? { skipped: true as const } : {}),
    }
  })
  const upstreams: TraceUpstream[] = record.upstreams.map((u) => {
    const o = u.originMs ?? 0
    return {
      name: u.name,
      connections: u.connections.map((c) => ({
        id: c.id,
        openMs: ms(o + c.openedAtMs),
        ...(c.closedAtMs !== undefined ? { closeMs: ms(o + c.closedAtMs) } : {}),
        ...(c.closedBy !== undefined ? { closedBy: c.closedBy } : {}),
        ...(c.serverClose ? { serverClose: { kind: c.serverClose.kind, atMs: ms(o + c.serverClose.atMs) } } : {}),
      })),
      arrivals: u.entries.map((e) => ({
        requestId: e.requestId,
        connectionId: e.connectionId,
        index: e.indexOnConnection,
        idleMs: ms(e.idleBeforeMs),
        atMs: ms(o + e.atMs),
        ...(e.endAtMs !== undefined ? { endMs: ms(o + e.endAtMs) } : {}),
        outcome: e.outcome,
        ...(e.status !== undefined ? { status: e.status } : {}),
        ...(e.fault !== undefined ? { fault: e.fault } : {}),
        ...(joined.isClient(e.requestId) ? {} : { probe: true as const }),
      })),
    }
  })
  const attempts: TraceAttempt[] = record.attempts.map((a) => ({
    requestId: a.requestId,
    attempt: a.attempt,
    endpointId: a.endpointId,
    outcome: a.outcome,
    ...(a.status !== undefined ? { status: a.status } : {}),
    reused: a.reusedConnection,
    staleRetry: a.staleRetry,
    ...(a.atMs !== undefined ? { startMs: ms(a.atMs - a.durationMs), endMs: ms(a.atMs) } : {}),
    durationMs: ms(a.durationMs),
    ...(a.errorMessage ? { error: a.errorMessage.slice(0, 300) } : {}),
  }))
  const states = groupBy(record.endpointStates ?? [], (s) => s.endpointId)
  const ids = [...new Set([...states.keys(), ...record.attempts.map((a) => a.endpointId)])]
  const endpoints: TraceEndpoint[] = ids.map((id) => ({
    id,
    ...(joined.endpointNames.has(id) ? { upstream: joined.endpointNames.get(id)! } : {}),
    states: (states.get(id) ?? []).map((s) => ({ atMs: ms(s.atMs), tier: s.tier, breaker: s.breaker, health: s.health, queued: s.queued })),
  }))
  return { requests, upstreams, attempts, endpoints }
}
