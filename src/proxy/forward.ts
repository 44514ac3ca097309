/**
 * One proxy→upstream attempt. The client's response is *committed* (head sent, body streamed chunk by
 * chunk with back-pressure) only when the upstream answers 2xx; any other answer is buffered so the
 * attempt loop can try another endpoint and still return it if nothing better comes. So no attempt ever
 * writes a second response onto a stream that already started (qcc's double-response bug, spec §2.5).
 */
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Dispatcher } from 'undici'
import { classifyError, classifyStatus, errorCode, type AttemptOutcome } from './outcome.ts'
import { failedOnReusedSocket } from './connector/socket-reuse.ts'

export interface UpstreamRequest {
  readonly method: string
  /** Path on the upstream origin, query string included. */
  readonly path: string
  readonly headers: Record<string, string>
  readonly body: Buffer | null
}

/** A non-2xx upstream answer, kept whole so it can be returned to the client later. */
export interface BufferedAnswer {
  readonly status: number
  readonly headers: Record<string, string | string[]>
  readonly body: Buffer
}

export interface AttemptResult {
  readonly outcome: AttemptOutcome
  readonly status?: number
  readonly reusedConnection: boolean
  /** The client's response was started by this attempt (2xx, or a failure after the head went out). */
  readonly committed: boolean
  readonly answer?: BufferedAnswer
  readonly errorCode?: string
  readonly errorMessage?: string
  readonly durationMs: number
}

/** Most a buffered error answer may hold; larger bodies are cut (error bodies are small). */
const MAX_BUFFERED_ANSWER = 1 << 20

/** Hop-by-hop headers (RFC 9110 §7.6.1), never passed on in either direction. */
export const hopByHopHeaders: readonly string[] = [
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]
const hopByHop = new Set(hopByHopHeaders)

/** Response headers to pass to the client, from undici's raw header list. */
export function clientResponseHeaders(raw: ReadonlyArray<Buffer | string> | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  if (!raw) return out
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString().toLowerCase()
    if (hopByHop.has(name)) continue
    const value = raw[i + 1]!.toString()
    const prev = out[name]
    if (prev === undefined) out[name] = value
    else if (Array.isArray(prev)) prev.push(value)
    else out[name] = [prev, value]
  }
  return out
}

/** Writes a whole buffered answer; its length is the body's, whatever the upstream's header said. */
export function sendAnswer(res: ServerResponse, answer: BufferedAnswer): void {
  res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length })
  res.end(answer.body)
}

function uncork(socket: Socket): void {
  socket.uncork()
}

function sseErrorFrame(message: string): string {
  return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message } })}\n\n`
}

/**
 * Sends `request` through `dispatcher` and settles with the classified outcome; never rejects.
 * `clientGone` reports whether the client already disconnected.
 */
export interface ForwardOptions {
  /** Read the whole 2xx body before sending anything (compat `buffered-streaming`). */
  readonly bufferBody?: boolean
  /** On a mid-stream failure, cut the client's stream without an SSE error event (compat `midstream-silent-cut`). */
  readonly silentCut?: boolean
  /**
   * Aborted when the proxy stops for good (its drain deadline passed): the attempt ends as `proxy-error`,
   * and a stream already under way gets an SSE `event: error` before its end rather than a silent cut.
   */
  readonly shutdown?: AbortSignal
}

/** The error an attempt is aborted with when the proxy shuts down. */
function shutdownError(): Error {
  return Object.assign(new Error('The proxy is shutting down.'), { code: 'QCC_LAB_SHUTDOWN' })
}

/** An attempt waiting on a shutdown signal, in that signal's list. */
interface Waiter {
  prev: Waiter | null
  next: Waiter | null
  readonly run: () => void
}

/** Per shutdown signal, the attempts to end when it aborts (a list with one `abort` listener). */
const waitersOf = new WeakMap<AbortSignal, { head: Waiter | null }>()

/**
 * Runs `run` when `signal` aborts, unless `stopWaiting(signal, waiter)` came first. One `abort`
 * listener per signal, not one added and removed per attempt: EventTarget's bookkeeping was about 1 %
 * of the proxy's CPU per request. (A Set of callbacks instead of this list was worse: the proxy's time
 * in GC went from 3 % to 11 % of its CPU, measured.)
 */
function whenShutDown(signal: AbortSignal, run: () => void): Waiter {
  let list = waitersOf.get(signal)
  if (list === undefined) {
    const l: { head: Waiter | null } = { head: null }
    list = l
    waitersOf.set(signal, l)
    signal.addEventListener('abort', () => {
      // In the order the attempts started, as separate listeners would run.
      const all: Waiter[] = []
      for (let w = l.head; w !== null; w = w.next) all.push(w)
      l.head = null
      for (let i = all.length - 1; i >= 0; i--) {
        const w = all[i]!
        w.prev = w.next = null
        w.run()
      }
    }, { once: true })
  }
  const w: Waiter = { prev: null, next: list.head, run }
  if (list.head !== null) list.head.prev = w
  list.head = w
  return w
}

function stopWaiting(signal: AbortSignal, w: Waiter): void {
  const list = waitersOf.get(signal)
  if (list === undefined) return
  if (w.prev !== null) w.prev.next = w.next
  else if (list.head === w) list.head = w.next
  if (w.next !== null) w.next.prev = w.prev
  w.prev = w.next = null
}

export function forwardAttempt(
  dispatcher: Dispatcher,
  dispatchOptions: Partial<Dispatcher.DispatchOptions>,
  request: UpstreamRequest,
  res: ServerResponse,
  options: ForwardOptions = {},
): Promise<AttemptResult> {
  const started = performance.now()
  // Closures over one context, on purpose: the same handler as a class (one object per attempt instead
  // of a dozen functions) was slower: measured, major GCs in every 4 s of load and minor GC time 0.7 →
  // 4.3 µs per request (our reading: V8 pretenures objects from one site that live as long as an attempt).
  return new Promise<AttemptResult>((resolve) => {
    let settled = false
    let controller: Dispatcher.DispatchController | undefined
    let responseStarted = false
    let committed = false
    let status: number | undefined
    let isSse = false
    let answerHeaders: Record<string, string | string[]> = {}
    /** 2xx held back under buffered-streaming. */
    let held = false
    const answerChunks: Buffer[] = []
    let answerBytes = 0
    let clientGone = false

    const onClientClose = (): void => {
      if (res.writableFinished || settled) return
      clientGone = true
      controller?.abort(Object.assign(new Error('The client closed the connection.'), { code: 'UND_ERR_ABORTED' }))
    }
    // `on`, not `once` (no wrapper per attempt): settle removes it, and a response closes only once.
    res.on('close', onClientClose)
    const shutdown = options.shutdown
    const waiter = shutdown === undefined || shutdown.aborted ? undefined : whenShutDown(shutdown, () => { controller?.abort(shutdownError()) })

    const settle = (
      outcome: AttemptOutcome, reusedConnection: boolean, wasCommitted: boolean, answer?: BufferedAnswer, code?: string, message?: string,
    ): void => {
      if (settled) return
      settled = true
      res.off('close', onClientClose)
      if (waiter !== undefined) stopWaiting(shutdown!, waiter)
      const durationMs = performance.now() - started
      resolve(code === undefined && message === undefined
        ? (answer === undefined
          ? { outcome, status, reusedConnection, committed: wasCommitted, durationMs }
          : { outcome, status, reusedConnection, committed: wasCommitted, answer, durationMs })
        : { outcome, status, reusedConnection, committed: wasCommitted, errorCode: code, errorMessage: message, durationMs })
    }

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c
        if (clientGone || res.destroyed) {
          clientGone = true
          c.abort(Object.assign(new Error('The client closed the connection.'), { code: 'UND_ERR_ABORTED' }))
        } else if (options.shutdown?.aborted) {
          c.abort(shutdownError())
        }
      },
      onResponseStart(c, statusCode, headers) {
        responseStarted = true
        status = statusCode
        const forwarded = clientResponseHeaders(c.rawHeaders as Buffer[] | undefined)
        if (statusCode >= 200 && statusCode < 300 && options.bufferBody) {
          held = true
          answerHeaders = forwarded
        } else if (statusCode >= 200 && statusCode < 300) {
          committed = true
          const type = headers['content-type']
          isSse = typeof type === 'string' && type.startsWith('text/event-stream')
          res.writeHead(statusCode, forwarded)
          // Send the head now: time to first byte through the proxy must track the upstream's. The
          // socket is corked until the end of this tick, so the body bytes undici parsed from the same
          // read (and the end, for a small JSON answer) leave in the same write: one syscall, not three.
          // The socket, not `res`: res.cork() buffers chunked bodies apart, and res.end() then writes
          // the terminating chunk before them (Node 24: an SSE body arrived empty).
          const socket = res.socket
          socket?.cork()
          res.flushHeaders()
          if (socket) process.nextTick(uncork, socket)
        } else {
          answerHeaders = forwarded
        }
      },
      onResponseData(c, chunk) {
        if (committed) {
          if (!res.write(chunk)) {
            c.pause()
            res.once('drain', () => c.resume())
          }
        } else if (held) {
          answerChunks.push(chunk)
        } else if (answerBytes < MAX_BUFFERED_ANSWER) {
          answerChunks.push(chunk)
          answerBytes += chunk.length
        }
      },
      onResponseEnd() {
        const outcome = classifyStatus(status ?? 0)
        if (committed) {
          res.end()
          settle(outcome, false, committed)
          return
        }
        if (held) {
          sendAnswer(res, { status: status ?? 200, headers: answerHeaders, body: Buffer.concat(answerChunks) })
          settle(outcome, false, true)
          return
        }
        settle(outcome, false, committed, { status: status ?? 502, headers: answerHeaders, body: Buffer.concat(answerChunks) })
      },
      onResponseError(_c, err) {
        const reused = failedOnReusedSocket(err)
        const outcome: AttemptOutcome = clientGone ? 'client-aborted' : classifyError(err, { reusedConnection: reused, responseStarted })
        if (committed && !res.writableEnded) {
          if (isSse && !clientGone && !res.destroyed && !options.silentCut) {
            // A clean end with an error event, not a silent cut: SSE clients surface it.
            res.end(sseErrorFrame(outcome === 'proxy-error' ? `${err.message} The stream was cut before its end.` : `Upstream connection lost mid-stream (${errorCode(err) ?? err.message}).`))
          } else {
            res.destroy(err)
          }
        }
        settle(outcome, reused, committed, undefined, errorCode(err), err.message)
      },
    }

    try {
      dispatcher.dispatch({
        method: request.method as Dispatcher.HttpMethod,
        path: request.path,
        headers: request.headers,
        body: request.body,
        ...dispatchOptions,
      }, handler)
    } catch (err) {
      settle('network-error', false, false, undefined, errorCode(err), (err as Error).message)
    }
  })
}
