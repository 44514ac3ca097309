/** Expectations against a variant's metrics: pure. */
import { compare, type Expectation } from './expectation.ts'
import type { ExpectationResult } from '../report/types.ts'

/** Flat metric lookup; `failures.<class>` not present reads as 0. */
export type Metrics = (path: string) => number

export function evaluate(metrics: Metrics, expectations: readonly Expectation[]): ExpectationResult[] {
  return expectations.map((e) => {
    const actual = metrics(e.metric)
    const rhs = e.operand.kind === 'number' ? e.operand.value : metrics(e.operand.path)
    const expected = e.operand.kind === 'number' ? `${e.op} ${rhs}` : `${e.op} ${rhs} (${e.operand.path})`
    return { name: e.name, check: e.check, pass: compare(actual, e.op, rhs), expected, actual }
  })
}
