/**
 * Fake upstreams: real HTTP(S) servers that speak the Anthropic Messages API and misbehave on purpose at
 * the connection level. They import only `src/shared`; the proxy is just another client to them.
 */
import type { RequestHandler } from 'msw'
import { createRandom, deriveSeed } from '../src/shared/random.ts'
import { QccLabError } from '../src/shared/errors.ts'
import { defaultMessageBehaviour, messagesHandlers, type MessageBehaviour } from './anthropic/messages.ts'
import { resolveFault, type FaultSpec, type ResolvedFault } from './faults/index.ts'
import { startLink } from './server.ts'
import type { Ledger } from './ledger.ts'
import { behaviourSchema, upstreamSpecSchema } from './upstream-spec.ts'
import { formatZodIssues } from '../src/shared/zod-issues.ts'

export interface UpstreamSpec {
  /** Used in generated request ids and message ids. Default `upstream`. */
  readonly name?: string
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 0 (an ephemeral port). */
  readonly port?: number
  /** PEM key and certificate: serve HTTPS instead of HTTP. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer }
  /** Faults in order; each as `{ kind, probability?, ...params }` (typed per kind). Validated here. */
  readonly faults?: readonly FaultSpec[]
  readonly behaviour?: Partial<MessageBehaviour>
  /** Seeds fault probabilities. Default 1. */
  readonly seed?: number
  /**
   * Simulated network round trip (ms): every answer waits one RTT, and the first request on a new
   * connection waits one more for the TCP handshake (two more over TLS), as a real network would add.
   */
  readonly networkRttMs?: number
  /**
   * Render each distinct request's answer once through the msw handlers and replay those bytes (status,
   * headers, body chunk by chunk) for every identical request after it. Faults, RTT, the ledger and
   * connection handling are unchanged; message ids repeat. Off by itself while handlers were added with
   * `use` or the behaviour has a first-byte delay or event interval (a replay would skip them). For
   * benchmarks, where msw's per-request cost (a Request, web streams, an AbortController each) would
   * otherwise be what is measured.
   */
  readonly prerender?: boolean
  /**
   * How long an idle keep-alive connection stays open, said in the `Keep-Alive: timeout=` header (default
   * 5 s, Node's own). Faults such as idle-close override both.
   */
  readonly idleTimeoutMs?: number
}

export interface FakeUpstream {
  readonly name: string
  readonly url: string
  readonly ledger: Ledger
  /** Replaces the active faults (takes effect for the next event on every connection). Validated as at start. */
  setFaults(faults: readonly FaultSpec[]): void
  /** Changes how messages are answered from the next request on. Validated as at start. */
  setBehaviour(behaviour: Partial<MessageBehaviour>): void
  /** Prepends msw handlers that take precedence over the built-in Messages API ones. */
  use(...handlers: RequestHandler[]): void
  /** Drops every handler added with `use`, back to the built-in Messages API. */
  resetHandlers(): void
  openConnections(): number
  close(): Promise<void>
  /** `await using upstream = await startFakeUpstream(…)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void>
}

/** Each fault validated by its kind's schema: the faults, or one `<path>: <problem>` line per problem. */
function checkFaults(inputs: readonly unknown[], path: string): { faults: ResolvedFault[]; issues: string[] } {
  const faults: ResolvedFault[] = []
  const issues: string[] = []
  inputs.forEach((input, i) => {
    const r = resolveFault(input, `${path}[${i}]`)
    if (r.ok) faults.push(r.fault)
    else issues.push(...r.issues)
  })
  return { faults, issues }
}

export function resolveFaults(inputs: readonly unknown[], path = 'faults'): ResolvedFault[] {
  const { faults, issues } = checkFaults(inputs, path)
  if (issues.length > 0) throw new QccLabError('FAULT_INVALID', `Failed to configure faults: ${issues.join('; ')}`)
  return faults
}

/**
 * The spec checked with the schema scenario files use for an upstream's behaviour and faults (JavaScript
 * callers and casts get the same words a YAML file gets): every problem at once, each naming its field.
 */
function checkSpec(spec: unknown): { faults: ResolvedFault[] } {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new QccLabError('UPSTREAM_INVALID', 'Failed to start the fake upstream: expected a spec object such as { name, faults, behaviour }.')
  }
  const parsed = upstreamSpecSchema.safeParse(spec)
  const issues = parsed.success ? [] : formatZodIssues(parsed.error, '')
  const given: unknown = (spec as UpstreamSpec).faults
  // A list that is not one is the schema's problem; each entry is its kind's.
  const checked = checkFaults(Array.isArray(given) ? given : [], 'faults')
  issues.push(...checked.issues)
  if (issues.length > 0) {
    const name = (spec as UpstreamSpec).name
    throw new QccLabError('UPSTREAM_INVALID', `Failed to start the fake upstream${typeof name === 'string' ? ` "${name}"` : ''}: ${issues.join('; ')}`)
  }
  return { faults: checked.faults }
}

function checkBehaviour(next: unknown): Partial<MessageBehaviour> {
  const parsed = behaviourSchema.safeParse(next)
  if (!parsed.success) throw new QccLabError('UPSTREAM_INVALID', `Failed to set the behaviour: ${formatZodIssues(parsed.error, 'behaviour').join('; ')}`)
  return parsed.data
}

export async function startFakeUpstream(spec: UpstreamSpec = {}): Promise<FakeUpstream> {
  let { faults } = checkSpec(spec)
  const name = spec.name ?? 'upstream'
  let behaviour: MessageBehaviour = { ...defaultMessageBehaviour, ...spec.behaviour }
  let extra: RequestHandler[] = []
  let messageSeq = 0
  const builtIn = messagesHandlers({
    nextId: (tag) => `msg_${name}_${++messageSeq}${tag === undefined ? '' : `_${tag}`}`,
    behaviour: () => behaviour,
  })
  const link = await startLink({
    name,
    host: spec.host ?? '127.0.0.1',
    port: spec.port ?? 0,
    tls: spec.tls,
    random: createRandom(deriveSeed(spec.seed ?? 1, `upstream:${name}`)),
    handlers: () => (extra.length === 0 ? builtIn : [...extra, ...builtIn]),
    faults: () => faults,
    networkRttMs: spec.networkRttMs ?? 0,
    // Replaying is faithful only for the built-in handlers without timing: a handler added with `use` may
    // depend on headers or state, and delays live inside the handler, which a replay skips.
    prerender: () => spec.prerender === true && extra.length === 0 && behaviour.firstByteDelayMs === 0 && behaviour.eventIntervalMs === 0,
    idleTimeoutMs: spec.idleTimeoutMs,
  })
  return {
    name,
    url: link.url,
    ledger: link.ledger,
    setFaults(next) { faults = resolveFaults(next) },
    setBehaviour(next) {
      behaviour = { ...behaviour, ...checkBehaviour(next) }
      link.clearPrerendered()
    },
    use(...handlers) {
      extra = [...handlers, ...extra]
      link.clearPrerendered()
    },
    resetHandlers() {
      extra = []
      link.clearPrerendered()
    },
    openConnections: () => link.openConnections(),
    close: () => link.close(),
    [Symbol.asyncDispose]: () => link.close(),
  }
}

export { faults, faultKinds, type FaultKind, type FaultSpec, type FaultSpecOf } from './faults/index.ts'
export { upstreamSpecSchema, behaviourSchema } from './upstream-spec.ts'
export type { Ledger, LedgerEntry, LedgerSummary, ConnectionRecord } from './ledger.ts'
export { summarizeLedger, summarizeLedgers } from './ledger.ts'
export type { MessageBehaviour } from './anthropic/messages.ts'
