/**
 * The "link": a real node:http(s) server that owns every socket and timer of a fake upstream. It tracks
 * connections (id, requests, idle time), writes the ledger, lets faults act through narrow stubs, and
 * answers requests through msw's `getResponse`, so sockets and keep-alive behaviour are real.
 */
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import { once } from 'node:events'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { performance } from 'node:perf_hooks'
import { getResponse, type RequestHandler } from 'msw'
import type { Random } from '../src/shared/random.ts'
import { Ledger, type ConnectionRecord, type LedgerEntry } from './ledger.ts'
import { inSchedule, type ResolvedFault } from './faults/index.ts'
import type { ConnectionStub, RequestInfo } from './faults/types.ts'
import { anthropicError } from './anthropic/messages.ts'

/** Node's own http server default: close idle keep-alive sockets after 5 s and say so in the header. */
export const DEFAULT_IDLE_MS = 5_000

export interface LinkOptions {
  readonly name: string
  readonly host: string
  readonly port: number
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer }
  readonly random: Random
  readonly handlers: () => readonly RequestHandler[]
  readonly faults: () => readonly ResolvedFault[]
  /** See UpstreamSpec.networkRttMs. */
  readonly networkRttMs?: number
  /** See UpstreamSpec.prerender; asked per request (false while it could not replay faithfully). */
  readonly prerender?: () => boolean
  /** See UpstreamSpec.idleTimeoutMs. */
  readonly idleTimeoutMs?: number
}

/** A response rendered once through the handlers and replayed byte for byte (UpstreamSpec.prerender). */
interface Rendered {
  readonly status: number
  readonly headers: Record<string, string>
  /** The body as the handler's stream produced it, one buffer per read (one SSE event per chunk). */
  readonly chunks: readonly Buffer[]
}

/** Distinct requests the prerender cache keeps; past that, requests go through msw as usual. */
const PRERENDER_LIMIT = 64

interface Connection {
  readonly id: number
  /** The server closed it (FIN sent): a request still arriving crossed the close and is refused. */
  closing: boolean
  readonly socket: net.Socket
  /** The TCP socket under a TLS socket (RST must go to it); the same socket for plain HTTP. */
  raw: net.Socket
  idleSince: number
  nextIndex: number
  timers: Set<NodeJS.Timeout>
  stub: ConnectionStub
}

export interface Link {
  readonly url: string
  readonly port: number
  readonly ledger: Ledger
  /** Open connections right now. */
  openConnections(): number
  /** Forgets prerendered responses (handlers or behaviour changed). */
  clearPrerendered(): void
  close(): Promise<void>
}

/** The whole request body; undefined when it is empty. */
async function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return chunks.length === 0 ? undefined : Buffer.concat(chunks)
}

/** Waits `ms` (the simulated network); false when the client went away meanwhile. */
async function waitOrClose(res: http.ServerResponse, ms: number): Promise<boolean> {
  if (ms <= 0) return true
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms)
    res.once('close', () => { clearTimeout(t); resolve() })
  })
  return !res.destroyed
}

export async function startLink(options: LinkOptions): Promise<Link> {
  const t0 = performance.now()
  const ledger = new Ledger(t0)
  const prerendered = new Map<string, Rendered>()
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_MS
  const now = (): number => performance.now() - t0
  const byRemote = new Map<string, net.Socket>()
  const connections = new Map<net.Socket, Connection>()
  let nextConnectionId = 1
  let seq = 0

  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert })
    : http.createServer()
  // The link owns idle timing (default: Node's 5 s); Node's own timer would race the faults'.
  server.keepAliveTimeout = 0

  const clearTimers = (conn: Connection): void => {
    for (const t of conn.timers) clearTimeout(t)
    conn.timers.clear()
  }

  const track = (socket: net.Socket, raw: net.Socket): void => {
    const id = nextConnectionId++
    const record: ConnectionRecord = { id, openedAtMs: now(), requests: 0 }
    ledger.openConnection(record)
    const conn: Connection = {
      id, closing: false, socket, raw, idleSince: now(), nextIndex: 0, timers: new Set(),
      stub: {
        id,
        get requestsServed() { return record.requests },
        end(reason) {
          record.closedBy ??= `fault:${reason}`
          record.serverClose ??= { kind: 'fin', atMs: now() }
          conn.closing = true
          clearTimers(conn)
          socket.end()
        },
        reset(reason) {
          record.closedBy ??= `fault:${reason}`
          record.serverClose ??= { kind: 'rst', atMs: now() }
          clearTimers(conn)
          conn.raw.resetAndDestroy()
        },
        setIdleTimer(ms, fn) {
          const t = setTimeout(() => { conn.timers.delete(t); fn() }, ms)
          conn.timers.add(t)
        },
      },
    }
    connections.set(socket, conn)
    socket.once('close', () => {
      clearTimers(conn)
      connections.delete(socket)
      record.closedAtMs = now()
      record.closedBy ??= 'peer'
    })
  }

  if (options.tls) {
    server.on('connection', (raw: net.Socket) => {
      byRemote.set(`${raw.remoteAddress}:${raw.remotePort}`, raw)
      raw.once('close', () => byRemote.delete(`${raw.remoteAddress}:${raw.remotePort}`))
    })
    server.on('secureConnection', (tlsSocket: net.Socket) => {
      track(tlsSocket, byRemote.get(`${tlsSocket.remoteAddress}:${tlsSocket.remotePort}`) ?? tlsSocket)
    })
  } else {
    server.on('connection', (socket: net.Socket) => track(socket, socket))
  }

  const goIdle = (conn: Connection): void => {
    conn.idleSince = now()
    for (const fault of options.faults()) {
      if (fault.hooks.onIdle?.(conn.stub)) return
    }
    conn.stub.setIdleTimer(idleMs, () => {
      const record = ledger.connection(conn.id)
      if (record) {
        record.closedBy ??= 'idle-timeout'
        record.serverClose ??= { kind: 'fin', atMs: now() }
      }
      conn.closing = true
      conn.socket.end()
    })
  }

  const keepAliveHeader = (): string | null => {
    for (const fault of options.faults()) {
      const v = fault.hooks.keepAliveHeader?.()
      if (v !== undefined) return v
    }
    return `timeout=${Math.floor(idleMs / 1000)}`
  }

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const conn = connections.get(req.socket)
    if (!conn) {
      res.destroy()
      return
    }
    clearTimers(conn)
    const at = now()
    const headerId = req.headers['x-request-id']
    const entry: LedgerEntry = ledger.add({
      seq: ++seq,
      requestId: typeof headerId === 'string' && headerId !== '' ? headerId : `${options.name}-${seq}`,
      connectionId: conn.id,
      indexOnConnection: conn.nextIndex++,
      idleBeforeMs: Math.round((at - conn.idleSince) * 1000) / 1000,
      atMs: Math.round(at * 1000) / 1000,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      outcome: 'in-flight',
    })
    // Answered, dropped or cut: the response (or the connection under it) closes exactly once.
    res.once('close', () => { entry.endAtMs ??= Math.round(now() * 1000) / 1000 })
    const record = ledger.connection(conn.id)
    if (record) record.requests++
    if (conn.closing) {
      // The server already sent its FIN: the request crossed the close and is never answered (a real
      // server's kernel would reset it); the connection is destroyed.
      entry.outcome = 'dropped'
      entry.fault = record?.closedBy ?? 'closed'
      conn.raw.resetAndDestroy()
      return
    }
    // A proxy that drops x-request-id still forwards the body, which names the client's request: read it
    // before any fault acts, so a fault's answer to it is counted as the client's traffic too.
    let earlyBody: Buffer | undefined | null = null
    if (typeof headerId !== 'string' || headerId === '') {
      earlyBody = await readBody(req)
      const tagged = earlyBody === undefined ? null : /qcc-lab request ([\w.:-]+):/.exec(earlyBody.toString('latin1'))
      if (tagged) entry.requestId = tagged[1]!
    }

    const info: RequestInfo = {
      requestId: entry.requestId,
      method: entry.method,
      path: entry.path,
      indexOnConnection: entry.indexOnConnection,
      idleBeforeMs: entry.idleBeforeMs,
    }
    // Which faults act on this request: schedule first, then one probability roll each (only when < 1),
    // so the random stream depends on request order alone.
    const active = options.faults().filter((f) =>
      inSchedule(f.schedule, entry.seq) && (f.schedule.probability >= 1 || options.random.next() < f.schedule.probability))
    for (const fault of active) {
      if (!fault.hooks.onRequest) continue
      let replied = false
      const reply = {
        respond(status: number, headers: Record<string, string>, body: string) {
          replied = true
          entry.fault = fault.kind
          res.once('finish', () => {
            entry.outcome = 'answered'
            entry.status = status
            if (res.shouldKeepAlive && !conn.socket.destroyed) goIdle(conn)
          })
          res.once('close', () => {
            if (entry.outcome === 'in-flight') entry.outcome = 'cut'
          })
          const ka = keepAliveHeader()
          res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)), ...(ka !== null && res.shouldKeepAlive ? { 'keep-alive': ka } : {}) })
          res.end(body)
        },
      }
      if (fault.hooks.onRequest(conn.stub, info, reply)) {
        // Drain the request body so the connection stays usable after a reply.
        req.resume()
        if (!replied) {
          entry.outcome = 'dropped'
          entry.fault = fault.kind
        }
        return
      }
    }
    const rtt = options.networkRttMs ?? 0
    let delayMs = rtt === 0 ? 0 : rtt + (entry.indexOnConnection === 0 ? rtt * (options.tls ? 2 : 1) : 0)
    let cut: { events: number; mode: 'fin' | 'rst'; fault: string } | undefined
    for (const fault of active) {
      delayMs += fault.hooks.delayMs?.(info) ?? 0
      const c = fault.hooks.cutAfterEvents?.(info)
      if (c && !cut) cut = { ...c, fault: fault.kind }
    }

    res.once('finish', () => {
      entry.outcome = 'answered'
      entry.status = res.statusCode
      if (res.shouldKeepAlive && !conn.socket.destroyed) goIdle(conn)
    })
    res.once('close', () => {
      if (entry.outcome === 'in-flight') entry.outcome = 'cut'
    })

    const requestBody = earlyBody !== null ? earlyBody : await readBody(req)
    const prerenderKey = !cut && options.prerender?.() === true ? `${req.method ?? 'GET'} ${req.url ?? '/'} ${requestBody?.toString('latin1') ?? ''}` : undefined
    const cached = prerenderKey === undefined ? undefined : prerendered.get(prerenderKey)
    if (cached) {
      if (!(await waitOrClose(res, delayMs))) return
      replay(res, cached)
      return
    }
    const headers = new Headers()
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
    const method = req.method ?? 'GET'
    const scheme = options.tls ? 'https' : 'http'
    const request = new Request(`${scheme}://${req.headers.host ?? 'upstream'}${req.url ?? '/'}`, {
      method,
      headers,
      body: method === 'GET' || method === 'HEAD' ? undefined : requestBody,
    })
    if (!(await waitOrClose(res, delayMs))) return
    const response = (await getResponse([...options.handlers()], request))
      ?? anthropicError(404, 'not_found_error', `No fake route for ${method} ${req.url ?? '/'}.`)

    const out: Record<string, string> = {}
    response.headers.forEach((value, key) => { out[key] = value })
    if (prerenderKey !== undefined && prerendered.size < PRERENDER_LIMIT) {
      // Render once: read the whole body, keep it, and answer this request from the copy too.
      const answer: Buffer[] = []
      if (response.body !== null) for await (const chunk of response.body as AsyncIterable<Uint8Array>) answer.push(Buffer.from(chunk))
      const rendered: Rendered = { status: response.status, headers: { ...out }, chunks: answer }
      prerendered.set(prerenderKey, rendered)
      replay(res, rendered)
      return
    }
    const ka = keepAliveHeader()
    if (ka !== null && res.shouldKeepAlive) out['keep-alive'] = ka
    res.writeHead(response.status, out)
    if (response.body === null) {
      res.end()
      return
    }
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream)
    try {
      if (cut) await writeUntilCut(body, res, conn, cut, entry)
      else await pipeline(body, res)
    } catch {
      // The client went away mid-response; the ledger says 'cut'.
    }
  }

  /** Answers from a prerendered response, with this connection's Keep-Alive header. */
  const replay = (res: http.ServerResponse, rendered: Rendered): void => {
    const ka = keepAliveHeader()
    res.writeHead(rendered.status, ka !== null && res.shouldKeepAlive ? { ...rendered.headers, 'keep-alive': ka } : rendered.headers)
    for (const chunk of rendered.chunks) res.write(chunk)
    res.end()
  }

  /** Writes events until `cut.events` went out, then closes (FIN) or resets (RST) the connection. */
  const writeUntilCut = async (body: Readable, res: http.ServerResponse, conn: Connection, cut: { events: number; mode: 'fin' | 'rst'; fault: string }, entry: LedgerEntry): Promise<void> => {
    let events = 0
    const close = (): void => {
      entry.fault = cut.fault
      if (cut.mode === 'fin') conn.stub.end(cut.fault)
      else conn.stub.reset(cut.fault)
      body.destroy()
    }
    if (cut.events === 0) {
      res.flushHeaders()
      close()
      return
    }
    for await (const chunk of body) {
      if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')])
      if (res.destroyed) {
        body.destroy()
        return
      }
      events += String(chunk).split('\n\n').length - 1
      if (events >= cut.events) {
        // Let the bytes leave before the close, so the client really saw them.
        await new Promise<void>((resolve) => setImmediate(resolve))
        close()
        return
      }
    }
    res.end()
  }

  server.on('request', (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: `fake upstream failed: ${String(err)}` } }))
      } else res.destroy()
    })
  })

  server.listen(options.port, options.host)
  await once(server, 'listening')
  const address = server.address() as net.AddressInfo
  const scheme = options.tls ? 'https' : 'http'

  return {
    url: `${scheme}://${options.host}:${address.port}`,
    port: address.port,
    ledger,
    openConnections: () => connections.size,
    clearPrerendered: () => prerendered.clear(),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const conn of connections.values()) {
        clearTimers(conn)
        conn.socket.destroy()
      }
      server.closeAllConnections()
      await closed
    },
  }
}
