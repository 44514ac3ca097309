/**
 * The narrow surface a fault may touch (toxiproxy's ToxicStub). The server owns sockets and timers;
 * a fault only decides *when* to act and *how* (FIN or RST), through these stubs.
 */
import type { z } from 'zod'

/** One accepted TCP connection, as a fault sees it. */
export interface ConnectionStub {
  /** 1-based, in accept order, per upstream. */
  readonly id: number
  /** Requests answered on this connection so far. */
  readonly requestsServed: number
  /** Graceful close: FIN. The peer reads EOF; undici reports `other side closed`. */
  end(reason: string): void
  /** Abortive close: RST (SO_LINGER 0). The peer sees ECONNRESET. */
  reset(reason: string): void
  /** A timer that is cleared as soon as the connection gets busy again or closes. */
  setIdleTimer(ms: number, fn: () => void): void
}

/** A request head that has just been read. */
export interface RequestInfo {
  readonly requestId: string
  readonly method: string
  readonly path: string
  /** 0 for the first request on its connection. */
  readonly indexOnConnection: number
  /** How long the connection sat idle before this request (ms): since the previous response, or since accept. */
  readonly idleBeforeMs: number
}

/** Answers a request in place of the normal handlers. */
export interface ReplyStub {
  respond(status: number, headers: Record<string, string>, body: string): void
}

/** How to close a socket. */
export type CloseMode = 'fin' | 'rst'

/** What a fault may hook into. Every hook is optional; a hook that returns `undefined` has no opinion. */
export interface FaultHooks {
  /**
   * The `Keep-Alive` response header value to send (`null` = send none), or `undefined` for no opinion.
   * The first fault with an opinion wins.
   */
  keepAliveHeader?(): string | null | undefined
  /** The connection just went idle after a response. Return true when the fault took over idle handling. */
  onIdle?(conn: ConnectionStub): boolean
  /**
   * A request head arrived. Return true when the fault took the request over: it closed or reset the
   * connection, or answered through `reply`; the normal handlers do not run.
   */
  onRequest?(conn: ConnectionStub, request: RequestInfo, reply: ReplyStub): boolean
  /** Hold the response head back this long (ms). */
  delayMs?(request: RequestInfo): number | undefined
  /** Cut the response body after this many SSE events (`\n\n`-terminated frames); 0 cuts right after the head. A JSON answer has no events, so only 0 cuts it. */
  cutAfterEvents?(request: RequestInfo): { readonly events: number; readonly mode: CloseMode } | undefined
}

/** A fault is data plus one function: its parameter schema, and `create`, which turns parameters into hooks. */
export interface FaultDefinition<Schema extends z.ZodObject = z.ZodObject> {
  readonly kind: string
  /** One line for `qcc-lab list`. */
  readonly summary: string
  /** Parameters (without `kind` and `probability`), with defaults. */
  readonly params: Schema
  create(params: z.infer<Schema>): FaultHooks
}

/** Helper that keeps `params` and `create` typed together. */
export function defineFault<Schema extends z.ZodObject>(def: FaultDefinition<Schema>): FaultDefinition<Schema> {
  return def
}
