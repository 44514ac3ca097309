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

const hopByHop = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
])

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

export function isHopByHop(name: string): boolean {
  return hopByHop.has(name)
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

export function forwardAttempt(
  dispatcher: Dispatcher,
  dispatchOptions: Partial<Dispatcher.DispatchOptions>,
  request: UpstreamRequest,
  res: ServerResponse,
  options: ForwardOptions = {},
): Promise<AttemptResult> {
  const started = performance.now()
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
    res.once('close', onClientClose)
    const onShutdown = (): void => { controller?.abort(shutdownError()) }
    options.shutdown?.addEventListener('abort', onShutdown, { once: true })

    const settle = (result: Omit<AttemptResult, 'durationMs'>): void => {
      if (settled) return
      settled = true
      res.off('close', onClientClose)
      options.shutdown?.removeEventListener('abort', onShutdown)
      resolve({ ...result, durationMs: performance.now() - started })
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
          settle({ outcome, status, reusedConnection: false, committed })
          return
        }
        if (held) {
          sendAnswer(res, { status: status ?? 200, headers: answerHeaders, body: Buffer.concat(answerChunks) })
          settle({ outcome, status, reusedConnection: false, committed: true })
          return
        }
        settle({ outcome, status, reusedConnection: false, committed, answer: { status: status ?? 502, headers: answerHeaders, body: Buffer.concat(answerChunks) } })
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
        settle({
          outcome,
          status,
          reusedConnection: reused,
          committed,
          errorCode: errorCode(err),
          errorMessage: err.message,
        })
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
      settle({
        outcome: 'network-error',
        reusedConnection: false,
        committed: false,
        errorCode: errorCode(err),
        errorMessage: (err as Error).message,
      })
    }
  })
}
