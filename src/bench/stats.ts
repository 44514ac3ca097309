/** Pure statistics for benchmark rounds: medians, spread, ratios. */
import { round } from '../harness/report/stats.ts'

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/**
 * Run-to-run spread of one figure: (max − min) / median across rounds, as a fraction. 0 for one round
 * or a zero median. A difference between two reports smaller than this is not evidence of anything.
 */
export function relativeSpread(values: readonly number[]): number {
  if (values.length < 2) return 0
  const m = median(values)
  if (m === 0) return 0
  return (Math.max(...values) - Math.min(...values)) / Math.abs(m)
}

export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b
}

/** Three decimals: every figure a bench report stores. */
export const round3 = (v: number): number => round(v, 3)
