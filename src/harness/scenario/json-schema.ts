/**
 * JSON Schemas for the files a user writes by hand (scenarios, qcc-lab proxy configs), generated from
 * the zod schemas that validate them, so an editor (yaml-language-server, VS Code's YAML extension)
 * completes and documents each field as the loader reads it. `qcc-lab schema <name>` prints them; the
 * files in `schemas/` are this module's output, and a test keeps them equal.
 *
 * Descriptions come from `.describe()` where the field is defined (the scenario schema), and from the
 * tables below for schemas defined in modules that do not depend on this one (durations, faults, the
 * proxy config): the zod schemas and what they accept are never changed here.
 *
 * What JSON Schema cannot say stays with the loader: rules across fields (gapMs or gapOfIdle, unique
 * names), the expectation checks (metric names), URL and timer refinements. A file the editor accepts
 * can still be refused by `qcc-lab run` / `qcc-lab lint`, always with file:line:column.
 */
import { z } from 'zod'
import { faultKinds, faults, scheduleSchema, type FaultKind } from '../../../fake-upstreams/faults/index.ts'
import { compatNames } from '../../proxy/compat.ts'
import { connectorOverridesSchema, connectorSelectionSchema } from '../../proxy/connector/profiles.ts'
import { labClusterSchema, labConfigSchema, labEndpointSchema } from '../../proxy/config/lab-config.ts'
import { constantDurationSchema, durationSchema } from './constants.ts'
import { proxySettingsSchema, scenarioSchema, upstreamSchema } from './schema.ts'

type JsonObject = Record<string, unknown>
type ZodAny = z.core.$ZodType

/** `{ [field]: description }` for every field of an object schema: a new field without one is a type error. */
type FieldDocs<S extends z.ZodObject> = { readonly [K in keyof S['shape']]: string }

/** The shape of an object schema behind `.optional()` / `.default()`. */
function shapeOf(schema: ZodAny): Record<string, ZodAny> {
  let s = schema as ZodAny & { unwrap?: () => ZodAny; shape?: Record<string, ZodAny> }
  while (s.shape === undefined && typeof s.unwrap === 'function') s = s.unwrap() as typeof s
  if (s.shape === undefined) throw new Error('json-schema: expected an object schema')
  return s.shape
}

function fieldDocs<S extends z.ZodObject>(schema: ZodAny, docs: FieldDocs<S>): Array<[ZodAny, string]> {
  const shape = shapeOf(schema)
  return Object.entries(docs).map(([field, text]) => [shape[field]!, text as string])
}

const durationDoc = 'A duration: whole milliseconds, or { constant, times, plusMs } = constant × times + plusMs, resolved for each run against the proxy\'s constants (the bundled proxy: the variant\'s settings; a target: its target profile), e.g. { constant: recoverMs, plusMs: 1000 }.'

const constantDurationDocs: FieldDocs<typeof constantDurationSchema> = {
  constant: 'The proxy constant to follow: recoverMs (within how long a recovered endpoint gets its traffic back), verifierIntervalMs (how often queued endpoints are verified), breakerOpenMs (how long a breaker stays open), headersTimeoutMs (how long the proxy waits for a response head).',
  times: 'Multiplies the constant (default 1).',
  plusMs: 'Added after multiplying, in ms; may be negative (default 0). The result is clamped to 0 … 2147483647 ms.',
}

const scheduleDocs: FieldDocs<typeof scheduleSchema> = {
  probability: 'Chance (0-1) that the fault acts on a request inside its schedule, rolled with the scenario\'s seed (default 1: always).',
  fromRequest: 'First request (1-based, counted at this upstream) the fault acts on (default 1).',
  untilRequest: 'Last request (1-based, counted at this upstream) the fault acts on; default: no end.',
  cycle: 'Flapping: from fromRequest on, `on` requests faulty then `off` requests clean, repeated.',
}

const cycleDocs = { on: 'Requests the fault acts on in each cycle.', off: 'Clean requests after them in each cycle.' } as const

/** One line per fault parameter, per kind (the fault files say the same in their comments). */
const faultParamDocs: { readonly [K in FaultKind]: FieldDocs<(typeof faults)[K]['params']> } = {
  'idle-close': {
    idleMs: 'The relay\'s real idle timeout: a connection idle this long is closed (ms). Alone it cannot fail a request with undici >= 8.5 (a FIN that already arrived is seen before reuse): add race-close to make the close cross a request. `qcc-lab lint` checks the timing.',
    mode: 'fin = graceful close (undici: "other side closed"); rst = reset (ECONNRESET).',
    keepAliveHeader: 'What the Keep-Alive response header says: honest (timeout=floor(idleMs/1000), as Node\'s server), lying (advertisedMs instead), absent (no header; the client guesses).',
    advertisedMs: 'What a lying Keep-Alive header advertises (ms, sent in whole seconds).',
  },
  'race-close': {
    afterIdleMs: 'On a reused connection idle at least this long (ms), read the request head, then close without answering: the idle close crossing the request, every time. 0 = every reused connection. Keep the workload\'s pause between this and idle-close idleMs.',
    mode: 'fin = undici "other side closed"; rst = ECONNRESET.',
  },
  'error-response': {
    status: 'HTTP status to answer with (200-599; 200 = a 200 with an error body).',
    errorType: 'Anthropic error type; default from the status (529 → overloaded_error, 429 → rate_limit_error, …).',
    message: 'The error message text.',
    retryAfterS: 'Sends retry-after: <seconds>.',
  },
  'reset-mid-stream': {
    afterEvents: 'Cut the response after this many SSE events (0 = right after the head; a JSON answer has no events, so only 0 cuts it).',
    mode: 'fin = end the stream early; rst = reset the connection (default).',
  },
  'delay-response': {
    delayMs: 'Hold the response head back this long (ms); beyond the proxy\'s headersTimeoutMs it is a hung upstream. May be { constant: headersTimeoutMs, plusMs: … }.',
  },
  'close-after-response': {
    afterMs: 'Close the connection this long after each response (ms; 0 = in the same tick). 0-3 ms is the window where a pooling client writes its next request into a closing connection (aiohttp "Cannot write to closing transport").',
    mode: 'fin = graceful close; rst = reset (ECONNRESET).',
    advertisedMs: 'What the Keep-Alive: timeout= header advertises (ms, sent in whole seconds).',
  },
}

const behaviourDocs = {
  textDeltas: 'text_delta events in a streamed answer (and words in a JSON one).',
  firstByteDelayMs: 'Delay before the response head (ms).',
  eventIntervalMs: 'Pause between two SSE events (ms): a slow stream.',
  echoVerificationCode: 'Answer a verification prompt with its code, so the proxy\'s verifier can prove a queued endpoint back.',
} as const

const connectorDocs: FieldDocs<typeof connectorOverridesSchema> = {
  idleTimeoutMs: 'How long an idle pooled connection is kept when the upstream sends no Keep-Alive: timeout= hint, or when the hint is not honoured (ms).',
  honourKeepAliveHint: 'Use the upstream\'s Keep-Alive: timeout= hint, minus hintMarginMs, as the idle expiry.',
  hintMarginMs: 'Subtracted from the hint so the client gives a connection up before the server closes it (ms); a hint at or below it means no reuse at all.',
  maxIdleTimeoutMs: 'Upper bound on any idle expiry (ms).',
  retryStaleOnFreshConnection: 'Retry once, on a new connection, a request whose reused connection failed before any response byte (counted as attempts.retried).',
  connections: 'Connections per endpoint (requests beyond wait); null = no limit.',
  connectTimeoutMs: 'Time allowed to connect (ms).',
  headersTimeoutMs: 'Time allowed for the response head (ms).',
  bodyTimeoutMs: 'Time allowed between two body chunks (ms); a quieter SSE stream is cut.',
}

const configDocs: FieldDocs<typeof labConfigSchema> = {
  host: 'Address to listen on (default 127.0.0.1).',
  port: 'Port to listen on (default 7860; 0 = any free port).',
  logFile: 'Also write the log lines to this file.',
  allowedHosts: 'Host names a request\'s Host or Origin may carry besides loopback names and the listen address; "*" = any.',
  maxBodyBytes: 'Largest request body accepted (bytes; default 32 MiB); larger is 413.',
  clusters: 'Clusters by name; `qcc-lab proxy start --cluster <name>` serves one.',
}

const clusterDocs: FieldDocs<typeof labClusterSchema> = {
  endpoints: 'The relays (or API keys) this cluster spreads requests over.',
  qcc: 'Import the endpoints from a qcc cache.json profile (or EndpointGroup) instead of listing them.',
  endpointOverrides: 'Settings for endpoints imported from qcc, by endpoint id (sha256(url|key), 8 hex characters).',
  connector: 'How the proxy holds connections to each endpoint: force-close, naive-keepalive, tuned-keepalive (default), or { profile, ...overrides }.',
  strategy: 'How an endpoint is picked among the best candidates: priority_failover, weighted, round_robin, random, least_connections.',
  attempts: 'qcc\'s attempt loop: at most max attempts per request, perEndpoint on one endpoint (qcc: 5 and 2).',
  breaker: 'Circuit breaker: open after threshold consecutive failed attempts, for openMs (qcc: 3 and 60 s).',
  recoverAfterMs: 'How long after a failed answer (5xx, 429) an endpoint that is fine again gets normal traffic back (ms).',
  verifier: 'Verification of endpoints in the failure queue (qcc\'s verification-code prompt).',
  affinityTtlMs: 'How long a conversation (x-conversation-id) sticks to its endpoint (ms).',
  compat: 'Compat switches or presets that replay historical qcc bugs; off by default (`qcc-lab list`).',
  modelOverride: 'Send every request with this model instead of the client\'s.',
}

const endpointDocs: FieldDocs<typeof labEndpointSchema> = {
  id: 'Endpoint id (8 hex characters); default sha256(baseUrl|apiKey)[:8], as qcc computes it.',
  baseUrl: 'The relay\'s base URL, http:// or https://.',
  apiKey: 'The API key sent to this relay. Prefer apiKeyEnv, so the key is not in the file.',
  apiKeyEnv: 'Name of an environment variable holding the API key.',
  weight: 'Weight for the weighted strategy.',
  priority: 'Priority for priority_failover: lower is tried first.',
  enabled: 'false takes the endpoint out of rotation.',
  maxFailures: 'Failures before the endpoint is marked unhealthy.',
  connector: 'This endpoint\'s connector, replacing the cluster\'s.',
  rejectUnauthorized: 'Verify the relay\'s TLS certificate (default true).',
}

const nestedClusterDocs: ReadonlyArray<[ZodAny, Record<string, string>]> = [
  [labClusterSchema.shape.qcc, { cache: 'The qcc cache.json to read (default ~/.fastcc/cache.json).', profile: 'The qcc profile (or EndpointGroup) whose endpoints to use.' }],
  [labClusterSchema.shape.attempts, { max: 'Attempts per request over all endpoints (qcc: 5).', perEndpoint: 'Attempts per request on one endpoint (qcc: 2).' }],
  [labClusterSchema.shape.breaker, { threshold: 'Consecutive failed attempts that open the breaker (qcc: 3).', openMs: 'How long the breaker stays open before a half-open probe (ms; qcc: 60 s).' }],
  [labClusterSchema.shape.verifier, { enabled: 'Verify queued endpoints.', intervalMs: 'How often queued endpoints are verified (ms; qcc: 60 s).', model: 'Model used for the verification call.', timeoutMs: 'How long one verification call may take (ms).' }],
]

/** Descriptions for schemas this module does not define, by schema instance. */
const borrowedDocs = new Map<ZodAny, string>([
  ...fieldDocs(constantDurationSchema, constantDurationDocs),
  ...fieldDocs(scheduleSchema, scheduleDocs),
  ...fieldDocs(scheduleSchema.shape.cycle, cycleDocs),
  ...fieldDocs(upstreamSchema.shape.behaviour, behaviourDocs),
  ...fieldDocs(connectorOverridesSchema, connectorDocs),
  [(connectorSelectionSchema.options[1] as z.ZodObject).shape.profile!, 'The connector profile the overrides apply to: force-close, naive-keepalive or tuned-keepalive (`qcc-lab list` describes them).'],
  ...fieldDocs(labConfigSchema, configDocs),
  ...fieldDocs(labClusterSchema, clusterDocs),
  ...fieldDocs(labEndpointSchema, endpointDocs),
  ...nestedClusterDocs.flatMap(([schema, docs]) => fieldDocs(schema, docs)),
])

/** Named once in `$defs` and referenced wherever a duration may be written. */
const definitions = new Map<ZodAny, z.core.JSONSchemaMeta>([
  [durationSchema, { id: 'Duration', description: durationDoc }],
  [constantDurationSchema, { id: 'ConstantDuration', description: 'A duration that follows one of the proxy\'s constants: constant × times + plusMs.' }],
])

/**
 * The metadata the generator reads: the `.describe()` of the schema itself (zod's global registry) over
 * the tables above. A registry of its own, so nothing here is written into zod's global one.
 */
function docsRegistry(extra: ReadonlyMap<ZodAny, string>): z.core.$ZodRegistry<z.core.JSONSchemaMeta> {
  const own = z.registry<z.core.JSONSchemaMeta>()
  for (const [schema, meta] of definitions) own.add(schema, meta)
  for (const docs of [borrowedDocs, extra]) for (const [schema, text] of docs) own.add(schema, { ...own.get(schema), description: text })
  const get = own.get.bind(own)
  return Object.assign(Object.create(own) as typeof own, {
    get: (schema: ZodAny) => {
      const global = z.globalRegistry.get(schema)
      const local = get(schema)
      return global === undefined && local === undefined ? undefined : { ...local, ...global }
    },
  })
}

/** Lists of names the loader checks after the schema (compat names): offered to the editor as enums. */
const borrowedEnums = new Map<ZodAny, readonly string[]>([
  [(proxySettingsSchema.shape.compat.unwrap() as z.ZodArray).element, compatNames],
  [(labClusterSchema.shape.compat.unwrap() as z.ZodArray).element, compatNames],
])

/** A fault parameter in ms may follow a constant too (parse.ts resolves them before the kind's schema). */
function maybeConstant(param: ZodAny, name: string): ZodAny {
  if (!name.endsWith('Ms')) return param
  const p = param as z.ZodType & { unwrap?: () => z.ZodType }
  const wrapped = (inner: z.ZodType): z.ZodType => z.union([inner, constantDurationSchema])
  if (p instanceof z.ZodDefault) return wrapped(p.unwrap() as z.ZodType).default(p.def.defaultValue as never)
  if (p instanceof z.ZodOptional) return wrapped(p.unwrap() as z.ZodType).optional()
  return wrapped(p)
}

/** One schema per fault kind: `kind`, its parameters and its schedule (what a scenario's fault may say). */
function faultSpecSchemas(): { schema: z.ZodType; docs: Map<ZodAny, string> } {
  const docs = new Map<ZodAny, string>()
  const kinds = faultKinds.map((kind) => {
    const def = faults[kind]
    const params: Record<string, z.ZodType> = {}
    for (const [name, param] of Object.entries(def.params.shape as Record<string, z.ZodType>)) {
      const s = maybeConstant(param, name) as z.ZodType
      params[name] = s
      const text = (faultParamDocs[kind] as Record<string, string>)[name]
      if (text !== undefined) docs.set(s, s === param ? text : `${text} May follow a constant: { constant, times, plusMs }.`)
    }
    const kindField = z.literal(kind)
    docs.set(kindField, def.summary)
    const spec = z.object({ kind: kindField, ...params, ...scheduleSchema.shape }).strict()
    docs.set(spec, `${kind}: ${def.summary}`)
    return spec
  })
  return { schema: z.discriminatedUnion('kind', kinds as unknown as [z.ZodObject, ...z.ZodObject[]]), docs }
}

function generate(schema: ZodAny, extra: { docs?: ReadonlyMap<ZodAny, string>; replace?: ReadonlyMap<ZodAny, JsonObject> } = {}): JsonObject {
  return z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    metadata: docsRegistry(extra.docs ?? new Map()),
    override: (ctx) => {
      const replacement = extra.replace?.get(ctx.zodSchema)
      if (replacement) {
        for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as JsonObject)[key]
        Object.assign(ctx.jsonSchema, replacement)
      }
      const names = borrowedEnums.get(ctx.zodSchema)
      if (names) ctx.jsonSchema.enum = [...names]
    },
  }) as JsonObject
}

/** The scenario file format, as JSON Schema (draft 2020-12). */
export function scenarioJsonSchema(): JsonObject {
  const fault = faultSpecSchemas()
  const { $schema: _drop, $defs: faultDefs, ...faultJson } = generate(fault.schema, { docs: fault.docs })
  const faultItem = (upstreamSchema.shape.faults.unwrap() as z.ZodArray).element
  const body = generate(scenarioSchema, { replace: new Map([[faultItem, faultJson]]) })
  // The fault kinds' durations refer to the same $defs as the rest of the file.
  const defs = { ...(body.$defs as JsonObject | undefined), ...(faultDefs as JsonObject | undefined) }
  return {
    $schema: body.$schema,
    title: 'qcc-lab scenario',
    description: 'A qcc-lab scenario: fake upstreams and their faults, the client workload, and the proxy variants with their expectations. Check a file with `qcc-lab lint <file>`, run it with `qcc-lab run <file>`.',
    ...withoutSchemaKey(body),
    $defs: defs,
  }
}

/** The qcc-lab proxy config (`qcc-lab proxy start --config <file>`), as JSON Schema (draft 2020-12). */
export function proxyConfigJsonSchema(): JsonObject {
  const body = generate(labConfigSchema)
  return {
    $schema: body.$schema,
    title: 'qcc-lab proxy config',
    description: 'A qcc-lab proxy config (YAML or JSON) for `qcc-lab proxy start --config <file> --cluster <name>`: clusters of endpoints, or endpoints imported from a qcc cache.json profile, with connector, strategy, attempts, breaker, verifier and compat switches.',
    ...withoutSchemaKey(body),
  }
}

function withoutSchemaKey(json: JsonObject): JsonObject {
  const { $schema: _drop, ...rest } = json
  return rest
}

/** The schemas `qcc-lab schema` prints and `schemas/` ships, by name. */
export const jsonSchemas = {
  scenario: { file: 'scenario.schema.json', build: scenarioJsonSchema },
  'proxy-config': { file: 'proxy-config.schema.json', build: proxyConfigJsonSchema },
} as const satisfies Record<string, { readonly file: string; readonly build: () => JsonObject }>

export type JsonSchemaName = keyof typeof jsonSchemas

export const jsonSchemaNames = Object.keys(jsonSchemas) as JsonSchemaName[]

/** The file text: what `qcc-lab schema <name>` prints and `schemas/<file>` holds. */
export function jsonSchemaText(name: JsonSchemaName): string {
  return `${JSON.stringify(jsonSchemas[name].build(), null, 2)}\n`
}
