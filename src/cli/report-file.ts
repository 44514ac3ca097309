/**
 * A JSON report file from anywhere → what it is (a run report, a bench report, a comparison), checked
 * field by field for what the HTML reads, then its page. A file that is none of them, an older run
 * report without the data behind the pictures, or one with a bad field is a QccLabError (exit 2) that
 * names the file, the field and the fix.
 */
import { z } from 'zod'
import { QccLabError } from '../shared/errors.ts'
import { formatZodIssues } from '../shared/zod-issues.ts'
import { asBenchReport, compareReportSchema, type Comparison } from '../bench/compare.ts'
import { comparedFigures, type BenchReport } from '../bench/types.ts'
import { runReportSchema, type RunReport } from '../harness/report/types.ts'

export type ReportFile =
  | { readonly kind: 'run'; readonly report: RunReport }
  | { readonly kind: 'bench'; readonly report: BenchReport }
  | { readonly kind: 'compare'; readonly report: Comparison }

const num = z.number()
const count = z.number().nonnegative()
const text = z.string()
const counts = z.record(z.string(), count)
const latency = z.looseObject({ p50: num, p99: num })

const traceSchema = z.looseObject({
  requests: z.array(z.looseObject({
    id: text, startMs: num, latencyMs: num, ttfbMs: num.optional(), firstEventMs: num.optional(), status: num.optional(),
    failure: text.optional(), cause: text.optional(), diagnosis: text.optional(), skipped: z.literal(true).optional(),
  })),
  upstreams: z.array(z.looseObject({
    name: text,
    connections: z.array(z.looseObject({
      id: num, openMs: num, closeMs: num.optional(), closedBy: text.optional(),
      serverClose: z.looseObject({ kind: z.enum(['fin', 'rst']), atMs: num }).optional(),
    })),
    arrivals: z.array(z.looseObject({
      requestId: text, connectionId: num, index: count, idleMs: num, atMs: num, endMs: num.optional(), outcome: text,
      status: num.optional(), fault: text.optional(), probe: z.literal(true).optional(),
    })),
  })),
  attempts: z.array(z.looseObject({
    requestId: text, attempt: num, endpointId: text, outcome: text, status: num.optional(), reused: z.boolean(), staleRetry: z.boolean(),
    startMs: num.optional(), endMs: num.optional(), durationMs: num, error: text.optional(),
  })),
  endpoints: z.array(z.looseObject({
    id: text, upstream: text.optional(),
    states: z.array(z.looseObject({ atMs: num, tier: text.nullable(), breaker: text, health: text, queued: z.boolean() })),
  })),
})

const verdict = z.enum(['pass', 'fail', 'n/a'])

/** What the run page reads of a `qcc-lab/run-report@3`; other fields are let through unchecked. */
const runReportFileSchema = z.looseObject({
  schema: z.literal(runReportSchema),
  verdict: z.enum(['pass', 'fail']),
  startedAt: text,
  durationMs: num,
  repeat: z.number().int().positive(),
  target: z.looseObject({ command: text, profile: text }).optional(),
  verification: z.looseObject({ ran: count, bundledOnly: count }),
  environment: z.looseObject({ node: text, undici: text, qccLab: text, platform: text, arch: text, cpus: num }),
  scenarios: z.array(z.looseObject({
    name: text, file: text, description: text, seed: num, repeat: count, verdict, mode: z.enum(['bundled', 'target']),
    variants: z.array(z.looseObject({
      name: text, description: text.optional(), connector: text, contract: z.boolean(), verdict, requests: count,
      attempts: z.looseObject({ total: count, staleSocket: count, retried: count }),
      failures: counts, causes: counts,
      upstream: z.looseObject({ received: count, dropped: count, connections: count, requestsPerConnection: num, redelivered: count, duplicates: count, lost: count }),
      latencyMs: latency,
      expectations: z.array(z.looseObject({ name: text, check: text, status: verdict, expected: text, actual: num.nullable(), implicit: z.boolean().optional(), reason: text.optional() })),
      errorTexts: z.array(z.looseObject({ text, count })),
      trace: traceSchema,
    })),
    bundledOnly: z.array(z.looseObject({ variant: text, reason: text })),
    keptHomes: z.array(z.looseObject({ variant: text, home: text })).optional(),
  })),
  stability: z.array(z.looseObject({
    scenario: text, variant: text, runs: count, verdicts: z.array(text),
    expectations: z.array(z.looseObject({ name: text, held: count })), failureCounts: z.array(num), staleSocketCounts: z.array(num),
  })),
})

const figure = z.enum(Object.keys(comparedFigures) as [keyof typeof comparedFigures, ...Array<keyof typeof comparedFigures>])

/** What the compare page reads of a `qcc-lab/compare-report@1`. */
const compareFileSchema = z.looseObject({
  schema: z.literal(compareReportSchema),
  thresholdPct: count,
  noiseFactor: num.optional(),
  gateFigures: z.array(figure),
  compared: count,
  intersection: z.boolean(),
  leftOut: count,
  onlyInBase: z.array(text),
  onlyInHead: z.array(text),
  regressions: count,
  warnings: z.array(text),
  changes: z.array(z.looseObject({
    id: text, figure, base: num, head: num, changePct: num, changeVsDirectPct: num.optional(), noisePct: num, noiseVsDirectPct: num.optional(),
    regression: z.boolean(), worse: z.boolean(), improvement: z.boolean(), drift: z.boolean(),
  })),
})

const fix = 'Give a report written by `qcc-lab run --json`, `qcc-lab bench --json` or `qcc-lab compare --json` (this version of qcc-lab).'

function checked<T>(schema: z.ZodType, data: unknown, name: string): T {
  const parsed = schema.safeParse(data)
  if (parsed.success) return data as T
  throw new QccLabError('BAD_REPORT', [...formatZodIssues(parsed.error, '').map((p) => `${name}: ${p}`), `  (${fix})`].join('\n'))
}

/** Parses a report's text; `name` (its file) prefixes every problem. */
export function parseReportFile(textContent: string, name: string): ReportFile {
  let data: unknown
  try {
    data = JSON.parse(textContent)
  } catch (err) {
    throw new QccLabError('BAD_REPORT', `${name}: invalid JSON: ${(err as Error).message}. ${fix}`)
  }
  const schema = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as { schema?: unknown }).schema : undefined
  if (schema === runReportSchema) return { kind: 'run', report: checked<RunReport>(runReportFileSchema, data, name) }
  if (schema === compareReportSchema) return { kind: 'compare', report: checked<Comparison>(compareFileSchema, data, name) }
  if (schema === 'qcc-lab/bench-report@1') return { kind: 'bench', report: asBenchReport(data, name) }
  const older = typeof schema === 'string' ? /^qcc-lab\/run-report@([12])$/.exec(schema) : null
  if (older) {
    throw new QccLabError('BAD_REPORT', `${name}: schema: "${schema as string}" is a run report from before qcc-lab kept the data behind the pictures (per-request samples, ledgers, attempts: ${runReportSchema}); run the scenarios again with this qcc-lab (\`qcc-lab run … --json\`, or \`--html\` directly).`)
  }
  throw new QccLabError('BAD_REPORT', `${name}: schema: ${JSON.stringify(schema ?? null)} is not a report qcc-lab can draw (${runReportSchema}, qcc-lab/bench-report@1, ${compareReportSchema}). ${fix}`)
}

/** The page for any report file. */
export async function renderReportHtml(file: ReportFile): Promise<string> {
  if (file.kind === 'run') return (await import('../harness/report/html/run-page.ts')).renderRunHtml(file.report)
  const { renderBenchHtml, renderCompareHtml } = await import('../bench/html/bench-page.ts')
  return file.kind === 'bench' ? renderBenchHtml(file.report) : renderCompareHtml(file.report)
}
