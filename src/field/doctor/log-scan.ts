/**
 * Reduces a proxy log, one line at a time, to a plain summary: counts, the first and last line of each
 * kind of event, what held just before the first `All 0 endpoints failed`, and a timeline. Pure and
 * bounded: nothing grows with the log except counters (sets of endpoint ids and reasons are capped).
 */
import { parseLogLine, type LogDialect, type LogRecord } from './log-line.ts'
import { classifyRecord, staleVariantOf, staleVariants, type LogEvent, type StaleVariant } from './log-rules.ts'
import { TimelineCounter, type Timeline } from './timeline.ts'

/** A line quoted as evidence. */
export interface Occurrence {
  readonly line: number
  readonly time: string
  /** The line as written, cut at 300 characters. */
  readonly text: string
}

export interface Tally {
  readonly count: number
  readonly first: Occurrence
  readonly last: Occurrence
}

export interface ClusterState {
  readonly total: number
  readonly healthy: number
  readonly degraded: number | null
  readonly queued: number | null
  readonly at: Occurrence
}

export interface LogSummary {
  /** Lines read, records among them (lines that start with a timestamp), the rest (tracebacks…). */
  readonly lines: number
  readonly records: number
  readonly continuationLines: number
  readonly dialects: Readonly<Record<LogDialect, number>>
  readonly first: Occurrence | null
  readonly last: Occurrence | null
  /** From the earliest to the latest timestamp (ms). */
  readonly spanMs: number
  /** Proxy starts in the file (qcc appends to one proxy.log across restarts). */
  readonly starts: number
  readonly requests: number
  /** Endpoint id → base URL, as the attempt lines name them. */
  readonly endpoints: Readonly<Record<string, string | null>>
  readonly stale: {
    readonly tally: Tally | null
    readonly byVariant: Readonly<Partial<Record<StaleVariant, number>>>
    /** qcc-lab only: stale requests retried once on a fresh connection. */
    readonly retriedFresh: number
    /** Upstream base URLs named in the error lines. */
    readonly urls: readonly string[]
    readonly endpoints: readonly string[]
  }
  readonly fallbacks: {
    readonly tally: Tally | null
    /** `selection:degraded`, `balancer:any`, … */
    readonly byTier: Readonly<Record<string, number>>
  }
  /** Answers cut after bytes had gone to the client. */
  readonly streamCuts: Tally | null
  readonly balancerNone: Tally | null
  readonly allIsolated: Tally | null
  readonly defaultProfile: Tally | null
  readonly noEndpoint: {
    readonly tally: Tally | null
    /** qcc: the last cluster state line before the first one. */
    readonly stateBefore: ClusterState | null
    readonly balancerNoneBefore: number
    readonly allIsolatedBefore: number
  }
  /** Requests that failed after trying at least one endpoint. */
  readonly requestsFailed: Tally | null
  readonly queue: {
    readonly added: Tally | null
    readonly repeats: number
    readonly recovered: Tally | null
    readonly stillFailing: Tally | null
    /** Entry reasons by class (`HTTP 503`, `stale connection`, `timeout`, `other`). */
    readonly reasons: Readonly<Record<string, number>>
    /** Endpoints in the queue at the end of the log (since its last proxy start). */
    readonly queuedAtEnd: readonly string[]
  }
  readonly clientAnswers: { readonly total: number; readonly byStatus: Readonly<Record<string, number>> }
  readonly states: { readonly last: ClusterState | null; readonly zeroHealthy: Tally | null }
  readonly timeline: Timeline
}

const maxQuote = 300
const maxIds = 64
const maxReasons = 12

/** The class a failure-queue reason falls in. */
export function reasonClass(reason: string): string {
  if (staleVariantOf(reason) !== null) return 'stale connection'
  const status = /HTTP (\d{3})\b/.exec(reason)?.[1]
  if (status) return `HTTP ${status}`
  if (/超时|timeout|timed out/i.test(reason)) return 'timeout'
  return 'other'
}

class TallyBuilder {
  count = 0
  first: Occurrence | null = null
  last: Occurrence | null = null
  add(o: Occurrence): void {
    this.count++
    this.first ??= o
    this.last = o
  }
  done(): Tally | null {
    return this.first && this.last ? { count: this.count, first: this.first, last: this.last } : null
  }
}

/** Adds to a capped set; past the cap new members are dropped (the count elsewhere stays exact). */
function addCapped<T>(set: Set<T>, value: T, cap = maxIds): void {
  if (set.size < cap || set.has(value)) set.add(value)
}

export interface LogScan {
  /** One line without its newline; `line` is 1-based. */
  push(text: string, line: number): void
  finish(): LogSummary
}

export function createLogScan(): LogScan {
  let lines = 0
  let records = 0
  let continuation = 0
  const dialects: Record<LogDialect, number> = { qcc: 0, 'qcc-lab': 0 }
  let first: Occurrence | null = null
  let last: Occurrence | null = null
  let minTime = Infinity
  let maxTime = -Infinity
  let starts = 0
  let requests = 0
  const endpoints = new Map<string, string | null>()
  const stale = new TallyBuilder()
  const byVariant: Partial<Record<StaleVariant, number>> = {}
  let retriedFresh = 0
  const staleUrls = new Set<string>()
  const staleEndpoints = new Set<string>()
  const fallbacks = new TallyBuilder()
  const byTier: Record<string, number> = {}
  const streamCuts = new TallyBuilder()
  const balancerNone = new TallyBuilder()
  const allIsolated = new TallyBuilder()
  const defaultProfile = new TallyBuilder()
  const noEndpoint = new TallyBuilder()
  let stateBefore: ClusterState | null = null
  let balancerNoneBefore = 0
  let allIsolatedBefore = 0
  const requestsFailed = new TallyBuilder()
  const added = new TallyBuilder()
  let repeats = 0
  const recovered = new TallyBuilder()
  const stillFailing = new TallyBuilder()
  const reasons: Record<string, number> = {}
  let queued = new Set<string>()
  const byStatus: Record<string, number> = {}
  let answers = 0
  let lastState: ClusterState | null = null
  const zeroHealthy = new TallyBuilder()
  const timeline = new TimelineCounter()

  const answer = (r: LogRecord, status: number): void => {
    answers++
    byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1
    if (status >= 500) timeline.add(r.timeMs, 'clientErrors')
  }

  const apply = (r: LogRecord, e: LogEvent, at: Occurrence): void => {
    switch (e.kind) {
      case 'proxy-start':
        starts++
        queued = new Set()
        return
      case 'queue-cleared':
        queued = new Set()
        return
      case 'request':
        requests++
        timeline.add(r.timeMs, 'requests')
        return
      case 'attempt':
        if (e.url !== null || !endpoints.has(e.endpoint)) {
          if (endpoints.size < maxIds || endpoints.has(e.endpoint)) endpoints.set(e.endpoint, e.url ?? endpoints.get(e.endpoint) ?? null)
        }
        return
      case 'client-answer':
        answer(r, e.status)
        return
      case 'stale-connection':
        stale.add(at)
        byVariant[e.variant] = (byVariant[e.variant] ?? 0) + 1
        if (e.url !== null) addCapped(staleUrls, originOf(e.url), 8)
        if (e.endpoint !== null) addCapped(staleEndpoints, e.endpoint, 8)
        timeline.add(r.timeMs, 'stale')
        return
      case 'stale-retried':
        retriedFresh++
        return
      case 'stream-cut':
        streamCuts.add(at)
        return
      case 'fallback':
        fallbacks.add(at)
        byTier[`${e.layer}:${e.tier}`] = (byTier[`${e.layer}:${e.tier}`] ?? 0) + 1
        timeline.add(r.timeMs, 'fallback')
        return
      case 'balancer-none':
        balancerNone.add(at)
        return
      case 'all-isolated':
        allIsolated.add(at)
        return
      case 'default-profile-fallback':
        defaultProfile.add(at)
        return
      case 'request-failed':
        if (e.tried === 0) {
          if (noEndpoint.count === 0) {
            stateBefore = lastState
            balancerNoneBefore = balancerNone.count
            allIsolatedBefore = allIsolated.count
          }
          noEndpoint.add(at)
          timeline.add(r.timeMs, 'noEndpoint')
        } else {
          requestsFailed.add(at)
        }
        if (e.status !== null) answer(r, e.status)
        return
      case 'queue-add': {
        added.add(at)
        addCapped(queued, e.endpoint)
        const cls = reasonClass(e.reason)
        const key = cls in reasons || Object.keys(reasons).length < maxReasons ? cls : 'other'
        reasons[key] = (reasons[key] ?? 0) + 1
        timeline.add(r.timeMs, 'queueAdded')
        return
      }
      case 'queue-repeat':
        repeats++
        return
      case 'queue-recovered':
        recovered.add(at)
        queued.delete(e.endpoint)
        timeline.add(r.timeMs, 'recovered')
        return
      case 'queue-still-failing':
        stillFailing.add(at)
        return
      case 'cluster-state':
        lastState = { total: e.total, healthy: e.healthy, degraded: e.degraded, queued: e.queued, at }
        if (e.healthy === 0 && e.total > 0) zeroHealthy.add(at)
        return
    }
  }

  return {
    push(text, line) {
      lines++
      const r = parseLogLine(text, line)
      if (!r) {
        continuation++
        return
      }
      records++
      dialects[r.dialect]++
      const at: Occurrence = { line, time: r.time, text: text.length > maxQuote ? `${text.slice(0, maxQuote)}…` : text }
      first ??= at
      last = at
      if (r.timeMs < minTime) minTime = r.timeMs
      if (r.timeMs > maxTime) maxTime = r.timeMs
      const e = classifyRecord(r)
      if (e) apply(r, e, at)
    },
    finish() {
      return {
        lines,
        records,
        continuationLines: continuation,
        dialects: { ...dialects },
        first,
        last,
        spanMs: records > 0 ? maxTime - minTime : 0,
        starts,
        requests,
        endpoints: Object.fromEntries(endpoints),
        stale: { tally: stale.done(), byVariant: { ...byVariant }, retriedFresh, urls: [...staleUrls], endpoints: [...staleEndpoints] },
        fallbacks: { tally: fallbacks.done(), byTier: { ...byTier } },
        streamCuts: streamCuts.done(),
        balancerNone: balancerNone.done(),
        allIsolated: allIsolated.done(),
        defaultProfile: defaultProfile.done(),
        noEndpoint: { tally: noEndpoint.done(), stateBefore, balancerNoneBefore, allIsolatedBefore },
        requestsFailed: requestsFailed.done(),
        queue: {
          added: added.done(),
          repeats,
          recovered: recovered.done(),
          stillFailing: stillFailing.done(),
          reasons: { ...reasons },
          queuedAtEnd: [...queued],
        },
        clientAnswers: { total: answers, byStatus: { ...byStatus } },
        states: { last: lastState, zeroHealthy: zeroHealthy.done() },
        timeline: timeline.result(),
      }
    },
  }
}

/** `http://host:port/v1/messages` → `http://host:port` (the relay to probe). */
function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

/** The labels of the stale variants a summary saw, most frequent first. */
export function staleBreakdown(byVariant: LogSummary['stale']['byVariant']): Array<{ variant: StaleVariant; count: number; label: string }> {
  return (Object.entries(byVariant) as Array<[StaleVariant, number]>)
    .sort(([, a], [, b]) => b - a)
    .map(([variant, count]) => ({ variant, count, label: staleVariants[variant].label }))
}
