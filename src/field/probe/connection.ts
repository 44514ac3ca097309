/**
 * One raw keep-alive connection to the relay, over node:net (and node:tls on top for HTTPS), so the
 * probe sees what a pooled client connection sees: when each response ended (the start of the idle
 * time), and how and when the relay closed the connection: a FIN (`end`) or a RST (`ECONNRESET`).
 * Every socket is owned by a `SocketRegistry`, which destroys whatever is still open at the end, on an
 * error or on Ctrl-C.
 */
import net from 'node:net'
import tls from 'node:tls'
import { performance } from 'node:perf_hooks'
import { QccLabError } from '../../shared/errors.ts'
import { ResponseParseError, ResponseParser, type ResponseHead } from './response-parser.ts'
import { requestBytes, type ProbeTarget } from './target.ts'

/** Milliseconds on the monotonic clock every probe measurement uses. */
export const now = (): number => performance.now()

/** How the relay ended a connection, as the client saw it first. */
export interface CloseEvent {
  /**
   * `fin`: end of stream (a graceful close); `rst`: ECONNRESET; `error`: another socket error; `local`:
   * the probe closed it itself.
   */
  readonly kind: 'fin' | 'rst' | 'error' | 'local'
  readonly code?: string
  readonly at: number
}

interface Sent {
  /** When the request bytes were handed to the socket. */
  readonly sentAt: number
  /** How long the connection had been idle when the request was written (ms; 0 for the first). */
  readonly idleBeforeMs: number
}

export type Exchange =
  | (Sent & {
      readonly outcome: 'answered'
      readonly headAt: number
      readonly endAt: number
      readonly head: ResponseHead
      /** Whether the response lets the connection carry another request (no `Connection: close`). */
      readonly keepAlive: boolean
    })
  /** Written, then the connection closed before any response byte: the request was lost. */
  | (Sent & { readonly outcome: 'lost'; readonly close: CloseEvent })
  /** Closed in the middle of the response. */
  | (Sent & { readonly outcome: 'cut'; readonly close: CloseEvent })
  /** No answer within the time allowed (a relay or middlebox that drops silently). */
  | (Sent & { readonly outcome: 'timeout' })
  /** The relay had already closed the connection: nothing was written. */
  | { readonly outcome: 'closed-before-send'; readonly close: CloseEvent }
  | (Sent & { readonly outcome: 'protocol-error'; readonly message: string })

/** Owns every socket the probe opens; `closeAll` destroys those still open. */
export class SocketRegistry {
  readonly #open = new Set<net.Socket>()
  #closed = false

  /** Takes ownership of `socket`; false (and the socket destroyed) once the registry closed. */
  add(socket: net.Socket): boolean {
    if (this.#closed) {
      socket.destroy()
      return false
    }
    this.#open.add(socket)
    socket.once('close', () => this.#open.delete(socket))
    return true
  }

  /** Sockets not destroyed yet (a destroyed one leaves the set on its `close` event, a tick later). */
  get size(): number {
    let n = 0
    for (const s of this.#open) if (!s.destroyed) n++
    return n
  }

  closeAll(): void {
    this.#closed = true
    for (const s of this.#open) s.destroy()
    this.#open.clear()
  }
}

/** The relay could not be reached: the probe stops (exit 2) with this message. */
export class ProbeConnectError extends QccLabError {
  constructor(message: string, options?: ErrorOptions) {
    super('PROBE_CONNECT', message, options)
    this.name = 'ProbeConnectError'
  }
}

export interface OpenOptions {
  /** The relay's address, resolved once (so DNS is not part of the connect time). */
  readonly address: string
  readonly timeoutMs: number
  /** A TLS session from an earlier connection: ask the relay to resume it. */
  readonly session?: Buffer
}

let nextId = 1

export class ProbeConnection {
  readonly id = nextId++
  /** TCP connect: SYN to the connection being usable (ms). */
  readonly connectMs: number
  /** TLS handshake after the TCP connect (ms); undefined over plain HTTP. */
  readonly tlsMs: number | undefined
  /** The relay accepted the offered TLS session (an abbreviated handshake). */
  readonly sessionReused: boolean
  /** When the last response ended: the connection's idle time counts from here. undefined before the first. */
  idleSince: number | undefined
  /** Requests written on this connection. */
  requests = 0
  /** Bytes the relay sent while no request was waiting (some servers send a 408 before an idle close). */
  unsolicitedBytes = 0
  #close: CloseEvent | undefined
  #session: Buffer | undefined
  readonly #socket: net.Socket
  readonly #target: ProbeTarget
  readonly #closeWaiters: Array<(e: CloseEvent) => void> = []
  #onData: ((chunk: Buffer) => void) | undefined
  readonly #closed: (e: CloseEvent) => void

  private constructor(socket: net.Socket, target: ProbeTarget, timing: { connectMs: number; tlsMs?: number; sessionReused: boolean }) {
    this.#socket = socket
    this.#target = target
    this.connectMs = timing.connectMs
    this.tlsMs = timing.tlsMs
    this.sessionReused = timing.sessionReused
    socket.on('data', (chunk: Buffer) => {
      if (this.#onData) this.#onData(chunk)
      else this.unsolicitedBytes += chunk.length
    })
    this.#closed = (e: CloseEvent): void => {
      if (this.#close) return
      this.#close = e
      for (const w of this.#closeWaiters.splice(0)) w(e)
    }
    const closed = this.#closed
    socket.on('end', () => closed({ kind: 'fin', at: now() }))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      closed(err.code === 'ECONNRESET' ? { kind: 'rst', code: err.code, at: now() } : { kind: 'error', code: err.code ?? err.message, at: now() })
    })
    socket.on('close', () => closed({ kind: 'fin', at: now() }))
    if (socket instanceof tls.TLSSocket) socket.on('session', (s: Buffer) => { this.#session = s })
  }

  /** Opens a connection and measures TCP connect and TLS handshake times. */
  static open(target: ProbeTarget, registry: SocketRegistry, options: OpenOptions): Promise<ProbeConnection> {
    return new Promise((resolve, reject) => {
      const started = now()
      const raw = net.connect({ host: options.address, port: target.port, noDelay: true })
      if (!registry.add(raw)) {
        reject(new ProbeConnectError(`Failed to connect to ${target.url}: the probe is stopping.`))
        return
      }
      let socket: net.Socket = raw
      let connectedAt: number | undefined
      const timer = setTimeout(() => fail(new ProbeConnectError(`Failed to connect to ${target.url}: no ${connectedAt === undefined ? 'TCP connection' : 'TLS handshake'} within ${options.timeoutMs} ms. Check the URL, or raise --timeout.`)), options.timeoutMs)
      const fail = (err: Error): void => {
        clearTimeout(timer)
        socket.destroy()
        raw.destroy()
        reject(err)
      }
      const onError = (err: NodeJS.ErrnoException): void => {
        const what = err.code === 'ECONNREFUSED' ? 'nothing listens there (ECONNREFUSED)'
          : err.code === 'ERR_TLS_CERT_ALTNAME_INVALID' || err.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || err.code === 'SELF_SIGNED_CERT_IN_CHAIN' || err.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
            ? `its certificate is not trusted (${err.code}); add --insecure only if you know why`
            : `${err.code ?? ''} ${err.message}`.trim()
        fail(new ProbeConnectError(`Failed to connect to ${target.url}: ${what}.`, { cause: err }))
      }
      raw.once('error', onError)
      // Destroyed before it connected (the probe stopping): no error event comes.
      const closedEarly = (): void => fail(new ProbeConnectError(`Failed to connect to ${target.url}: the connection closed before it was set up.`))
      raw.once('close', closedEarly)
      raw.once('connect', () => {
        connectedAt = now()
        if (!target.tls) {
          clearTimeout(timer)
          raw.off('error', onError)
          raw.off('close', closedEarly)
          resolve(new ProbeConnection(raw, target, { connectMs: connectedAt - started, sessionReused: false }))
          return
        }
        raw.off('error', onError)
        const secure = tls.connect({
          socket: raw,
          servername: target.servername,
          rejectUnauthorized: target.rejectUnauthorized,
          session: options.session,
          ALPNProtocols: ['http/1.1'],
        })
        socket = secure
        if (!registry.add(secure)) {
          fail(new ProbeConnectError(`Failed to connect to ${target.url}: the probe is stopping.`))
          return
        }
        secure.once('error', onError)
        secure.once('secureConnect', () => {
          clearTimeout(timer)
          secure.off('error', onError)
          raw.off('close', closedEarly)
          const conn = new ProbeConnection(secure, target, {
            connectMs: connectedAt! - started, tlsMs: now() - connectedAt!, sessionReused: secure.isSessionReused(),
          })
          resolve(conn)
        })
      })
    })
  }

  /** How the relay closed the connection, once it did. */
  get close(): CloseEvent | undefined {
    return this.#close
  }

  /** The latest TLS session the relay offered (TLS 1.3 sends it after the handshake, with the first answer). */
  get session(): Buffer | undefined {
    return this.#session
  }

  /** Idle time so far (ms), or undefined before the first response. */
  idleMs(at = now()): number | undefined {
    return this.idleSince === undefined ? undefined : at - this.idleSince
  }

  /** Resolves when the relay closes the connection (or the probe destroys it). */
  closed(): Promise<CloseEvent> {
    if (this.#close) return Promise.resolve(this.#close)
    return new Promise((resolve) => this.#closeWaiters.push(resolve))
  }

  /** Writes one request and reads its response. One at a time per connection. */
  request(timeoutMs: number): Promise<Exchange> {
    if (this.#onData) throw new Error('ProbeConnection.request: a request is already in flight')
    if (this.#close) return Promise.resolve({ outcome: 'closed-before-send', close: this.#close })
    const sentAt = now()
    const idleBeforeMs = this.idleSince === undefined ? 0 : sentAt - this.idleSince
    this.requests++
    const parser = new ResponseParser()
    return new Promise<Exchange>((resolve) => {
      let head: ResponseHead | undefined
      let headAt = 0
      let received = 0
      let done = false
      const finish = (e: Exchange): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        this.#onData = undefined
        if (e.outcome !== 'answered' || !e.keepAlive) {
          // The connection cannot carry another request; the relay's own close (if any) was recorded.
          if (e.outcome !== 'answered') this.destroy()
        }
        resolve(e)
      }
      const timer = setTimeout(() => finish({ outcome: 'timeout', sentAt, idleBeforeMs }), timeoutMs)
      const handle = (events: ReturnType<ResponseParser['push']>): void => {
        for (const ev of events) {
          if (ev.type === 'head') {
            head = ev.head
            headAt = now()
          } else {
            const endAt = now()
            this.idleSince = endAt
            finish({ outcome: 'answered', sentAt, idleBeforeMs, headAt, endAt, head: head!, keepAlive: ev.keepAlive })
          }
        }
      }
      this.#onData = (chunk) => {
        received += chunk.length
        try {
          handle(parser.push(chunk))
        } catch (err) {
          finish({ outcome: 'protocol-error', sentAt, idleBeforeMs, message: err instanceof ResponseParseError ? err.message : String(err) })
        }
      }
      void this.closed().then((close) => {
        if (done) return
        handle(parser.close())
        if (done) return
        finish(received === 0 ? { outcome: 'lost', sentAt, idleBeforeMs, close } : { outcome: 'cut', sentAt, idleBeforeMs, close })
      })
      this.#socket.write(requestBytes(this.#target))
    })
  }

  /** Closes the connection from the probe's side (recorded as `local`, never as the relay's close). */
  destroy(): void {
    this.#closed({ kind: 'local', at: now() })
    this.#socket.destroy()
  }
}
