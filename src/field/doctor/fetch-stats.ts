/**
 * Fetches `/__qcc__/stats` once, within a timeout, on its own connection pool (closed afterwards, so
 * nothing keeps the process alive). Unreachable, slow, not HTTP 200, not JSON, too large: a UsageError
 * (exit 2) that says which and what to check.
 */
import { Agent, request } from 'undici'
import { UsageError } from '../../shared/errors.ts'
import { readStats, type StatsSnapshot } from './stats.ts'

/** A stats answer is a few KiB per endpoint. */
const maxBodyBytes = 8 * 1024 * 1024

const example = 'e.g. --stats http://127.0.0.1:7860 (qcc\'s default address)'

/** The stats URL: a base URL gets `/__qcc__/stats`; another path is used as given. */
export function statsUrl(input: string): URL {
  // `127.0.0.1:7860` or `localhost:7860` (which URL reads as the scheme "localhost:"): no scheme given.
  if (/^[\w.-]+:\d+(?:\/.*)?$/.test(input)) throw new UsageError(`--stats ${input}: no http:// or https://. Did you mean http://${input}?`)
  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw new UsageError(`--stats ${input}: not a URL. Give the proxy's address, ${example}.`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--stats ${input}: ${url.protocol} is not http: or https:. Give the proxy's address, ${example}.`)
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/__qcc__/stats'
  return url
}

function codeOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    if ((e as { name?: unknown }).name === 'TimeoutError' || (e as { name?: unknown }).name === 'AbortError') return 'TIMEOUT'
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

function unreachable(url: string, err: unknown, timeoutMs: number): UsageError {
  const code = codeOf(err)
  const running = 'Is the proxy running there? (`qcc proxy status`, `qcc-lab proxy status`)'
  const why = code === 'ECONNREFUSED' ? `connection refused: nothing listens there. ${running}`
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'the host name does not resolve. Check the host.'
    : code === 'TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT'
      ? `no answer within ${timeoutMs} ms. ${running} A busy proxy may need a longer --timeout.`
    : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || code === 'HPE_INVALID_CONSTANT'
      ? 'the connection closed without an HTTP answer. Is it an HTTP server (http:// for a plain port, https:// for TLS)?'
    : code !== undefined && /CERT|TLS|SSL/.test(code) ? `TLS failed (${code}): ${(err as Error).message}.`
    : `${(err as Error).message}${code ? ` (${code})` : ''}.`
  return new UsageError(`--stats ${url}: cannot read the stats: ${why}`)
}

export async function fetchStats(input: string, timeoutMs: number): Promise<StatsSnapshot> {
  const url = statsUrl(input).href
  const agent = new Agent({ connections: 1, connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
  try {
    let status: number
    let contentType: string
    const chunks: Buffer[] = []
    try {
      const res = await request(url, { dispatcher: agent, method: 'GET', headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) })
      status = res.statusCode
      contentType = String(res.headers['content-type'] ?? 'none')
      let total = 0
      for await (const chunk of res.body) {
        total += (chunk as Buffer).length
        if (total > maxBodyBytes) {
          res.body.destroy()
          throw new UsageError(`--stats ${url}: the answer is larger than ${maxBodyBytes / 1024 / 1024} MiB; that is not qcc's stats. Point --stats at a qcc proxy, ${example}.`)
        }
        chunks.push(chunk as Buffer)
      }
    } catch (err) {
      if (err instanceof UsageError) throw err
      throw unreachable(url, err, timeoutMs)
    }
    const text = Buffer.concat(chunks).toString('utf8')
    if (status !== 200) {
      const hint = status === 404 ? ' Is this a qcc proxy? qcc serves /__qcc__/stats (give its base URL, e.g. http://127.0.0.1:7860).' : ''
      throw new UsageError(`--stats ${url}: answered HTTP ${status}${text ? `: ${text.slice(0, 120).replace(/\s+/g, ' ')}` : ''}.${hint}`)
    }
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw new UsageError(`--stats ${url}: the answer is not JSON (content-type ${contentType}; it starts with ${JSON.stringify(text.slice(0, 60))}). Point --stats at a qcc proxy, ${example}.`)
    }
    return readStats(url, body)
  } finally {
    await agent.destroy()
  }
}
