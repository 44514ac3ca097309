/**
 * What the probe talks to and what it sends: the relay's base URL and one request shape, used for every
 * exchange. By default the request costs nothing (`GET` of the base path, no key); `count-tokens` is
 * Anthropic's free token counter; a real completion costs money and needs an explicit opt-in.
 */
import net from 'node:net'
import { UsageError } from '../../shared/errors.ts'

export const requestKinds = ['get', 'count-tokens', 'completion'] as const
export type RequestKind = (typeof requestKinds)[number]

export interface ProbeRequest {
  readonly kind: RequestKind
  readonly method: 'GET' | 'POST'
  /** Path and query as sent on the request line. */
  readonly path: string
  /** Extra headers; the key headers are included but never shown (see `describe`). */
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
  /** Shown in the report: method and path, and whether a key was sent (never the key). */
  readonly describe: string
}

export interface ProbeTarget {
  /** The base URL as given, with any credentials removed. */
  readonly url: string
  readonly tls: boolean
  readonly host: string
  readonly port: number
  /** SNI name: the host unless it is an IP address. */
  readonly servername?: string
  /** Verify the certificate (false only with `--insecure`). */
  readonly rejectUnauthorized: boolean
  readonly request: ProbeRequest
}

export interface TargetOptions {
  readonly request?: RequestKind
  /** The API key's value (read from the environment by the caller). */
  readonly apiKey?: string
  readonly allowCompletion?: boolean
  readonly insecure?: boolean
  /** The model named in count-tokens and completion bodies. */
  readonly model?: string
}

const DEFAULT_MODEL = 'claude-haiku-4-5'

/** Parses the base URL and builds the request; every problem is a UsageError that says how to fix it. */
export function resolveTarget(baseUrl: string, options: TargetOptions = {}): ProbeTarget {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    throw new UsageError(`"${baseUrl}" is not a URL; give the relay's base URL, e.g. https://relay.example.com or http://127.0.0.1:9001.`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`"${baseUrl}": only http:// and https:// base URLs can be probed (got ${url.protocol}).`)
  }
  const kind = options.request ?? 'get'
  if (kind === 'completion' && options.allowCompletion !== true) {
    throw new UsageError('--request completion sends real 1-token messages, which cost money on a paid relay; add --allow-completion to confirm, or use --request get / count-tokens (free).')
  }
  if (kind === 'completion' && options.apiKey === undefined) {
    throw new UsageError('--request completion needs an API key: pass --key-env <VAR> naming the environment variable that holds it.')
  }
  const tls = url.protocol === 'https:'
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = url.port === '' ? (tls ? 443 : 80) : Number(url.port)
  const base = url.pathname.replace(/\/+$/, '')
  const keyHeaders: Record<string, string> = options.apiKey === undefined ? {} : {
    'x-api-key': options.apiKey,
    authorization: `Bearer ${options.apiKey}`,
  }
  const model = options.model ?? DEFAULT_MODEL
  const json = (path: string, body: unknown, what: string): ProbeRequest => {
    const text = JSON.stringify(body)
    return {
      kind, method: 'POST', path: `${base}${path}`,
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...keyHeaders },
      body: text,
      describe: `POST ${base}${path} (${what}${options.apiKey === undefined ? ', no key' : ', with the key'})`,
    }
  }
  const request: ProbeRequest = kind === 'get'
    ? {
        kind, method: 'GET', path: `${base === '' ? '/' : base}${url.search}`, headers: { ...keyHeaders },
        describe: `GET ${base === '' ? '/' : base}${url.search} (${options.apiKey === undefined ? 'no key' : 'with the key'})`,
      }
    : kind === 'count-tokens'
      ? json('/v1/messages/count_tokens', { model, messages: [{ role: 'user', content: 'qcc-lab probe' }] }, 'free token count')
      : json('/v1/messages', { model, max_tokens: 1, messages: [{ role: 'user', content: 'qcc-lab probe: reply with one word' }] }, 'a 1-token completion: costs money')
  url.username = ''
  url.password = ''
  return {
    url: url.toString().replace(/\/$/, ''),
    tls,
    host,
    port,
    servername: tls && net.isIP(host) === 0 ? host : undefined,
    rejectUnauthorized: options.insecure !== true,
    request,
  }
}

/** The request's bytes for one exchange on a keep-alive connection. */
export function requestBytes(target: ProbeTarget): Buffer {
  const r = target.request
  const defaultPort = target.tls ? 443 : 80
  const hostHeader = `${target.host.includes(':') ? `[${target.host}]` : target.host}${target.port === defaultPort ? '' : `:${target.port}`}`
  const lines = [`${r.method} ${r.path} HTTP/1.1`, `host: ${hostHeader}`, 'connection: keep-alive', 'accept: */*', 'user-agent: qcc-lab-probe']
  for (const [k, v] of Object.entries(r.headers)) lines.push(`${k}: ${v}`)
  if (r.body !== undefined) lines.push(`content-length: ${Buffer.byteLength(r.body)}`)
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${r.body ?? ''}`, 'utf8')
}
