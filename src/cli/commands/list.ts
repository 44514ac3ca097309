/** `qcc-lab list`: what can be run and combined. */
import type { Command } from 'commander'
import { faults } from '../../../fake-upstreams/faults/index.ts'
import { connectorProfiles } from '../../proxy/connector/profiles.ts'
import { compatPresets, compatSwitches } from '../../proxy/compat.ts'
import { strategies } from '../../proxy/balancer/index.ts'
import { listBundledScenarios, loadScenario } from '../../harness/scenario/load.ts'
import { metricPaths, metricProblem, statsShape, upstreamFields, type Shape } from '../../harness/gate/expectation.ts'
import { clientFailureClasses } from '../../harness/report/failure-class.ts'
import { attemptOutcomes, outcomeLabels } from '../../proxy/outcome.ts'

/** The first sentence, for a one-line listing. */
function firstSentence(text: string): string {
  const m = /^.*?[.!?](?=\s|$)/s.exec(text)
  return (m ? m[0] : text).replace(/\s+/g, ' ')
}

// --- metrics: what an expectation can read ---------------------------------------------------------

type MetricPath = (typeof metricPaths)[number]
type LatencyRoot = 'latencyMs' | 'ttfbMs' | 'firstEventMs'
type MetricGroup = 'client' | 'upstream' | 'bundled' | 'stats'

export interface MetricEntry {
  /** As an expectation writes it; `<name>`, `<status>`, `<index>`, `<id>` stand for a value. */
  readonly metric: string
  readonly group: MetricGroup
  readonly unit: string
  readonly meaning: string
  /** `failures.<class>`, `causes.<outcome>`, `upstreams.<name>.<field>`, `stats.*`: the family it belongs to. */
  readonly family?: string
  /** Shown on one line with its siblings in the text listing: `latencyMs.<p50|p90|…>`. */
  readonly pattern?: { readonly shape: string; readonly value: string; readonly meaning: string }
}

const groupTitles: Readonly<Record<MetricGroup, string>> = {
  client: 'What the client saw (the same whichever proxy answered)',
  upstream: 'What reached the fake upstreams (their ledgers)',
  bundled: 'What only the bundled proxy tells (its attempt events; not evaluable against a target)',
  stats: 'The proxy\'s /__qcc__/stats at the end of the run (not evaluable when a field is not served)',
}

/** One line per plain metric: [group, unit, meaning]. Typed by the validator's own list, so none is left out. */
const plainMetricDocs: { readonly [P in Exclude<MetricPath, `${LatencyRoot}.${string}`>]: readonly [MetricGroup, string, string] } = {
  requests: ['client', 'requests', 'client requests in the workload, sent or skipped'],
  ok: ['client', 'requests', 'client requests that succeeded: a 2xx with a Messages API answer, a complete stream'],
  delivered: ['client', 'requests', 'successes whose body is an upstream\'s answer to that very request (its message id names the request): proof of forwarding'],
  streamed: ['client', 'requests', 'SSE streams that reached the client as that request\'s upstream stream (its message_start), however they ended'],
  'failures.total': ['client', 'requests', 'client requests that failed, whatever the class (the sum of failures.<class>)'],
  'attempts.total': ['bundled', 'attempts', 'proxy→upstream attempts, every try of every request'],
  'attempts.staleSocket': ['bundled', 'attempts', 'attempts written onto a pooled connection the upstream closed under them before any response byte (other side closed, ECONNRESET, EPIPE)'],
  'attempts.retried': ['bundled', 'attempts', 'stale-socket attempts retried once on a fresh connection (tuned-keepalive)'],
  'attempts.failed': ['bundled', 'attempts', 'attempts with any outcome but ok'],
  'upstream.connections': ['upstream', 'connections', 'TCP connections the fake upstreams accepted and used'],
  'upstream.received': ['upstream', 'requests', 'client requests that reached an upstream, per arrival (a retried request counts twice)'],
  'upstream.ok': ['upstream', 'requests', 'arrivals answered with a 2xx'],
  'upstream.answered': ['upstream', 'requests', 'arrivals answered, any status'],
  'upstream.dropped': ['upstream', 'requests', 'arrivals closed or reset without an answer (race-close; a request that crossed a close)'],
  'upstream.probes': ['upstream', 'requests', 'requests the proxy made on its own (verification calls), kept apart from the client\'s'],
  'upstream.duplicates': ['upstream', 'requests', 'client requests answered 2xx more than once (a non-idempotent request processed twice)'],
  'upstream.redelivered': ['upstream', 'requests', 'client requests whose head arrived again after an earlier arrival was dropped or cut'],
  'upstream.lost': ['upstream', 'requests', 'client requests that failed and that no upstream answered'],
  'upstream.requestsPerConnection': ['upstream', 'requests/connection', 'client requests per upstream connection (1.00 = a new connection per request)'],
}

const latencyDocs: Readonly<Record<LatencyRoot, string>> = {
  latencyMs: 'client latency, request to the end of the body',
  ttfbMs: 'time to the response head',
  firstEventMs: 'SSE: time to the first complete event (not evaluable when no stream delivered one)',
}

const failureClassDocs: { readonly [C in Exclude<(typeof clientFailureClasses)[number], 'total'>]: string } = {
  'no-endpoint': 'a 5xx that says no endpoint was tried: "All 0 endpoints failed", "No available endpoints", …',
  'truncated-stream': 'a 2xx SSE stream that ended without message_stop, however cleanly',
  'sse-error': 'a 2xx SSE stream that carried an event: error',
  'error-body': 'a 2xx whose body is an error',
  'wrong-answer': 'a 2xx that is no Messages API answer: empty, not JSON, a stream answered as JSON',
  skipped: 'requests never sent: workload.maxDurationMs ran out first',
}

const upstreamFieldDocs: { readonly [F in (typeof upstreamFields)[number]]: readonly [string, string] } = {
  received: ['requests', 'client requests that reached this upstream, per arrival'],
  answered: ['requests', 'arrivals it answered, any status'],
  ok: ['requests', 'arrivals it answered with a 2xx'],
  dropped: ['requests', 'arrivals it closed or reset without an answer'],
  probes: ['requests', 'the proxy\'s own calls to it (verifications), kept apart from the client\'s'],
  connections: ['connections', 'TCP connections it accepted and used'],
}

/** The top-level /__qcc__/stats fields; a nested field reads as `<parent> › <field>`. */
const statsDocs: Readonly<Record<string, string>> = {
  total_requests: 'requests the proxy handled',
  successful_requests: 'requests it answered successfully',
  failed_requests: 'requests it answered with a failure',
  success_rate: 'successful / total requests, as the proxy reports it',
  uptime: 'how long the proxy has run, as it reports it',
  endpoints: 'one endpoint\'s stats, by index in the cluster',
  total_endpoints: 'endpoints in the cluster',
  healthy_endpoints: 'endpoints that are healthy now',
  failed_endpoints: 'endpoints listed as failed (a list: reads as its length)',
  failure_queue_size: 'endpoints in the failure queue',
  endpoint_verify_counts: 'verification calls per endpoint id',
  stale_retries: 'stale-socket retries on a fresh connection',
  sessions: 'conversations with session affinity (x-conversation-id)',
  compat: 'compat switches that are on (a list: reads as its length)',
  attempts_by_outcome: 'proxy→upstream attempts by outcome',
  failure_queue_stats: 'failure-queue totals',
}

/** Every leaf of the stats shape: `stats.endpoints.<index>.pool.free`, `stats.endpoint_verify_counts.<id>`. */
function statsLeaves(shape: Shape, prefix: string[] = []): Array<{ path: string[]; kind: 'number' | 'list' }> {
  if (typeof shape === 'string') return [{ path: prefix, kind: shape }]
  return Object.entries(shape).flatMap(([key, sub]) => statsLeaves(sub, [...prefix, key === '#' ? '<index>' : key === '*' ? '<id>' : key]))
}

/** Every metric an expectation can read, from the lists the expectation validator checks against. */
export function metricCatalogue(): MetricEntry[] {
  const out: MetricEntry[] = []
  for (const path of metricPaths) {
    const [root, field] = path.split('.') as [string, string | undefined]
    if (root in latencyDocs) {
      const meaning = latencyDocs[root as LatencyRoot]
      out.push({ metric: path, group: 'client', unit: 'ms', meaning: `${meaning}: ${field}`, pattern: { shape: `${root}.<field>`, value: field!, meaning } })
    } else {
      const [group, unit, meaning] = plainMetricDocs[path as keyof typeof plainMetricDocs]!
      out.push({ metric: path, group, unit, meaning })
    }
  }
  const failures = 'failures.<class>'
  for (const [cls, meaning] of Object.entries(failureClassDocs)) out.push({ metric: `failures.${cls}`, group: 'client', unit: 'requests', meaning, family: failures })
  out.push({ metric: 'failures.http-<status>', group: 'client', unit: 'requests', meaning: 'answers with that status, e.g. failures.http-502 (a no-endpoint answer counts as failures.no-endpoint instead)', family: failures })
  // `ok` is no failure: `failures.client:ok` and `causes.ok` are accepted and always 0, so not listed.
  const outcomes = attemptOutcomes.filter((o) => o !== 'ok')
  const clientMeaning = 'the client\'s own request failed (it saw the connection fail, time out, …), by outcome'
  for (const o of outcomes) out.push({ metric: `failures.client:${o}`, group: 'client', unit: 'requests', meaning: `the client's own request failed: ${outcomeLabels[o]}`, family: failures, pattern: { shape: 'failures.client:<outcome>', value: o, meaning: clientMeaning } })
  const causes = 'causes.<outcome>'
  for (const o of outcomes) out.push({ metric: `causes.${o}`, group: 'bundled', unit: 'requests', meaning: `client failures whose last proxy attempt met: ${outcomeLabels[o]}`, family: causes })
  out.push({ metric: 'causes.no-endpoint', group: 'bundled', unit: 'requests', meaning: 'client failures where the proxy had no endpoint to try', family: causes })
  for (const f of upstreamFields) {
    const [unit, meaning] = upstreamFieldDocs[f]
    out.push({ metric: `upstreams.<name>.${f}`, group: 'upstream', unit, meaning: `${meaning} (<name>: an upstream of the scenario)`, family: 'upstreams.<name>.<field>' })
  }
  for (const leaf of statsLeaves(statsShape)) {
    const [top, ...rest] = leaf.path as [string, ...string[]]
    const shown = rest.filter((k) => !k.startsWith('<'))
    const placeholders = leaf.path.slice(0, leaf.path.length - shown.length)
    const meaning = statsDocs[top] ?? top
    out.push({
      metric: `stats.${leaf.path.join('.')}`,
      group: 'stats',
      unit: leaf.kind === 'list' ? 'count (list length)' : 'number',
      meaning: `${meaning}${shown.length > 0 ? ` › ${shown.join('.')}` : ''}`,
      family: 'stats.<field>',
      ...(shown.length > 0 ? { pattern: { shape: `stats.${placeholders.join('.')}.<field>`, value: shown.join('.'), meaning } } : {}),
    })
  }
  // Only what an expectation can really write: the validator has the last word.
  const example: Readonly<Record<string, string>> = { '<name>': 'upstream', '<status>': '502', '<index>': '0', '<id>': 'abcd1234' }
  return out.filter((e) => metricProblem(e.metric.replace(/<[a-z]+>/g, (p) => example[p] ?? p)) === undefined)
}

function printMetrics(json: boolean): void {
  const entries = metricCatalogue()
  if (json) {
    process.stdout.write(`${JSON.stringify({ schema: 'qcc-lab/metrics@1', metrics: entries }, null, 2)}\n`)
    return
  }
  const lines = ['Metrics an expectation can read: "<metric> <op> <number | metric>", op one of >= <= == != > <,', 'e.g. failures.total == 0 or upstream.connections < requests. <…> stands for a value.']
  for (const group of Object.keys(groupTitles) as MetricGroup[]) {
    lines.push('', `${groupTitles[group]}:`)
    // Siblings that differ only in their last part (latencyMs.p50, .p90, …) share one line.
    const rows: Array<{ metric: string; text: string; family?: string }> = []
    for (const e of entries.filter((x) => x.group === group)) {
      const shared = e.pattern && rows.find((r) => r.metric === e.pattern!.shape)
      if (shared) shared.text = shared.text.replace(/: ([^\]]*)\]$/, (_m, values: string) => `: ${values}, ${e.pattern!.value}]`)
      else if (e.pattern) rows.push({ metric: e.pattern.shape, text: `${e.pattern.meaning} [${e.unit}; ${/<[^>]+>$/.exec(e.pattern.shape)?.[0] ?? '<field>'}: ${e.pattern.value}]`, family: e.family })
      else rows.push({ metric: e.metric, text: `${e.meaning} [${e.unit}]`, family: e.family })
    }
    const width = Math.min(34, Math.max(...rows.map((r) => r.metric.length)))
    let family: string | undefined
    for (const r of rows) {
      if (r.family !== family) {
        family = r.family
        if (family !== undefined) lines.push(`  ${family}`)
      }
      const indent = r.family === undefined ? '  ' : '    '
      const metric = r.metric.length > width ? `${r.metric}\n${indent}${''.padEnd(width)}` : r.metric.padEnd(width)
      lines.push(`${indent}${metric}  ${r.text}`)
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}

export async function listCommand(flags: { json?: boolean; metrics?: boolean }): Promise<number> {
  if (flags.metrics) {
    printMetrics(flags.json === true)
    return 0
  }
  const scenarios = []
  for (const name of await listBundledScenarios()) {
    const s = await loadScenario(name)
    scenarios.push({ name: s.name, description: firstSentence(s.description), variants: s.variants.map((v) => v.name) })
  }
  const data = {
    scenarios,
    faults: Object.values(faults).map((f) => ({ kind: f.kind, summary: f.summary, params: Object.keys(f.params.shape) })),
    connectorProfiles: Object.entries(connectorProfiles).map(([name, p]) => ({ name, summary: p.summary, settings: p.settings })),
    strategies: Object.entries(strategies).map(([name, s]) => ({ name, summary: s.summary })),
    compatSwitches: Object.entries(compatSwitches).map(([name, s]) => ({ name, replays: s.replays, since: s.since })),
    compatPresets: Object.entries(compatPresets).map(([name, switches]) => ({ name, switches })),
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ schema: 'qcc-lab/list@1', ...data }, null, 2)}\n`)
    return 0
  }
  const lines = ['Scenarios:']
  for (const s of data.scenarios) lines.push(`  ${s.name.padEnd(24)} ${s.description}`, `  ${''.padEnd(24)} variants: ${s.variants.join(', ')}`)
  lines.push('', 'Faults:')
  for (const f of data.faults) lines.push(`  ${f.kind.padEnd(24)} ${f.summary}`, `  ${''.padEnd(24)} params: ${f.params.join(', ')}, probability`)
  lines.push('', 'Connector profiles:')
  for (const p of data.connectorProfiles) lines.push(`  ${p.name.padEnd(24)} ${p.summary}`)
  lines.push('', 'Balancer strategies:')
  for (const s of data.strategies) lines.push(`  ${s.name.padEnd(24)} ${s.summary}`)
  lines.push('', 'Compat switches (off by default; replay a historical qcc behaviour):')
  for (const c of data.compatSwitches) lines.push(`  ${c.name.padEnd(28)} ${firstSentence(c.replays)}`)
  lines.push('', 'Compat presets:')
  for (const p of data.compatPresets) lines.push(`  ${p.name.padEnd(28)} ${p.switches.join(', ')}`)
  process.stdout.write(`${lines.join('\n')}\n`)
  return 0
}

export function registerList(program: Command): void {
  program
    .command('list')
    .description('List bundled scenarios, fault kinds, connector profiles, balancer strategies and compat switches; --metrics: the metrics an expectation can read.')
    .option('--metrics', 'list every metric an expectation can read (names, meaning, units) instead')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean; metrics?: boolean }) => {
      process.exitCode = await listCommand(flags)
    })
}
