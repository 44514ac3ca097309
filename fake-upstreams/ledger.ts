/**
 * The upstream's own record of what reached it: every request head it read, on which connection, at
 * which position, after how much idle time, and whether it was answered. From this the report tells
 * lost deliveries (a client request no upstream answered) from duplicated ones (answered twice).
 */
import { performance } from 'node:perf_hooks'

/** What happened to one request that reached the upstream. */
export type DeliveryOutcome =
  /** The head was read; no response has finished yet. */
  | 'in-flight'
  /** A complete response was written. */
  | 'answered'
  /** A fault closed or reset the connection instead of answering. */
  | 'dropped'
  /** The connection closed before the response was complete. */
  | 'cut'

export interface LedgerEntry {
  /** 1-based arrival order on this upstream. */
  readonly seq: number
  /**
   * The request's `x-request-id`, else the client request named in its body (`qcc-lab request <id>:`),
   * else a generated `<upstream>-<seq>` (a request the proxy made on its own, such as a verification).
   */
  requestId: string
  readonly connectionId: number
  /** 0 for the first request on its connection. */
  readonly indexOnConnection: number
  /** Idle time of the connection before this request (ms): since the previous response, or since accept. */
  readonly idleBeforeMs: number
  /** When the head was read (ms since the upstream started). */
  readonly atMs: number
  readonly method: string
  readonly path: string
  outcome: DeliveryOutcome
  status?: number
  /** The fault that dropped the request, if any. */
  fault?: string
  /** When the upstream was done with it: its response finished, or the connection dropped or cut it (ms since the upstream started). */
  endAtMs?: number
}

export interface ConnectionRecord {
  readonly id: number
  readonly openedAtMs: number
  closedAtMs?: number
  /** Who closed it: a fault (`fault:<kind>`), the server's default idle timeout, or `peer` (the client, or a `Connection: close` exchange). */
  closedBy?: string
  /** The upstream's own close, FIN (end) or RST (reset), and when it sent it; absent when the peer closed first. */
  serverClose?: { readonly kind: 'fin' | 'rst'; readonly atMs: number }
  requests: number
}

export interface LedgerSummary {
  readonly connections: number
  /** Requests that reached the upstream (with a client filter: the client's own, forwarded). */
  readonly received: number
  readonly answered: number
  /** Answered with a 2xx status. */
  readonly ok: number
  readonly dropped: number
  /** Requests the proxy made on its own (verification calls, probes): no client request id. */
  readonly probes: number
  /** Distinct request ids answered 2xx more than once (a non-idempotent request processed twice). */
  readonly duplicates: number
  /** Distinct request ids whose head arrived again after an earlier arrival was dropped or cut. */
  readonly redelivered: number
  /** Requests per connection that carried at least one request. */
  readonly requestsPerConnection: number
}

export class Ledger {
  readonly #entries: LedgerEntry[] = []
  readonly #connections = new Map<number, ConnectionRecord>()
  /** `performance.now()` where this ledger's times (`atMs`, `openedAtMs`, …) count from: lines it up with other clocks. */
  readonly originMs: number

  constructor(originMs = performance.now()) {
    this.originMs = originMs
  }

  openConnection(record: ConnectionRecord): void {
    this.#connections.set(record.id, record)
  }

  connection(id: number): ConnectionRecord | undefined {
    return this.#connections.get(id)
  }

  add(entry: LedgerEntry): LedgerEntry {
    this.#entries.push(entry)
    return entry
  }

  entries(): readonly LedgerEntry[] {
    return this.#entries
  }

  connections(): readonly ConnectionRecord[] {
    return [...this.#connections.values()]
  }

  /** Entries for one request id, in arrival order. */
  byRequestId(requestId: string): LedgerEntry[] {
    return this.#entries.filter((e) => e.requestId === requestId)
  }

  summary(): LedgerSummary {
    return summarizeLedger(this.#entries, this.#connections.size)
  }

  clear(): void {
    this.#entries.length = 0
    this.#connections.clear()
  }
}

/** Pure: counts deliveries from one upstream's ledger entries. */
export function summarizeLedger(entries: readonly LedgerEntry[], connections: number): LedgerSummary {
  return summarizeLedgers([{ name: '', entries, connections }])
}

const isOk = (e: LedgerEntry): boolean => e.outcome === 'answered' && (e.status ?? 0) >= 200 && (e.status ?? 0) < 300

/**
 * Pure: counts deliveries over several upstreams. `isClient` tells the client's own requests from the
 * proxy's (default: every entry is the client's); the counts are over the client's requests, `probes`
 * counts the rest. Connections are told apart per upstream (each numbers its own from 1).
 */
export function summarizeLedgers(
  upstreams: ReadonlyArray<{ readonly name: string; readonly entries: readonly LedgerEntry[]; readonly connections: number }>,
  isClient: (requestId: string) => boolean = () => true,
): LedgerSummary {
  const okById = new Map<string, number>()
  const arrivals = new Map<string, LedgerEntry[]>()
  const usedConnections = new Set<string>()
  let received = 0
  let answered = 0
  let ok = 0
  let dropped = 0
  let probes = 0
  for (const u of upstreams) {
    for (const e of u.entries) {
      if (!isClient(e.requestId)) {
        probes++
        continue
      }
      received++
      usedConnections.add(`${u.name}\u0000${e.connectionId}`)
      const list = arrivals.get(e.requestId)
      if (list) list.push(e)
      else arrivals.set(e.requestId, [e])
      if (e.outcome === 'answered') answered++
      else if (e.outcome === 'dropped') dropped++
      if (isOk(e)) {
        ok++
        okById.set(e.requestId, (okById.get(e.requestId) ?? 0) + 1)
      }
    }
  }
  let duplicates = 0
  for (const count of okById.values()) if (count > 1) duplicates++
  let redelivered = 0
  for (const list of arrivals.values()) {
    if (list.length < 2) continue
    const ordered = [...list].sort((a, b) => a.atMs - b.atMs)
    if (ordered.slice(0, -1).some((e) => e.outcome === 'dropped' || e.outcome === 'cut')) redelivered++
  }
  return {
    connections: upstreams.reduce((sum, u) => sum + u.connections, 0),
    received,
    answered,
    ok,
    dropped,
    probes,
    duplicates,
    redelivered,
    requestsPerConnection: usedConnections.size === 0 ? 0 : received / usedConnections.size,
  }
}
