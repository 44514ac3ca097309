import { z } from 'zod'
import { defineFault } from './types.ts'

/**
 * Answers with an Anthropic-shaped error instead of the normal reply: 5xx, 529 overloaded, 429 with
 * `retry-after`, 401 for a revoked key — or a 200 whose body is an error (a relay that wraps failures).
 * Combine with the wrapper's schedule (`fromRequest`, `untilRequest`, `cycle`) and `probability`.
 */
export const errorResponse = defineFault({
  kind: 'error-response',
  summary: 'answer with an Anthropic error (5xx, 529, 429 + retry-after, 401, or a 200 with an error body)',
  params: z.object({
    status: z.number().int().min(200).max(599),
    /** Anthropic error type; default from the status (e.g. 529 → overloaded_error). */
    errorType: z.string().min(1).optional(),
    message: z.string().optional(),
    /** Sends `retry-after: <seconds>`. */
    retryAfterS: z.number().int().nonnegative().optional(),
  }),
  create: ({ status, errorType, message, retryAfterS }) => {
    const type = errorType ?? defaultType(status)
    const body = JSON.stringify({ type: 'error', error: { type, message: message ?? type.replace(/_/g, ' ') } })
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (retryAfterS !== undefined) headers['retry-after'] = String(retryAfterS)
    return {
      onRequest(_conn, _request, reply) {
        reply.respond(status, headers, body)
        return true
      },
    }
  },
})

function defaultType(status: number): string {
  switch (status) {
    case 400: return 'invalid_request_error'
    case 401: return 'authentication_error'
    case 403: return 'permission_error'
    case 404: return 'not_found_error'
    case 413: return 'request_too_large'
    case 429: return 'rate_limit_error'
    case 529: return 'overloaded_error'
    default: return 'api_error'
  }
}
