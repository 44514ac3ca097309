/**
 * Declarative expectations, k6-threshold style: `<metric> <op> <number | metric>`, e.g.
 * `attempts.staleSocket >= 1` or `upstream.connections < requests`. Parsing happens once, at scenario
 * load; evaluation is a pure function of a variant's metrics.
 */

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
}

/** Metric paths every variant report has. `failures.<class>` is also accepted for any outcome class. */
export const metricPaths = [
  'requests',
  'ok',
  'failures.total',
  'attempts.total',
  'attempts.staleSocket',
  'attempts.retried',
  'attempts.failed',
  'upstream.connections',
  'upstream.received',
  'upstream.answered',
  'upstream.dropped',
  'upstream.duplicates',
  'upstream.redelivered',
  'upstream.lost',
  'upstream.requestsPerConnection',
  'latencyMs.p50',
  'latencyMs.p90',
  'latencyMs.p99',
  'latencyMs.max',
  'latencyMs.mean',
] as const

const failureClassPath = /^failures\.[a-z0-9][a-z0-9:-]*$/
/** `upstreams.<name>.<field>`: one fake upstream's own counts. */
export const upstreamFields = ['received', 'answered', 'ok', 'dropped', 'connections'] as const
const upstreamPath = new RegExp(`^upstreams\\.[a-z0-9][a-z0-9._-]*\\.(${upstreamFields.join('|')})$`)
/** `stats.<path>`: a number (booleans 1/0, arrays their length) in the proxy's /__qcc__/stats. */
const statsPath = /^stats(\.[A-Za-z0-9_]+)+$/

export function isMetricPath(path: string): boolean {
  return (metricPaths as readonly string[]).includes(path) || failureClassPath.test(path) || upstreamPath.test(path) || statsPath.test(path)
}

/**
 * Does the check read what only the bundled proxy publishes (attempt events and the outcome classes
 * derived from them)? An external proxy in target mode cannot be measured on these.
 */
export function needsProxyEvents(e: Expectation, attemptOutcomes: readonly string[]): boolean {
  const paths = [e.metric, e.operand.kind === 'metric' ? e.operand.path : '']
  return paths.some((p) => p.startsWith('attempts.') || (p.startsWith('failures.') && attemptOutcomes.includes(p.slice('failures.'.length))))
}

const checkPattern = /^\s*([A-Za-z][\w.:-]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$/

/** Parses `metric op operand`; returns a problem sentence instead of throwing. */
export function parseCheck(check: string, name?: string): { ok: true; expectation: Expectation } | { ok: false; problem: string } {
  const m = checkPattern.exec(check)
  if (!m) return { ok: false, problem: `expected "<metric> <op> <number|metric>" with op one of ${comparisonOps.join(' ')}, e.g. "attempts.staleSocket >= 1"; got ${JSON.stringify(check)}` }
  const [, metric, op, rhs] = m as unknown as [string, string, ComparisonOp, string]
  if (!isMetricPath(metric)) return { ok: false, problem: `unknown metric "${metric}"; expected one of ${metricPaths.join(', ')}, failures.<class>, upstreams.<name>.(${upstreamFields.join('|')}) or stats.<field>` }
  let operand: Operand
  const n = Number(rhs)
  if (rhs !== '' && Number.isFinite(n)) operand = { kind: 'number', value: n }
  else if (isMetricPath(rhs)) operand = { kind: 'metric', path: rhs }
  else return { ok: false, problem: `right-hand side "${rhs}" is neither a number nor a known metric` }
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
