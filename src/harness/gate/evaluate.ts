/** Expectations against a variant's metrics: pure. */
import { compare, type Expectation } from './expectation.ts'
import type { ExpectationResult } from '../report/types.ts'

/**
 * Metric lookup. `undefined` = this run cannot tell (a stats path the target does not serve, attempt
 * events of an external proxy): the expectation is reported as not evaluable, never as held.
 */
export type Metrics = (path: string) => number | undefined

/** `whyNot(path)`: why a metric has no value in this run (for the report of a not-evaluable expectation). */
export function evaluate(metrics: Metrics, expectations: readonly Expectation[], whyNot: (path: string) => string = () => 'no value in this run'): ExpectationResult[] {
  return expectations.map((e) => {
    const actual = metrics(e.metric)
    const rhs = e.operand.kind === 'number' ? e.operand.value : metrics(e.operand.path)
    const expected = e.operand.kind === 'number' ? `${e.op} ${rhs}` : `${e.op} ${rhs ?? 'n/a'} (${e.operand.path})`
    const status = actual === undefined || rhs === undefined ? 'n/a' : compare(actual, e.op, rhs) ? 'pass' : 'fail'
    return {
      name: e.name, check: e.check, status, pass: status === 'pass', expected, actual: actual ?? null,
      ...(status === 'n/a' ? { reason: whyNot(actual === undefined ? e.metric : (e.operand as { path: string }).path) } : {}),
      ...(e.implicit ? { implicit: true } : {}),
    }
  })
}

/** A variant's verdict: fail if any expectation failed, n/a if none could be evaluated, else pass. */
export function verdictOf(results: readonly ExpectationResult[]): 'pass' | 'fail' | 'n/a' {
  if (results.some((r) => r.status === 'fail')) return 'fail'
  return results.some((r) => r.status === 'pass') ? 'pass' : 'n/a'
}
