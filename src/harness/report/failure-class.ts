/**
 * What the client saw, classified: the same classes whichever proxy answered, bundled or external, so
 * an expectation means the same in both modes. What the bundled proxy met upstream (its attempt
 * outcome) is kept apart, as the failure's *cause* (`causes.<outcome>`).
 */
import type { Sample } from '../workload/run-workload.ts'

/** Client-visible failure classes besides `http-<status>` and `client:<outcome>`. */
export const clientFailureClasses = ['total', 'no-endpoint', 'truncated-stream', 'sse-error', 'error-body', 'wrong-answer', 'skipped'] as const

/**
 * Answers that say "no endpoint was tried", as proxies word it: qcc's `502 All 0 endpoints failed`,
 * older qcc's `503 No available endpoints`, and the usual phrasings of other relays.
 */
const noEndpointPatterns: readonly RegExp[] = [
  /All 0 endpoints failed/i,
  /No available endpoints?/i,
  /no (?:healthy|available|usable) (?:endpoints?|upstreams?|backends?|channels?|deployments?)/i,
  /no endpoints? (?:available|left)/i,
]

export function isNoEndpointAnswer(status: number, body: string | undefined): boolean {
  return status >= 500 && body !== undefined && noEndpointPatterns.some((p) => p.test(body))
}

/** The client-visible class of a failed request, or undefined when it succeeded. */
export function failureClass(sample: Sample): string | undefined {
  if (sample.skipped) return 'skipped'
  if (sample.clientError) return `client:${sample.clientError}`
  const status = sample.status ?? 0
  if (status >= 200 && status < 300) {
    if (sample.sseError) return 'sse-error'
    if (sample.bodyError) return 'error-body'
    if (sample.wrongAnswer) return 'wrong-answer'
    if (sample.sseComplete === false) return 'truncated-stream'
    return undefined
  }
  if (isNoEndpointAnswer(status, sample.errorBody)) return 'no-endpoint'
  return `http-${status}`
}
