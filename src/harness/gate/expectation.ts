/**
 * Declarative expectations, k6-threshold style: `<metric> <op> <number | metric>`, e.g.
 * `failures.total == 0` or `upstream.connections < requests`. Parsing happens once, at scenario load,
 * and every metric, failure class and stats path is checked there against what a report can hold: a
 * typo is a load error, never a silent 0. Evaluation is a pure function of a variant's metrics.
 */
import { attemptOutcomes } from '../../proxy/outcome.ts'
import { clientFailureClasses } from '../report/failure-class.ts'

export const comparisonOps = ['>=', '<=', '==', '!=', '>', '<'] as const
export type ComparisonOp = (typeof comparisonOps)[number]

export type Operand = { readonly kind: 'number'; readonly value: number } | { readonly kind: 'metric'; readonly path: string }

export interface Expectation {
  readonly name: string
  /** The check as written. */
  readonly check: string
  readonly metric: string
  readonly op: ComparisonOp
  readonly operand: Operand
  /** Added by qcc-lab itself (a contract's traffic check), not written in the scenario. */
  readonly implicit?: boolean
}

const latencyFields = ['p50', 'p90', 'p99', 'max', 'mean'] as const

/** Metric paths every variant report has (`failures.*`, `causes.*`, `upstreams.*`, `stats.*` below). */
export const metricPaths = [
  'requests',
  'ok',
  'delivered',
  'streamed',
  'failures.total',
  'attempts.total',
  'attempts.staleSocket',
  'attempts.retried',
  'attempts.failed',
  'upstream.connections',
  'upstream.received',
  'upstream.ok',
  'upstream.answered',
  'upstream.dropped',
  'upstream.probes',
  'upstream.duplicates',
  'upstream.redelivered',
  'upstream.lost',
  'upstream.requestsPerConnection',
  ...latencyFields.map((f) => `latencyMs.${f}`),
  ...latencyFields.map((f) => `ttfbMs.${f}`),
  ...latencyFields.map((f) => `firstEventMs.${f}`),
] as const

/** `upstreams.<name>.<field>`: one fake upstream's own counts (client traffic; `probes` = the proxy's own calls). */
export const upstreamFields = ['received', 'answered', 'ok', 'dropped', 'probes', 'connections'] as const

/** What only the bundled proxy can tell (its attempt events): not evaluable against an external target. */
export function isBundledOnlyMetric(path: string): boolean {
  return path.startsWith('attempts.') || path.startsWith('causes.')
}

// --- /__qcc__/stats: the paths qcc serves (spec §6.1) and the ones qcc-lab's proxy adds ---------------

export type Shape = 'number' | 'list' | { readonly [key: string]: Shape }
const n = 'number' as const
const healthShape: Shape = { consecutive_failures: n, total_requests: n, failed_requests: n, success_rate: n, avg_response_time: n }
const endpointShape: Shape = {
  priority: n, weight: n, enabled: n, is_healthy: n, health_status: healthShape,
  in_failure_queue: n, attempts: n, stale_retries: n, in_flight: n,
  breaker: { consecutive_failures: n }, pool: { connected: n, free: n, pending: n, running: n },
}
/** `#` = an array index, `*` = any key. A `list` reads as its length. */
export const statsShape: Shape = {
  total_requests: n, successful_requests: n, failed_requests: n, success_rate: n, uptime: n,
  endpoints: { '#': endpointShape }, total_endpoints: n, healthy_endpoints: n, failed_endpoints: 'list',
  failure_queue_size: n, endpoint_verify_counts: { '*': n },
  stale_retries: n, sessions: n, compat: 'list',
  attempts_by_outcome: Object.fromEntries(attemptOutcomes.map((o) => [o, n])),
  failure_queue_stats: { total_failed: n, total_verified: n, total_recovered: n, total_still_failed: n },
}

/** Checks `stats.<a>.<b>…` against the stats shape; a problem sentence, or undefined when known. */
function statsProblem(keys: readonly string[]): string | undefined {
  let shape: Shape = statsShape
  for (const [i, key] of keys.entries()) {
    if (typeof shape === 'string') return `"stats.${keys.slice(0, i).join('.')}" is a ${shape === 'list' ? 'list (it reads as its length)' : 'number'}; it has no field "${key}"`
    const next: Shape | undefined = Object.hasOwn(shape, key) ? shape[key] : /^\d+$/.test(key) && shape['#'] ? shape['#'] : shape['*']
    if (next === undefined) {
      const known = Object.keys(shape).filter((k) => k !== '#' && k !== '*')
      const near = closest(key, known)
      const where = i === 0 ? 'stats' : `stats.${keys.slice(0, i).join('.')}`
      return `unknown stats field "${key}" in ${where}${near ? `; did you mean "${near}"?` : ''} (known: ${shape['#'] ? '<index>' : known.join(', ')})`
    }
    shape = next
  }
  if (typeof shape === 'object') return `"stats.${keys.join('.')}" is not a number; read one of its fields (${Object.keys(shape).filter((k) => k !== '#' && k !== '*').join(', ') || '<index>.…'})`
  return undefined
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]!
}

/** The known word nearest to a typo, when it is near enough to be a likely meaning. */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const k of known) {
    const d = levenshtein(word, k)
    if (d < bestD) { best = k; bestD = d }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined
}

const failureClassHelp = `${clientFailureClasses.join(', ')}, http-<status> or client:<outcome>`

/** Why a metric path cannot be read, or undefined when it can. `upstreams` = the scenario's upstream names. */
export function metricProblem(path: string, upstreams?: ReadonlySet<string>): string | undefined {
  if ((metricPaths as readonly string[]).includes(path)) return undefined
  const [root, ...rest] = path.split('.')
  if (root === 'failures') {
    const cls = rest.join('.')
    if ((clientFailureClasses as readonly string[]).includes(cls) || /^http-[1-5]\d\d$/.test(cls)) return undefined
    if (cls.startsWith('client:') && (attemptOutcomes as readonly string[]).includes(cls.slice('client:'.length))) return undefined
    if ((attemptOutcomes as readonly string[]).includes(cls)) return `"${cls}" is what the proxy met upstream, not what the client saw: write causes.${cls} (bundled proxy only), or a client-visible class (${failureClassHelp})`
    const near = closest(cls, [...clientFailureClasses, ...attemptOutcomes.map((o) => `client:${o}`), ...attemptOutcomes])
    const suggestion = near === undefined ? '' : (attemptOutcomes as readonly string[]).includes(near) ? `; did you mean "causes.${near}" (what the proxy met upstream)?` : `; did you mean "failures.${near}"?`
    return `unknown failure class "${cls}"${suggestion} (client-visible classes: ${failureClassHelp})`
  }
  if (root === 'causes') {
    const cause = rest.join('.')
    if ((attemptOutcomes as readonly string[]).includes(cause) || cause === 'no-endpoint') return undefined
    const near = closest(cause, attemptOutcomes)
    return `unknown cause "${cause}"${near ? `; did you mean "causes.${near}"?` : ''} (causes: ${attemptOutcomes.join(', ')}, no-endpoint)`
  }
  if (root === 'upstreams') {
    const field = rest.at(-1) ?? ''
    const name = rest.slice(0, -1).join('.')
    if (rest.length < 2) return `expected upstreams.<name>.<field> with field one of ${upstreamFields.join(', ')}`
    if (!(upstreamFields as readonly string[]).includes(field)) return `unknown upstream field "${field}"; expected one of ${upstreamFields.join(', ')}`
    if (upstreams && !upstreams.has(name)) return `no upstream named "${name}"; upstreams here: ${[...upstreams].join(', ')}`
    return undefined
  }
  if (root === 'stats') {
    if (rest.length === 0 || rest.some((k) => !/^[A-Za-z0-9_-]+$/.test(k))) return 'expected stats.<field>[.<field>…], e.g. stats.failure_queue_size'
    return statsProblem(rest)
  }
  const near = closest(path, metricPaths)
  return `unknown metric "${path}"${near ? `; did you mean "${near}"?` : ''}; expected one of ${metricPaths.join(', ')}, failures.<class>, causes.<outcome>, upstreams.<name>.(${upstreamFields.join('|')}) or stats.<field>`
}

const checkPattern = /^\s*([A-Za-z][\w.:-]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$/

/** Parses `metric op operand`; returns a problem sentence instead of throwing. */
export function parseCheck(check: string, name?: string, upstreams?: ReadonlySet<string>): { ok: true; expectation: Expectation } | { ok: false; problem: string } {
  const m = checkPattern.exec(check)
  if (!m) return { ok: false, problem: `expected "<metric> <op> <number|metric>" with op one of ${comparisonOps.join(' ')}, e.g. "failures.total == 0"; got ${JSON.stringify(check)}` }
  const [, metric, op, rhs] = m as unknown as [string, string, ComparisonOp, string]
  const problem = metricProblem(metric, upstreams)
  if (problem) return { ok: false, problem }
  let operand: Operand
  const num = Number(rhs)
  if (rhs !== '' && Number.isFinite(num)) operand = { kind: 'number', value: num }
  else if (/^[A-Za-z]/.test(rhs)) {
    const p = metricProblem(rhs, upstreams)
    if (p) return { ok: false, problem: `right-hand side: ${p}` }
    operand = { kind: 'metric', path: rhs }
  } else return { ok: false, problem: `right-hand side "${rhs}" is neither a number nor a metric` }
  return { ok: true, expectation: { name: name ?? check.trim(), check: check.trim(), metric, op, operand } }
}

export function compare(actual: number, op: ComparisonOp, expected: number): boolean {
  switch (op) {
    case '>=': return actual >= expected
    case '<=': return actual <= expected
    case '==': return actual === expected
    case '!=': return actual !== expected
    case '>': return actual > expected
    case '<': return actual < expected
  }
}

/** What every contract checks besides its own expectations: the target really forwarded the traffic. */
export const contractTrafficChecks: readonly Expectation[] = [
  { name: 'traffic reached the upstreams', check: 'upstream.received >= 1', metric: 'upstream.received', op: '>=', operand: { kind: 'number', value: 1 }, implicit: true },
  { name: 'every client success is an upstream\'s answer to that very request', check: 'delivered == ok', metric: 'delivered', op: '==', operand: { kind: 'metric', path: 'ok' }, implicit: true },
  { name: 'no request was processed twice upstream', check: 'upstream.duplicates == 0', metric: 'upstream.duplicates', op: '==', operand: { kind: 'number', value: 0 }, implicit: true },
]
