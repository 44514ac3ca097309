/**
 * Run record → report: pure. Joins what the client saw (samples), what the proxy did (attempt and
 * request events) and what reached the upstreams (ledgers), then evaluates the expectations.
 */
import { summarizeLedger, type LedgerEntry } from '../../../fake-upstreams/index.ts'
import type { AttemptEvent } from '../../proxy/events.ts'
import type { Expectation } from '../gate/expectation.ts'
import { evaluate } from '../gate/evaluate.ts'
import type { VariantRecord } from '../runner/record.ts'
import type { Sample } from '../workload/run-workload.ts'
import { round, summarizeLatency } from './stats.ts'
import type { FailedRequestDiagnosis, VariantReport } from './types.ts'

/** The class of a client-visible failure, or undefined when the request succeeded. */
export function failureClass(sample: Sample, proxyOutcome: string | undefined): string | undefined {
  if (sample.skipped) return 'skipped'
  if (sample.clientError) return `client:${sample.clientError}`
  const status = sample.status ?? 0
  if (status >= 200 && status < 300) {
    if (sample.sseError) return proxyOutcome && proxyOutcome !== 'ok' ? proxyOutcome : 'sse-error'
    if (sample.bodyError) return 'error-body'
    return undefined
  }
  if (proxyOutcome && proxyOutcome !== 'ok') return proxyOutcome
  // qcc's own surface says it: nothing was tried.
  if (status === 502 && /"All 0 endpoints failed"/.test(sample.errorBody ?? '')) return 'no-endpoint'
  return `http-${status}`
}

function explain(requestId: string, failure: string, attempts: readonly AttemptEvent[], entries: readonly LedgerEntry[]): string {
  const parts: string[] = []
  for (const a of attempts) {
    parts.push(`attempt ${a.attempt} → ${a.endpointId}: ${a.outcome}${a.reusedConnection ? ' on a reused connection' : ''}${a.staleRetry ? ' (retry on a fresh connection)' : ''}${a.errorMessage ? ` ("${a.errorMessage}")` : ''}`)
  }
  for (const e of entries) {
    const what = e.outcome === 'dropped' ? `the upstream closed it without answering (fault ${e.fault})` : e.outcome
    parts.push(`upstream read it on connection #${e.connectionId} (request ${e.indexOnConnection + 1} there, idle ${Math.round(e.idleBeforeMs)} ms before): ${what}`)
  }
  if (entries.length === 0) parts.push('it never reached an upstream')
  return `${requestId} failed (${failure}): ${parts.join('; ')}`
}

/** The number at a dotted path: booleans count 1/0, arrays their length, anything else missing 0. */
export function numericAt(root: unknown, keys: readonly string[]): number {
  let v: unknown = root
  for (const key of keys) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined
  if (typeof v === 'number') return v
  if (typeof v === 'boolean') return v ? 1 : 0
  if (Array.isArray(v)) return v.length
  return 0
}

export function summarizeVariant(record: VariantRecord, expectations: readonly Expectation[]): VariantReport {
  const outcomeById = new Map(record.requests.map((r) => [r.requestId, r.outcome]))
  const failures: Record<string, number> = {}
  const failed: Array<{ sample: Sample; failure: string }> = []
  let ok = 0
  for (const s of record.samples) {
    const cls = failureClass(s, outcomeById.get(s.requestId))
    if (cls === undefined) ok++
    else {
      failures[cls] = (failures[cls] ?? 0) + 1
      failed.push({ sample: s, failure: cls })
    }
  }

  const byOutcome: Record<string, number> = {}
  for (const a of record.attempts) byOutcome[a.outcome] = (byOutcome[a.outcome] ?? 0) + 1

  const allEntries = record.upstreams.flatMap((u) => u.entries)
  const ledger = summarizeLedger(allEntries, record.upstreams.reduce((n, u) => n + u.connections.length, 0))
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

  const upstreams: Record<string, { received: number; answered: number; ok: number; dropped: number; connections: number }> = {}
  for (const u of record.upstreams) {
    const s = summarizeLedger(u.entries, u.connections.length)
    const okCount = u.entries.filter((e) => e.outcome === 'answered' && (e.status ?? 0) >= 200 && (e.status ?? 0) < 300).length
    upstreams[u.name] = { received: s.received, answered: s.answered, ok: okCount, dropped: s.dropped, connections: s.connections }
  }
  const base = {
    requests: record.samples.length,
    ok,
    failures,
    attempts,
    upstream,
    upstreams,
    latencyMs,
  }
  const metrics = (path: string): number => {
    if (path === 'failures.total') return failed.length
    if (path.startsWith('failures.')) return failures[path.slice('failures.'.length)] ?? 0
    const [root, ...rest] = path.split('.')
    return numericAt(root === 'stats' ? record.proxyStats : base, root === 'stats' ? rest : [root!, ...rest])
  }
  const results = evaluate(metrics, expectations)

  const diagnosis: FailedRequestDiagnosis[] = failed.slice(0, 5).map(({ sample, failure }) => ({
    requestId: sample.requestId,
    failure,
    explanation: explain(
      sample.requestId,
      failure,
      record.attempts.filter((a) => a.requestId === sample.requestId),
      allEntries.filter((e) => e.requestId === sample.requestId),
    ),
  }))

  return {
    name: record.variant,
    description: record.description,
    connector: record.connector.profile,
    verdict: results.every((r) => r.pass) ? 'pass' : 'fail',
    ...base,
    durationMs: round(record.durationMs, 1),
    proxyStats: record.proxyStats,
    expectations: results,
    diagnosis,
  }
}
