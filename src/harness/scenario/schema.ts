/**
 * The scenario file format (YAML). One schema, validated once at load; everything downstream gets a
 * typed, defaulted `Scenario` and never re-checks.
 */
import { z } from 'zod'
import { labConnectorSchema } from '../../proxy/config/lab-config.ts'
import { strategyNames } from '../../proxy/balancer/index.ts'
import type { Expectation } from '../gate/expectation.ts'
import type { WorkloadSpec } from '../workload/run-workload.ts'
import { durationSchema, MAX_TIMER_MS, resolveDuration, type Duration, type ProxyConstants } from './constants.ts'
// The fake upstream's own schema: `startFakeUpstream` refuses what a scenario file refuses, in the same words.
import { behaviourSchema } from '../../../fake-upstreams/upstream-spec.ts'

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected lower-case letters, digits, ".", "_" or "-"')


export const upstreamSchema = z.object({
  name: name.describe('The upstream\'s name, unique in the scenario; expectations read its own counts as upstreams.<name>.<field>.'),
  /** The endpoint's priority (lower first) and weight in the proxy's cluster. */
  priority: z.number().int().optional().describe('The endpoint\'s priority in the proxy\'s cluster: lower is tried first (priority_failover).'),
  weight: z.number().nonnegative().optional().describe('The endpoint\'s weight in the proxy\'s cluster (weighted strategy).'),
  /** Validated per kind by the fault registry (see parse.ts); a duration may follow a constant. */
  faults: z.array(z.unknown()).default([]).describe('How this upstream misbehaves, in order: each { kind, ...params } plus when it acts (probability, fromRequest, untilRequest, cycle). `qcc-lab list` shows the kinds. Run `qcc-lab lint` to check that a connection fault can race a request.'),
  behaviour: behaviourSchema.default({}).describe('How this upstream answers a message when no fault takes the request over.'),
}).strict().describe('One fake upstream (a relay): a real HTTP server answering the Anthropic Messages API, with faults.')

export const pacingSchema = z.object({
  /** Requests sent back to back before a gap. */
  burst: z.number().int().positive().describe('Requests sent back to back (a pooled connection sits idle about 1 ms between them) before each pause.'),
  /** Pause after each burst (ms, or `{ constant, times, plusMs }`: it follows the proxy's constants). */
  gapMs: durationSchema.optional().describe('The pause after each burst, in ms, or { constant, times, plusMs } to follow one of the proxy\'s constants (e.g. { constant: recoverMs, plusMs: 1000 }). Set this or gapOfIdle, not both. The proxy\'s pooled connections sit idle this long (plus 1-5 ms) before the next burst: with an idle-close and a race-close fault, keep it inside [race-close afterIdleMs, idle-close idleMs) so the close races the request (`qcc-lab lint` checks it).'),
  /** Pause after each burst as a fraction of the first upstream's idle-close `idleMs`. */
  gapOfIdle: z.number().positive().optional().describe('The pause after each burst as a fraction of upstreams[0]\'s idle-close idleMs (0.375 with idleMs 400 = 150 ms). Set this or gapMs, not both. Below 1 the request comes before the idle close fires; above 1 the close (FIN) arrives first, and undici >= 8.5 then opens a new connection, so nothing fails: add a race-close fault with afterIdleMs below the pause to make the close cross the request.'),
}).strict().describe('Send the requests in bursts with a pause after each. The pause is how long the proxy\'s pooled connections sit idle, which decides whether a keep-alive race can land.')

export const workloadSchema = z.object({
  requests: z.number().int().positive().max(100_000).describe('How many requests the client sends in all (the metric `requests`).'),
  concurrency: z.number().int().positive().max(1_024).default(1).describe('Requests in flight at once (a closed loop): each worker sends its next request when its previous one ended.'),
  stream: z.boolean().default(false).describe('Ask for SSE answers ("stream": true); otherwise JSON.'),
  pacing: pacingSchema.optional(),
  /** Per-request limit; a request still unanswered then counts as a client-side timeout (ms). */
  requestTimeoutMs: durationSchema.default(10_000).describe('The client\'s limit per request, in ms or { constant, times, plusMs }; a request still unanswered then fails on the client side (failures.client:<outcome>).'),
  /** The whole workload stops issuing requests after this long (ms). Default 60 s plus the pauses. */
  maxDurationMs: durationSchema.optional().describe('The workload stops sending after this long, in ms or { constant, times, plusMs }; requests not sent count as skipped. Default: 60 s (or two request timeouts) plus the pauses.'),
}).strict().describe('The client traffic sent through the proxy (undici, one request after another per worker).')

export const expectationSchema = z.union([
  z.string(),
  z.object({
    name: z.string().min(1).optional().describe('What the check means, shown in the report instead of the check.'),
    check: z.string().describe('"<metric> <op> <number | metric>", op one of >= <= == != > <, e.g. "failures.total == 0" or "upstream.connections < requests". `qcc-lab list --metrics` lists the metrics.'),
  }).strict(),
], { error: 'expected a check such as "failures.total == 0", or a mapping with "name" and "check"' })
  .describe('A check on the variant\'s report such as "failures.total == 0", or { name, check }. Metrics are checked when the file loads: `qcc-lab list --metrics` lists them.')

/** Proxy settings beyond the connector: qcc's attempt loop, breaker, balancer, verifier, compat switches. */
export const proxySettingsSchema = z.object({
  strategy: z.enum(strategyNames as [string, ...string[]]).describe('How the proxy picks an endpoint among the best candidates (`qcc-lab list` describes each).'),
  attempts: z.object({
    max: z.number().int().positive().max(20).describe('Attempts per client request, over all endpoints (qcc: 5). 1 isolates the connector.'),
    perEndpoint: z.number().int().positive().max(20).describe('Attempts per client request on one endpoint (qcc: 2).'),
  }).partial().strict().describe('qcc\'s attempt loop.'),
  breaker: z.object({
    threshold: z.number().int().positive().max(1_000_000).describe('Consecutive failed attempts that open an endpoint\'s circuit breaker (qcc: 3).'),
    openMs: z.number().int().nonnegative().max(MAX_TIMER_MS).describe('How long a breaker stays open before a half-open probe (ms): the constant breakerOpenMs.'),
  }).partial().strict().describe('The per-endpoint circuit breaker.'),
  recoverAfterMs: z.number().int().nonnegative().max(MAX_TIMER_MS).describe('How long after a failed answer (5xx, 429) an endpoint that is fine again gets normal traffic back (ms): the constant recoverMs.'),
  verifier: z.object({
    enabled: z.boolean().describe('Verify endpoints in the failure queue (qcc\'s verification-code prompt).'),
    intervalMs: z.number().int().positive().max(MAX_TIMER_MS).describe('How often queued endpoints are verified (ms): the constant verifierIntervalMs.'),
    timeoutMs: z.number().int().positive().max(MAX_TIMER_MS).describe('How long one verification call may take (ms).'),
  }).partial().strict().describe('The failure queue\'s verifier.'),
  /** How long the bundled proxy waits for a response head (ms): its connector's headersTimeoutMs. */
  headersTimeoutMs: z.number().int().positive().max(MAX_TIMER_MS).describe('How long the bundled proxy waits for a response head before it fails over (ms): the constant headersTimeoutMs.'),
  compat: z.array(z.string()).describe('Compat switches or presets that replay historical qcc bugs (`qcc-lab list`); a variant with any is bundled-only.'),
}).partial().strict()

export type ProxySettings = z.infer<typeof proxySettingsSchema>

export const variantSchema = z.object({
  name: name.describe('The variant\'s name, unique in the scenario; `qcc-lab run <file> -p <name>` runs only it.'),
  description: z.string().optional().describe('What this variant shows, one line.'),
  /** Default: the proxy's own default (tuned-keepalive). Setting it makes the variant bundled-proxy-only. */
  connector: labConnectorSchema.optional().describe('The bundled proxy\'s connector: a profile (force-close, naive-keepalive, tuned-keepalive) or { profile, ...overrides }. Default tuned-keepalive. Setting it makes the variant bundled-only (not run against a target).'),
  /**
   * Merged over the scenario's `proxy` settings (compat lists are added). In a contract they are the
   * bundled proxy's constants for the run; against a target its profile's constants replace them.
   */
  proxy: proxySettingsSchema.optional().describe('The bundled proxy\'s settings for this variant, merged over the scenario\'s (compat lists are added). Against a target its profile\'s constants replace them.'),
  /** The client's own limit for this variant, when it differs from the scenario's. */
  workload: z.object({
    requestTimeoutMs: durationSchema.describe('The client\'s limit per request for this variant, in ms or { constant, times, plusMs }.'),
  }).partial().strict().optional().describe('What this variant\'s client does differently from the scenario\'s workload.'),
  expect: z.array(expectationSchema).min(1, 'a variant needs at least one expectation, or it cannot fail').describe('The checks that decide this variant\'s verdict; at least one.'),
}).strict().describe('One proxy setup and what it must show. Without connector and compat it is a contract: what any correct relay proxy meets under these faults, run against your proxy in target mode too.')

export const scenarioSchema = z.object({
  name: name.optional().describe('The scenario\'s name (lower-case letters, digits, ".", "_", "-"). Default: the file name without .yaml.'),
  description: z.string().min(1).describe('What the scenario replays, in a sentence or two (`qcc-lab list` shows the first sentence).'),
  rootCause: z.string().optional().describe('Why the failure happens; `qcc-lab explain` shows it.'),
  seed: z.number().int().nonnegative().default(1).describe('Seeds fault probabilities and payloads; `qcc-lab run --seed` overrides it.'),
  concurrency: z.enum(['parallel', 'alone', 'serial']).default('parallel').describe('Whether `qcc-lab run --jobs` may run this scenario\'s variants beside others (each has its own upstreams and proxy, they share only the CPU). `parallel` (default): yes. `alone`: nothing from another scenario runs beside it, its own variants side by side; for a timing window too narrow to share the CPU. `serial`: one variant at a time, nothing beside it.'),
  upstreams: z.array(upstreamSchema).min(1).describe('The fake upstreams the proxy forwards to, in cluster order; at least one.'),
  proxy: proxySettingsSchema.default({}).describe('The bundled proxy\'s settings for every variant: attempt loop, breaker, balancer, verifier, compat switches.'),
  workload: workloadSchema,
  variants: z.array(variantSchema).min(1).describe('The proxy setups to run, each with its own expectations; at least one.'),
}).strict()


/** The workload as written: durations may still follow the proxy's constants. */
export interface WorkloadTemplate {
  readonly requests: number
  readonly concurrency: number
  readonly stream: boolean
  readonly burst: number
  readonly gap: Duration
  readonly requestTimeout: Duration
  readonly maxDuration?: Duration
}

/** The workload for one run: every duration resolved against the constants the run follows. */
export function resolveWorkload(t: WorkloadTemplate, c: ProxyConstants, variant?: { readonly requestTimeout?: Duration }): WorkloadSpec {
  const gapMs = resolveDuration(t.gap, c)
  const requestTimeoutMs = Math.max(1, resolveDuration(variant?.requestTimeout ?? t.requestTimeout, c))
  const gaps = Math.max(0, Math.ceil(t.requests / t.burst) - 1)
  // By default: a minute, or two request timeouts when they are longer, plus the pauses.
  const maxDurationMs = t.maxDuration === undefined
    ? Math.min(MAX_TIMER_MS, Math.max(60_000, 2 * requestTimeoutMs) + gaps * gapMs)
    : Math.max(1, resolveDuration(t.maxDuration, c))
  return { requests: t.requests, concurrency: t.concurrency, stream: t.stream, burst: t.burst, gapMs, requestTimeoutMs, maxDurationMs }
}

/** A validated scenario with defaults applied and checks parsed. */
export interface Scenario {
  readonly name: string
  readonly file: string
  readonly description: string
  readonly rootCause?: string
  readonly seed: number
  /** Whether its variants may run beside others' (see scenarioSchema); absent: `parallel`. */
  readonly concurrency?: 'parallel' | 'alone' | 'serial'
  readonly upstreams: ReadonlyArray<{
    readonly name: string
    readonly priority?: number
    readonly weight?: number
    /** Validated fault specs; a duration inside may still be `{ constant: … }` (resolved per run). */
    readonly faults: readonly unknown[]
    readonly behaviour: z.infer<typeof behaviourSchema>
  }>
  readonly workload: WorkloadTemplate
  readonly variants: ReadonlyArray<{
    readonly name: string
    readonly description?: string
    readonly connector: import('../../proxy/connector/profiles.ts').ConnectorSelection
    /** The scenario's proxy settings with the variant's merged over them. */
    readonly proxy: ProxySettings
    /**
     * A contract: it sets no connector profile and no compat switch, so its expectations are what any
     * correct relay proxy must meet under these faults; it runs against targets too.
     */
    readonly contract: boolean
    /** Why the variant runs only against the bundled proxy; undefined for a contract. */
    readonly bundledOnly?: string
    /** The client's request timeout for this variant, when it differs from the scenario's. */
    readonly requestTimeout?: Duration
    readonly expect: readonly Expectation[]
  }>
}
