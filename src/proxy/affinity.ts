/**
 * Session affinity as qcc: `x-conversation-id` (or body `conversation_id`) → endpoint, TTL 5 h by
 * default. Bounded: past `maxSessions` the least recently used session is forgotten (qcc's map grew
 * without bound: 30 k conversation ids cost 130 MB and half the throughput).
 */

/** Default bound on remembered sessions. */
export const DEFAULT_MAX_SESSIONS = 10_000

export class SessionAffinity {
  /** Insertion order = recency: a refreshed session moves to the end. */
  readonly #sessions = new Map<string, { endpointId: string; expiresAt: number }>()
  readonly #ttlMs: number
  readonly #max: number

  constructor(ttlMs: number, maxSessions = DEFAULT_MAX_SESSIONS) {
    this.#ttlMs = ttlMs
    this.#max = Math.max(1, maxSessions)
  }

  get(conversationId: string, now: number): string | undefined {
    const s = this.#sessions.get(conversationId)
    if (!s) return undefined
    if (s.expiresAt <= now) {
      this.#sessions.delete(conversationId)
      return undefined
    }
    return s.endpointId
  }

  /** Binds or refreshes; returns true when it re-bound to a different endpoint. */
  bind(conversationId: string, endpointId: string, now: number): boolean {
    const prev = this.#sessions.get(conversationId)
    this.#sessions.delete(conversationId)
    this.#sessions.set(conversationId, { endpointId, expiresAt: now + this.#ttlMs })
    // Over the bound: forget the least recently used (the first key). With one TTL for all, it is also
    // the one closest to expiry, so expired sessions go first. O(1) per bind.
    if (this.#sessions.size > this.#max) this.#sessions.delete(this.#sessions.keys().next().value!)
    return prev !== undefined && prev.endpointId !== endpointId
  }

  unbind(conversationId: string): void {
    this.#sessions.delete(conversationId)
  }

  sweep(now: number): number {
    let removed = 0
    for (const [k, s] of this.#sessions) if (s.expiresAt <= now) { this.#sessions.delete(k); removed++ }
    return removed
  }

  get size(): number {
    return this.#sessions.size
  }
}

/** The key as bytes, made once (a string needle is converted to bytes on every search). */
const conversationKey = Buffer.from('"conversation_id"')

/** The conversation id of a request: header first, then the top-level body field. */
export function conversationIdOf(header: string | string[] | undefined, body: Buffer | null): string | undefined {
  if (typeof header === 'string' && header !== '') return header
  // Parsing every body for a field no stock client sends would be waste: look for the key first.
  if (!body || body.length === 0 || body[0] !== 0x7b || body.indexOf(conversationKey) < 0) return undefined
  try {
    const id = (JSON.parse(body.toString('utf8')) as { conversation_id?: unknown }).conversation_id
    return typeof id === 'string' && id !== '' ? id : undefined
  } catch {
    return undefined
  }
}
