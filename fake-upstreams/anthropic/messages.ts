/**
 * The Anthropic Messages API as msw handlers: `POST /v1/messages` (JSON, or SSE with `"stream": true`),
 * `POST /v1/messages/count_tokens`, and Anthropic-shaped errors. The fake upstream answers real
 * sockets through msw's `getResponse`, so these handlers never see a socket.
 */
import { http, HttpResponse, type RequestHandler } from 'msw'
import { setTimeout as sleep } from 'node:timers/promises'

/** How a fake upstream answers a message. */
export interface MessageBehaviour {
  /** `content_block_delta` events in a stream (and text pieces in a JSON reply). */
  readonly textDeltas: number
  /** Delay before the response head, like a model's time to first token (ms). */
  readonly firstByteDelayMs: number
  /** Delay between two SSE events (ms). */
  readonly eventIntervalMs: number
  /** Answer a verification prompt (qcc's "reply with only this code: XXXXXX") with the code, as a model would. */
  readonly echoVerificationCode: boolean
}

export const defaultMessageBehaviour: MessageBehaviour = {
  textDeltas: 8,
  firstByteDelayMs: 0,
  eventIntervalMs: 0,
  echoVerificationCode: true,
}

/** The 6-character code in a verification prompt (qcc's Chinese one, or an English "verification code: X"). */
export function verificationCodeIn(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined
  const last = messages.at(-1) as { content?: unknown } | undefined
  const text = typeof last?.content === 'string' ? last.content : ''
  return /(?:验证码|verification code)[：:]\s*([A-Z0-9]{6})/i.exec(text)?.[1]
}

interface MessagesRequestBody {
  readonly model?: unknown
  readonly stream?: unknown
  readonly messages?: unknown
}

/** An Anthropic error body: `{"type":"error","error":{"type":…,"message":…}}`. */
export function anthropicError(status: number, type: string, message: string, headers?: Record<string, string>): Response {
  return HttpResponse.json({ type: 'error', error: { type, message } }, { status, headers })
}

const words = ['The', ' relay', ' answered', ' this', ' request', ' through', ' a', ' fake', ' upstream', '.']

function deltaText(i: number): string {
  return words[i % words.length]!
}

/** One SSE frame as Anthropic writes it. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

/** The full event sequence of one streamed message, as frames. */
export function messageEventFrames(id: string, model: string, textDeltas: number): string[] {
  const frames = [
    sseFrame('message_start', {
      type: 'message_start',
      message: {
        id, type: 'message', role: 'assistant', content: [], model,
        stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 },
      },
    }),
    sseFrame('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    sseFrame('ping', { type: 'ping' }),
  ]
  for (let i = 0; i < textDeltas; i++) {
    frames.push(sseFrame('content_block_delta', {
      type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: deltaText(i) },
    }))
  }
  frames.push(
    sseFrame('content_block_stop', { type: 'content_block_stop', index: 0 }),
    sseFrame('message_delta', {
      type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: textDeltas },
    }),
    sseFrame('message_stop', { type: 'message_stop' }),
  )
  return frames
}


function sseStream(frames: readonly string[], intervalMs: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let i = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i >= frames.length) {
        controller.close()
        return
      }
      if (i > 0 && intervalMs > 0) await sleep(intervalMs)
      controller.enqueue(encoder.encode(frames[i++]!))
    },
  })
}

/** The client request a message answers, as qcc-lab's workload tags its text (`qcc-lab request <id>:`). */
export function requestTagIn(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined
  const last = messages.at(-1) as { content?: unknown } | undefined
  return typeof last?.content === 'string' ? /qcc-lab request ([\w.:-]+):/.exec(last.content)?.[1] : undefined
}

/**
 * Handlers for one fake upstream. `nextId` names each message (`msg_<upstream>_<n>`, plus `_<tag>` when the
 * request carries qcc-lab's tag, so a client can prove the answer it got was made for its own request);
 * `behaviour()` is read per request so it can change at run time.
 */
export function messagesHandlers(options: {
  readonly nextId: (tag: string | undefined) => string
  readonly behaviour: () => MessageBehaviour
}): RequestHandler[] {
  return [
    http.post('*/v1/messages/count_tokens', async ({ request }) => {
      const text = await request.text()
      return HttpResponse.json({ input_tokens: Math.max(1, Math.ceil(text.length / 4)) })
    }),
    http.post('*/v1/messages', async ({ request }) => {
      let body: MessagesRequestBody
      try {
        body = (await request.json()) as MessagesRequestBody
      } catch {
        return anthropicError(400, 'invalid_request_error', 'The request body is not valid JSON.')
      }
      if (typeof body !== 'object' || body === null || !Array.isArray(body.messages)) {
        return anthropicError(400, 'invalid_request_error', 'messages: Field required')
      }
      const b = options.behaviour()
      const model = typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5'
      const id = options.nextId(requestTagIn(body.messages))
      if (b.firstByteDelayMs > 0) await sleep(b.firstByteDelayMs)
      if (body.stream === true) {
        return new HttpResponse(sseStream(messageEventFrames(id, model, b.textDeltas), b.eventIntervalMs), {
          status: 200,
          headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': `req_${id}` },
        })
      }
      let text = ''
      for (let i = 0; i < b.textDeltas; i++) text += deltaText(i)
      const code = b.echoVerificationCode ? verificationCodeIn(body.messages) : undefined
      if (code !== undefined) text = code
      return HttpResponse.json(
        {
          id, type: 'message', role: 'assistant', model,
          content: [{ type: 'text', text }],
          stop_reason: 'end_turn', stop_sequence: null,
          usage: { input_tokens: 12, output_tokens: b.textDeltas },
        },
        { headers: { 'request-id': `req_${id}` } },
      )
    }),
  ]
}
