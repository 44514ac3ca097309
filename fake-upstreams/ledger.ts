/**
 * The upstream's own record of what reached it: every request head it read, on which connection, at
 * which position, after how much idle time, and whether it was answered. From this the report tells
 * lost deliveries (a client request no upstream answered) from duplicated ones (answered twice).
 */

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
  /** The request's `x-request-id`, or a generated `<upstream>-<seq>`. */
  readonly requestId: string
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
}

export interface ConnectionRecord {
  readonly id: number
  readonly openedAtMs: number
  closedAtMs?: number
  /** Who closed it: a fault (`fault:<kind>`), the server's default idle timeout, or `peer` (the client, or a `Connection: close` exchange). */
  closedBy?: string
  requests: number
}

export interface LedgerSummary {
  readonly connections: number
  readonly received: number
  readonly answered: number
  readonly dropped: number
  /** Distinct request ids answered more than once (a non-idempotent request processed twice). */
  readonly duplicates: number
  /** Distinct request ids whose head arrived more than once (retried after a drop; not necessarily processed twice). */
  readonly redelivered: number
  /** Requests per connection that carried at least one request. */
  readonly requestsPerConnection: number
}

export class Ledger {
  readonly #entries: LedgerEntry[] = []
  readonly #connections = new Map<number, ConnectionRecord>()

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

/** Pure: counts deliveries from ledger entries. */
export function summarizeLedger(entries: readonly LedgerEntry[], connections: number): LedgerSummary {
  const answeredById = new Map<string, number>()
  const seenById = new Map<string, number>()
  const usedConnections = new Set<number>()
  let answered = 0
  let dropped = 0
  for (const e of entries) {
    usedConnections.add(e.connectionId)
    seenById.set(e.requestId, (seenById.get(e.requestId) ?? 0) + 1)
    if (e.outcome === 'answered') {
      answered++
      answeredById.set(e.requestId, (answeredById.get(e.requestId) ?? 0) + 1)
    } else if (e.outcome === 'dropped') dropped++
  }
  let duplicates = 0
  for (const n of answeredById.values()) if (n > 1) duplicates++
  let redelivered = 0
  for (const n of seenById.values()) if (n > 1) redelivered++
  return {
    connections,
    received: entries.length,
    answered,
    dropped,
    duplicates,
    redelivered,
    requestsPerConnection: usedConnections.size === 0 ? 0 : entries.length / usedConnections.size,
  }
}
