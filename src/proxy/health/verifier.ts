/**
 * Proves queued endpoints back, as qcc's conversational checker does: a real `POST /v1/messages` asking
 * the model to reply with a random 6-character code. Only a 200 JSON answer whose text contains the
 * code is a recovery; a 200 with an error body, or without the code, is not (compat
 * `verifier-accepts-any-200` replays the time when it was).
 */
import { request, type Dispatcher } from 'undici'

export interface VerifyResult {
  readonly recovered: boolean
  readonly status?: number
  readonly durationMs: number
  readonly reason: string
}

export interface VerifyTarget {
  readonly baseUrl: string
  readonly apiKey: string
}

const codeAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

export function verificationCode(random: () => number): string {
  let code = ''
  for (let i = 0; i < 6; i++) code += codeAlphabet[Math.floor(random() * codeAlphabet.length)]
  return code
}

/** qcc's prompt, verbatim: "reply with only this verification code: XXXXXX". */
export function verificationPrompt(code: string): string {
  return `收到消息请仅回复这个验证码：${code}`
}

function replyText(body: unknown): string {
  if (typeof body !== 'object' || body === null) return ''
  const b = body as { content?: Array<{ text?: unknown }>; message?: unknown; text?: unknown }
  const first = Array.isArray(b.content) ? b.content[0]?.text : undefined
  for (const v of [first, b.message, b.text]) if (typeof v === 'string') return v
  return ''
}

export async function verifyEndpoint(
  target: VerifyTarget,
  options: { readonly dispatcher: Dispatcher; readonly model: string; readonly timeoutMs: number; readonly random: () => number; readonly acceptAny200: boolean },
): Promise<VerifyResult> {
  const code = verificationCode(options.random)
  const started = performance.now()
  const took = (): number => Math.round(performance.now() - started)
  try {
    const res = await request(`${target.baseUrl.replace(/\/+$/, '')}/v1/messages`, {
      method: 'POST',
      dispatcher: options.dispatcher,
      headers: {
        'content-type': 'application/json',
        'x-api-key': target.apiKey,
        authorization: `Bearer ${target.apiKey}`,
        'anthropic-version': '2023-06-01',
        'user-agent': 'claude-code/2.0.21',
        'x-app': 'cli',
      },
      body: JSON.stringify({ model: options.model, max_tokens: 20, messages: [{ role: 'user', content: verificationPrompt(code) }] }),
      signal: AbortSignal.timeout(options.timeoutMs),
    })
    const text = await res.body.text()
    if (res.statusCode !== 200) return { recovered: false, status: res.statusCode, durationMs: took(), reason: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` }
    if (options.acceptAny200) return { recovered: true, status: 200, durationMs: took(), reason: 'HTTP 200 (not checked: verifier-accepts-any-200)' }
    if (!String(res.headers['content-type'] ?? '').includes('json')) {
      return { recovered: false, status: 200, durationMs: took(), reason: `not a JSON answer (${String(res.headers['content-type'] ?? 'no content-type')})` }
    }
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return { recovered: false, status: 200, durationMs: took(), reason: 'the 200 body is not valid JSON' }
    }
    if (typeof body === 'object' && body !== null && ('error' in body || (body as { type?: unknown }).type === 'error')) {
      return { recovered: false, status: 200, durationMs: took(), reason: `a 200 with an error body: ${text.slice(0, 200)}` }
    }
    const reply = replyText(body)
    return reply.toUpperCase().includes(code)
      ? { recovered: true, status: 200, durationMs: took(), reason: `code ${code} echoed` }
      : { recovered: false, status: 200, durationMs: took(), reason: `the reply lacks the code ${code}: ${JSON.stringify(reply.slice(0, 80))}` }
  } catch (err) {
    return { recovered: false, durationMs: took(), reason: `request failed: ${(err as Error).message}` }
  }
}
