/**
 * An incremental HTTP/1.1 response parser for the probe's raw sockets. The probe needs the exact
 * moment a response ends (that is when the connection's idle time starts) and the framing rules a
 * client uses to decide whether the connection may be reused, so it reads the bytes itself:
 * status line and headers, then a body framed by Content-Length, chunked encoding, or the close.
 * The body is counted, never kept.
 */

/** A response head as read off the wire; header names lower-case, repeated headers joined with `, `. */
export interface ResponseHead {
  readonly status: number
  readonly version: '1.0' | '1.1'
  readonly headers: Readonly<Record<string, string>>
}

export type ParseEvent =
  | { readonly type: 'head'; readonly head: ResponseHead }
  /** The whole response arrived; `keepAlive` says whether the connection may carry another request. */
  | { readonly type: 'end'; readonly bodyBytes: number; readonly keepAlive: boolean }

export class ResponseParseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ResponseParseError'
  }
}

/** A response head larger than this is refused (Node's own limit is 16 KiB). */
const MAX_HEAD_BYTES = 64 * 1024

type State =
  | { readonly kind: 'head' }
  | { readonly kind: 'length'; remaining: number }
  | { readonly kind: 'chunk-size' }
  | { readonly kind: 'chunk-data'; remaining: number }
  | { readonly kind: 'chunk-data-end' }
  | { readonly kind: 'trailers' }
  | { readonly kind: 'until-close' }
  | { readonly kind: 'done' }

/**
 * Parses one response at a time. `push` returns the events the new bytes completed; after `end`,
 * bytes that follow belong to the next response (call `reset` first) and are handed back by `rest()`.
 */
export class ResponseParser {
  #state: State = { kind: 'head' }
  #buffer: Buffer = Buffer.alloc(0)
  #bodyBytes = 0
  #keepAlive = true
  readonly #headRequest: boolean

  constructor(options: { readonly headRequest?: boolean } = {}) {
    this.#headRequest = options.headRequest === true
  }

  /** True once a head was read and the body is still coming. */
  get inBody(): boolean {
    return this.#state.kind !== 'head' && this.#state.kind !== 'done'
  }

  /** Bytes received after the end of the response (a server that sent more than it framed). */
  rest(): Buffer {
    return this.#state.kind === 'done' ? this.#buffer : Buffer.alloc(0)
  }

  push(chunk: Buffer): ParseEvent[] {
    const events: ParseEvent[] = []
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    for (;;) {
      const s = this.#state
      if (s.kind === 'done') return events
      if (s.kind === 'head') {
        const end = this.#buffer.indexOf('\r\n\r\n')
        if (end < 0) {
          if (this.#buffer.length > MAX_HEAD_BYTES) throw new ResponseParseError(`response head larger than ${MAX_HEAD_BYTES} bytes`)
          return events
        }
        const head = parseHead(this.#buffer.subarray(0, end).toString('latin1'))
        this.#buffer = this.#buffer.subarray(end + 4)
        // 1xx answers (100 Continue, 103 Early Hints) precede the real response.
        if (head.status >= 100 && head.status < 200 && head.status !== 101) continue
        events.push({ type: 'head', head })
        this.#keepAlive = keepsAlive(head)
        this.#state = bodyState(head, this.#headRequest)
        if (this.#state.kind === 'until-close') this.#keepAlive = false
        continue
      }
      if (s.kind === 'until-close') {
        this.#bodyBytes += this.#buffer.length
        this.#buffer = Buffer.alloc(0)
        return events
      }
      if (s.kind === 'length') {
        const take = Math.min(s.remaining, this.#buffer.length)
        s.remaining -= take
        this.#bodyBytes += take
        this.#buffer = this.#buffer.subarray(take)
        if (s.remaining > 0) return events
        this.#finish(events)
        continue
      }
      if (s.kind === 'chunk-size' || s.kind === 'trailers' || s.kind === 'chunk-data-end') {
        const eol = this.#buffer.indexOf('\r\n')
        if (eol < 0) {
          if (this.#buffer.length > MAX_HEAD_BYTES) throw new ResponseParseError('chunked body line too long')
          return events
        }
        const line = this.#buffer.subarray(0, eol).toString('latin1')
        this.#buffer = this.#buffer.subarray(eol + 2)
        if (s.kind === 'chunk-data-end') {
          if (line !== '') throw new ResponseParseError('chunk data not followed by CRLF')
          this.#state = { kind: 'chunk-size' }
        } else if (s.kind === 'trailers') {
          if (line === '') this.#finish(events)
        } else {
          const size = /^([0-9a-fA-F]+)\s*(?:;.*)?$/.exec(line)
          if (!size) throw new ResponseParseError(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`)
          const n = Number.parseInt(size[1]!, 16)
          this.#state = n === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', remaining: n }
        }
        continue
      }
      // chunk-data
      const take = Math.min(s.remaining, this.#buffer.length)
      s.remaining -= take
      this.#bodyBytes += take
      this.#buffer = this.#buffer.subarray(take)
      if (s.remaining > 0) return events
      this.#state = { kind: 'chunk-data-end' }
    }
  }

  /** The peer closed: a body framed by the close ends here; any other state is a cut response. */
  close(): ParseEvent[] {
    if (this.#state.kind !== 'until-close') return []
    this.#state = { kind: 'done' }
    return [{ type: 'end', bodyBytes: this.#bodyBytes, keepAlive: false }]
  }

  /** Ready for the next response on the same connection (bytes already received are kept). */
  reset(): ParseEvent[] {
    const rest = this.rest()
    this.#state = { kind: 'head' }
    this.#buffer = Buffer.alloc(0)
    this.#bodyBytes = 0
    this.#keepAlive = true
    return rest.length > 0 ? this.push(rest) : []
  }

  #finish(events: ParseEvent[]): void {
    this.#state = { kind: 'done' }
    events.push({ type: 'end', bodyBytes: this.#bodyBytes, keepAlive: this.#keepAlive })
  }
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n')
  const status = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '')
  if (!status) throw new ResponseParseError(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`)
  const headers: Record<string, string> = Object.create(null) as Record<string, string>
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) throw new ResponseParseError(`bad header line ${JSON.stringify(line.slice(0, 60))}`)
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  return { status: Number(status[2]), version: status[1] === '0' ? '1.0' : '1.1', headers }
}

/** RFC 9112 §9.3: HTTP/1.1 persists unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`. */
function keepsAlive(head: ResponseHead): boolean {
  const tokens = (head.headers.connection ?? '').toLowerCase().split(',').map((t) => t.trim())
  if (tokens.includes('close')) return false
  return head.version === '1.1' || tokens.includes('keep-alive')
}

/** RFC 9112 §6.3: how the body of this response is delimited. */
function bodyState(head: ResponseHead, headRequest: boolean): State {
  if (headRequest || head.status === 204 || head.status === 304 || head.status === 101) return { kind: 'length', remaining: 0 }
  const te = head.headers['transfer-encoding']
  if (te !== undefined) {
    const codings = te.toLowerCase().split(',').map((t) => t.trim())
    return codings.at(-1) === 'chunked' ? { kind: 'chunk-size' } : { kind: 'until-close' }
  }
  const cl = head.headers['content-length']
  if (cl !== undefined) {
    const values = new Set(cl.split(',').map((v) => v.trim()))
    const n = Number([...values][0])
    if (values.size !== 1 || !/^\d+$/.test([...values][0]!) || !Number.isSafeInteger(n)) throw new ResponseParseError(`bad content-length ${JSON.stringify(cl)}`)
    return { kind: 'length', remaining: n }
  }
  return { kind: 'until-close' }
}

/** `Keep-Alive: timeout=5, max=100` → `{ timeoutS: 5, max: 100 }`; absent parameters are undefined. */
export function parseKeepAliveHeader(value: string | undefined): { readonly timeoutS?: number; readonly max?: number } {
  if (value === undefined) return {}
  const timeout = /(?:^|[,;\s])timeout\s*=\s*"?(\d+)"?/i.exec(value)
  const max = /(?:^|[,;\s])max\s*=\s*"?(\d+)"?/i.exec(value)
  return {
    ...(timeout ? { timeoutS: Number(timeout[1]) } : {}),
    ...(max ? { max: Number(max[1]) } : {}),
  }
}
