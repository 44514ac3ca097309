/**
 * The load generator: undici to the target (the proxy), closed loop with a fixed concurrency, in bursts
 * separated by gaps. Bounded in count (`requests`) and time (`maxDurationMs`, `requestTimeoutMs`).
 * It only counts; summarising is someone else's job.
 */
import { Pool } from 'undici'
import { performance } from 'node:perf_hooks'
import { classifyError } from '../../proxy/outcome.ts'
import { setTimeout as sleep } from 'node:timers/promises'

export interface WorkloadSpec {
  readonly requests: number
  readonly concurrency: number
  readonly stream: boolean
  /** Requests per burst; a gap follows each burst. */
  readonly burst: number
  readonly gapMs: number
  readonly requestTimeoutMs: number
  readonly maxDurationMs: number
}

/** One client request, as the client saw it. */
export interface Sample {
  readonly index: number
  readonly requestId: string
  /** Start, ms since the workload started. */
  readonly startMs: number
  /** Time to the complete response (ms); for failures, time to the failure. */
  readonly latencyMs: number
  /** Time to the response head (ms). */
  readonly ttfbMs?: number
  /** SSE: time to the end of the first complete event frame (ms), what a user waits for the first token. */
  readonly firstEventMs?: number
  /** HTTP status, when a response head arrived. */
  readonly status?: number
  /** Transport failure between client and target, classified. */
  readonly clientError?: string
  readonly clientErrorMessage?: string
  /** SSE: events received, and whether an `event: error` frame arrived. */
  readonly sseEvents?: number
  readonly sseError?: boolean
  /** SSE: the stream carried `message_stop` (false: it ended without it, however cleanly the bytes ended). */
  readonly sseComplete?: boolean
  /** A 2xx JSON answer whose body is an error (`{"type":"error"}` or `{"error":…}`). */
  readonly bodyError?: boolean
  /**
   * A 2xx whose body is no Messages API answer at all: empty, not JSON, JSON without a message, an SSE
   * stream without message_start, or a stream answered as JSON (or the reverse).
   */
  readonly wrongAnswer?: boolean
  /** The message id of a 2xx answer (JSON `id`, or the `message_start` event's). */
  readonly messageId?: string
  /** The first 500 characters of a non-2xx body. */
  readonly errorBody?: string
  /** Not sent because the run's time budget ran out. */
  readonly skipped?: boolean
}

export interface WorkloadOptions {
  /** Prefix of the `x-request-id` of each request; `<prefix>-<n>`. */
  readonly requestIdPrefix: string
  readonly onProgress?: (done: number, total: number) => void
}


/**
 * A Messages API request body. The tag (the request id) is in the text too, so a fake upstream can tell
 * the client's requests from the proxy's own even when a proxy does not forward `x-request-id`.
 */
export function messageBody(tag: number | string, stream: boolean): string {
  return JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 64,
    stream,
    messages: [{ role: 'user', content: `qcc-lab request ${tag}: say something short.` }],
  })
}

export async function runWorkload(spec: WorkloadSpec, target: string, options: WorkloadOptions): Promise<Sample[]> {
  const pool = new Pool(target, {
    allowH2: false,
    connections: spec.concurrency,
    headersTimeout: spec.requestTimeoutMs,
    bodyTimeout: spec.requestTimeoutMs,
  })
  const samples: Sample[] = []
  const t0 = performance.now()
  const deadline = t0 + spec.maxDurationMs
  let done = 0

  const one = async (index: number): Promise<Sample> => {
    const requestId = `${options.requestIdPrefix}-${index}`
    const start = performance.now()
    if (start > deadline) return { index, requestId, startMs: start - t0, latencyMs: 0, skipped: true }
    try {
      const res = await pool.request({
        method: 'POST',
        path: '/v1/messages',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId, 'anthropic-version': '2023-06-01', 'x-api-key': 'proxy-managed' },
        body: messageBody(requestId, spec.stream),
        signal: AbortSignal.timeout(spec.requestTimeoutMs),
      })
      const ttfbMs = performance.now() - start
      const type = String(res.headers['content-type'] ?? '')
      const sse = type.startsWith('text/event-stream')
      let text = ''
      let firstEventMs: number | undefined
      try {
        for await (const chunk of res.body) {
          text += (chunk as Buffer).toString('utf8')
          // The first complete frame: an `event:` line and the blank line that ends its frame.
          if (sse && firstEventMs === undefined && /(^|\n)event: [^\n]*\n(?:[^\n]+\n)*\n/.test(text)) firstEventMs = performance.now() - start
        }
      } catch (err) {
        // The head had arrived: the body was cut. What arrived before the cut still counts as seen.
        const begun = sse ? readAnswer(text, true) : undefined
        return {
          index, requestId, startMs: start - t0, latencyMs: performance.now() - start, ttfbMs, status: res.statusCode,
          ...(firstEventMs !== undefined ? { firstEventMs } : {}),
          ...(sse ? { sseEvents: countEvents(text), sseComplete: false } : {}),
          ...(begun?.messageId !== undefined ? { messageId: begun.messageId } : {}),
          clientError: classifyError(err, { reusedConnection: false, responseStarted: true }),
          clientErrorMessage: (err as Error).message,
        }
      }
      const latencyMs = performance.now() - start
      const ok = res.statusCode >= 200 && res.statusCode < 300
      const answer = ok ? readAnswer(text, sse) : undefined
      return {
        index, requestId, startMs: start - t0, latencyMs, ttfbMs, status: res.statusCode,
        ...(sse ? {
          sseEvents: countEvents(text),
          sseError: /^event: error$/m.test(text),
          sseComplete: /^event: message_stop$/m.test(text),
          ...(firstEventMs !== undefined ? { firstEventMs } : {}),
        } : {}),
        ...(answer?.kind === 'error' ? { bodyError: true } : {}),
        ...(answer !== undefined && (answer.kind === 'other' || sse !== spec.stream) && answer.kind !== 'error' ? { wrongAnswer: true } : {}),
        ...(answer?.messageId !== undefined ? { messageId: answer.messageId } : {}),
        ...(!ok ? { errorBody: text.slice(0, 500) } : {}),
      }
    } catch (err) {
      return {
        index, requestId, startMs: start - t0, latencyMs: performance.now() - start,
        clientError: classifyError(err, { reusedConnection: false, responseStarted: false }),
        clientErrorMessage: (err as Error).message,
      }
    }
  }

  try {
    for (let first = 0; first < spec.requests; first += spec.burst) {
      if (first > 0 && spec.gapMs > 0) await sleep(spec.gapMs)
      const last = Math.min(spec.requests, first + spec.burst)
      let next = first
      const worker = async (): Promise<void> => {
        while (next < last) {
          const sample = await one(next++)
          samples.push(sample)
          options.onProgress?.(++done, spec.requests)
        }
      }
      await Promise.all(Array.from({ length: Math.min(spec.concurrency, last - first) }, worker))
    }
  } finally {
    await pool.close()
  }
  return samples.sort((a, b) => a.index - b.index)
}

/** What a 2xx body is: a message (with its id), an error, or something else. */
function readAnswer(text: string, sse: boolean): { kind: 'message' | 'error' | 'other'; messageId?: string } {
  if (sse) {
    const start = /^event: message_start\ndata: (.*)$/m.exec(text)
    if (!start) return { kind: /^event: error$/m.test(text) ? 'error' : 'other' }
    try {
      const id = (JSON.parse(start[1]!) as { message?: { id?: unknown } }).message?.id
      return { kind: 'message', ...(typeof id === 'string' ? { messageId: id } : {}) }
    } catch {
      return { kind: 'other' }
    }
  }
  if (!text.startsWith('{')) return { kind: 'other' }
  try {
    const body = JSON.parse(text) as { type?: unknown; error?: unknown; id?: unknown }
    if (body.type === 'error' || (body.error !== undefined && body.error !== null)) return { kind: 'error' }
    if (body.type === 'message') return { kind: 'message', ...(typeof body.id === 'string' ? { messageId: body.id } : {}) }
    return { kind: 'other' }
  } catch {
    return { kind: 'other' }
  }
}

function countEvents(text: string): number {
  let n = 0
  for (const line of text.split('\n')) if (line.startsWith('event: ')) n++
  return n
}
