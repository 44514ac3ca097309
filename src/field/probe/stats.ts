/** Small pure statistics for the probe's observations. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** P(X <= k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(k: number, n: number): number {
  let term = 0.5 ** n
  let sum = term
  for (let i = 1; i <= k; i++) {
    term = (term * (n - i + 1)) / i
    sum += term
  }
  return sum
}

/**
 * A distribution-free interval for the median: the order statistics `[x(k), x(n-k+1)]` that contain the
 * median of the distribution the values came from with at least `confidence` (sign-test interval).
 * With too few values for that confidence, the full range.
 */
export function medianInterval(values: readonly number[], confidence = 0.95): { readonly low: number; readonly high: number } {
  const s = [...values].sort((a, b) => a - b)
  if (s.length === 0) return { low: Number.NaN, high: Number.NaN }
  let k = 1
  // The largest k whose interval still covers the median with the asked confidence.
  while (k + 1 <= Math.floor(s.length / 2) && 1 - 2 * binomialHalfCdf(k, s.length) >= confidence) k++
  return { low: s[k - 1]!, high: s[s.length - k]! }
}

export const round1 = (v: number): number => Math.round(v * 10) / 10
/** Up to the next 0.1 (a bound stays a bound); a hair of float noise does not push it a step higher. */
export const ceil1 = (v: number): number => Math.ceil(v * 10 - 1e-9) / 10
