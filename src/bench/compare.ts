/**
 * Compares two bench reports: per configuration and figure, the change, whether it is beyond the
 * run-to-run spread the reports measured, and whether it is a regression beyond the threshold. Pure.
 */
import { z } from 'zod'
import { QccLabError } from '../shared/errors.ts'
import { formatZodIssues } from '../shared/zod-issues.ts'
import { median, relativeSpread } from './stats.ts'
import { benchTargets, comparedFigures, defaultGateFigures, type BenchReport, type BenchResult, type ComparedFigure } from './types.ts'

export interface FigureChange {
  readonly id: string
  readonly figure: ComparedFigure
  readonly base: number
  readonly head: number
  /** (head − base) / base, as a fraction; positive = the number went up. */
  readonly change: number
  /**
   * The change after dividing out the machine: each run's figure over its own `direct` configuration
   * (same protocol, payload, concurrency, RTT) first. Absent for `direct` itself, or when a report lacks it.
   */
  readonly changeVsDirect?: number
  /** The larger relative spread ((max − min) / median over rounds) of the two reports for this figure. */
  readonly noise: number
  /** The same, of the per-round ratios to direct (rounds are aligned: round r of both ran in the same pass). */
  readonly noiseVsDirect?: number
  /** Worse beyond the threshold and the noise, on a gating figure of a proxy configuration. */
  readonly regression: boolean
  /** Worse beyond the threshold and the noise (gating or not). */
  readonly worse: boolean
  /** Better beyond the threshold and the noise. */
  readonly improvement: boolean
  /** `direct` moved (either way) beyond the threshold and its noise: the machine changed between the runs; never gates. */
  readonly drift: boolean
}

export interface Comparison {
  readonly thresholdPct: number
  readonly gateFigures: readonly ComparedFigure[]
  readonly changes: readonly FigureChange[]
  readonly onlyInBase: readonly string[]
  readonly onlyInHead: readonly string[]
  readonly regressions: number
  /** What makes this verdict weaker than usual (too few rounds to measure the noise). */
  readonly warnings: readonly string[]
}

/** Fewer rounds than this and the spread (max − min over rounds) underestimates the noise. */
export const MIN_ROUNDS_FOR_NOISE = 5

/** Above this median req/s spread a run is too noisy to judge moderate changes; compare says so. */
export const NOISY_RUN_SPREAD = 0.5

/** What weakens a verdict on this report: too few rounds to measure the noise, or a noisy run. */
function reportWarnings(name: string, report: BenchReport): string[] {
  const out: string[] = []
  if (report.settings.rounds < MIN_ROUNDS_FOR_NOISE) {
    out.push(`${name} has ${report.settings.rounds} round(s) per configuration; a spread over fewer than ${MIN_ROUNDS_FOR_NOISE} underestimates the noise, so a flagged change may not be real (bench --rounds ${MIN_ROUNDS_FOR_NOISE} or more).`)
  }
  const m = median(report.results.map((r) => r.spread.rps ?? 0))
  if (m > NOISY_RUN_SPREAD) {
    out.push(`${name} was a noisy run (median req/s spread ${(m * 100).toFixed(0)}% across configurations): only large changes can show beyond its noise; consider running it again.`)
  }
  return out
}

/** One line when direct's req/s moved between the runs: the verdicts are relative to a machine that changed. */
function driftWarning(changes: readonly FigureChange[]): string[] {
  const moved = changes.filter((c) => c.drift && c.figure === 'rps')
  if (moved.length === 0) return []
  const range = moved.map((c) => c.change).sort((a, b) => a - b)
  const pctOf = (v: number): string => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(0)}%`
  return [`direct's req/s moved ${range.length === 1 ? pctOf(range[0]!) : `${pctOf(range[0]!)} to ${pctOf(range[range.length - 1]!)}`} in ${moved.length} group(s): the machine changed between the runs; proxy verdicts there are taken relative to it (a proxy that kept its raw req/s while direct got faster is not called worse).`]
}

/**
 * Spread of a configuration's figure over its direct's, round by round: the machine's slow phases hit
 * both within seconds of each other, so this spread is what remains of the noise once they divide out.
 * Measured on this 2-core VM: a run whose throughput halved for its last three rounds had req/s spreads
 * of 33-153 % but tuned ÷ direct spreads of about 40 %. Undefined with fewer than two aligned rounds.
 */
export function roundRatioSpread(result: BenchResult, direct: BenchResult, figure: ComparedFigure): number | undefined {
  const n = Math.min(result.rounds.length, direct.rounds.length)
  const ratios: number[] = []
  for (let r = 0; r < n; r++) {
    const d = direct.rounds[r]![figure]
    if (d > 0) ratios.push(result.rounds[r]![figure] / d)
  }
  // The whole range, extremes included. Tried and dropped: leaving out the lowest and highest of 5
  // ratios caught every halving in six quick runs, but flagged 7 of the 30 ordered pairs of those same
  // runs (same code); the whole range flagged none and missed the halving only in the noisiest run,
  // which the noisy-run warning names.
  return ratios.length < 2 ? undefined : relativeSpread(ratios)
}

/** A figure of a round or a median: a finite number, never negative (req/s, ms, per-request counts, cores). */
const figure = z.number().nonnegative()

const figureFields = {
  requests: figure,
  rps: figure,
  p50: figure,
  p90: figure,
  p99: figure,
  ttfbP50: figure,
  connectionsPerRequest: figure,
  handshakesPerRequest: figure,
  clientCpuCores: figure,
  upstreamCpuCores: figure.optional(),
  proxyCpuCores: figure.optional(),
}

/**
 * `qcc-lab/bench-report@1` as `bench --json` writes it (types.ts). Fields compare does not read are
 * still checked for their type; fields it does not know are let through (a newer writer may add some).
 */
export const benchReportSchema = z.looseObject({
  schema: z.literal('qcc-lab/bench-report@1'),
  createdAt: z.string(),
  mode: z.enum(['quick', 'full']),
  settings: z.looseObject({
    rounds: z.number().int().positive(),
    roundMs: figure,
    warmupMs: figure,
    placement: z.string().optional(),
  }),
  environment: z.looseObject({
    node: z.string(),
    undici: z.string(),
    cpuModel: z.string(),
    cores: z.number().int().nonnegative(),
    platform: z.string(),
    gitCommit: z.string().nullable(),
  }),
  results: z.array(z.looseObject({
    id: z.string().min(1),
    target: z.enum([...benchTargets, 'nginx']),
    protocol: z.enum(['http', 'https']),
    payload: z.enum(['json', 'sse']),
    concurrency: z.number().int().positive(),
    rttMs: z.number().int().nonnegative(),
    rounds: z.array(z.looseObject({ ...figureFields, errors: z.record(z.string(), z.number().int().nonnegative()) })),
    median: z.looseObject({ ...figureFields, errors: figure }),
    spread: z.looseObject(Object.fromEntries(Object.keys(comparedFigures).map((f) => [f, figure])) as Record<ComparedFigure, typeof figure>),
  })).min(1, 'expected at least one configuration'),
  ratios: z.array(z.looseObject({
    id: z.string(),
    forceCloseOverTuned: z.number().nullable(),
    tunedOverNaive: z.number().nullable(),
    proxyOverDirect: z.number().nullable(),
    nginxOverDirect: z.number().nullable().optional(),
  })),
})

const reportFix = '  (a bench report is what `qcc-lab bench --json <file>` writes; run it again rather than edit the file)'

/**
 * The report, or a QccLabError (exit 2) naming the file and every bad field:
 * `<name>: results[0].median.rps: expected a number, got string`.
 */
export function asBenchReport(data: unknown, name: string): BenchReport {
  const schema = (data as { schema?: unknown } | null)?.schema
  if (typeof data !== 'object' || data === null || Array.isArray(data) || schema !== 'qcc-lab/bench-report@1') {
    throw new QccLabError('BAD_REPORT', `${name}: schema: not a qcc-lab/bench-report@1 file (schema: ${JSON.stringify(schema ?? null)}). Give a report written by \`qcc-lab bench --json <file>\`.`)
  }
  const parsed = benchReportSchema.safeParse(data)
  const problems = parsed.success ? [] : formatZodIssues(parsed.error, '')
  if (parsed.success) {
    // compare matches configurations by id: one id twice would silently compare only the last.
    const seen = new Map<string, number>()
    parsed.data.results.forEach((r, i) => {
      const first = seen.get(r.id)
      if (first !== undefined) problems.push(`results[${i}].id: "${r.id}" is also the id of results[${first}]; each configuration appears once in a report`)
      else seen.set(r.id, i)
    })
  }
  if (problems.length > 0) throw new QccLabError('BAD_REPORT', [...problems.map((p) => `${name}: ${p}`), reportFix].join('\n'))
  return data as BenchReport
}

export function compareReports(base: BenchReport, head: BenchReport, thresholdPct = 10, gateFigures: readonly ComparedFigure[] = defaultGateFigures): Comparison {
  const headById = new Map(head.results.map((r) => [r.id, r]))
  const baseById = new Map(base.results.map((r) => [r.id, r]))
  const common = base.results.filter((r) => headById.has(r.id))
  if (common.length === 0) {
    throw new QccLabError('REPORTS_MISMATCH', 'Failed to compare: the two reports share no configuration (different --quick/--full, protocols or concurrencies?).')
  }
  const threshold = thresholdPct / 100
  const directOf = (id: string): string => `${id.slice(0, id.lastIndexOf('/'))}/direct`
  const changes: FigureChange[] = []
  for (const b of common) {
    const h = headById.get(b.id)!
    const isDirect = b.target === 'direct'
    // nginx is an outside reference: compared and shown, never gating.
    const gates = b.target !== 'direct' && b.target !== 'nginx'
    const bd = isDirect ? undefined : baseById.get(directOf(b.id))
    const hd = isDirect ? undefined : headById.get(directOf(b.id))
    for (const [figure, better] of Object.entries(comparedFigures) as Array<[ComparedFigure, 'higher' | 'lower']>) {
      const bv = b.median[figure]
      const hv = h.median[figure]
      if (!(bv > 0)) continue
      const change = (hv - bv) / bv
      const noise = Math.max(b.spread[figure] ?? 0, h.spread[figure] ?? 0)
      const bdv = bd?.median[figure] ?? 0
      const hdv = hd?.median[figure] ?? 0
      // The ratio's noise from the rounds; where rounds do not line up (none stored, or one), the raw spread.
      const ratioNoise = (x: BenchResult, d: BenchResult): number => roundRatioSpread(x, d, figure) ?? Math.max(x.spread[figure] ?? 0, d.spread[figure] ?? 0)
      const relative = bd && hd && bdv > 0 && hdv > 0
        ? { change: (hv / hdv) / (bv / bdv) - 1, noise: Math.max(ratioNoise(b, bd), ratioNoise(h, hd)) }
        : undefined
      const sign = better === 'higher' ? -1 : 1
      // For a proxy with direct on both sides, the verdict is taken relative to direct (a slower machine
      // slows direct too; that is drift), and the raw change must still pass the threshold (a proxy that
      // did not move is not worse because direct got faster). Without direct: the raw change and noise.
      const judge = (dir: 1 | -1): boolean => relative
        ? dir * sign * relative.change > Math.max(threshold, relative.noise) && dir * sign * change > threshold
        : dir * sign * change > Math.max(threshold, noise)
      const worse = judge(1)
      const better_ = judge(-1)
      changes.push({
        id: b.id, figure, base: bv, head: hv, change, noise,
        ...(relative ? { changeVsDirect: relative.change, noiseVsDirect: relative.noise } : {}),
        regression: worse && gates && gateFigures.includes(figure),
        worse: worse && !isDirect,
        improvement: better_ && !isDirect,
        drift: (worse || better_) && isDirect,
      })
    }
  }
  return {
    thresholdPct,
    gateFigures,
    changes,
    onlyInBase: base.results.filter((r) => !headById.has(r.id)).map((r) => r.id),
    onlyInHead: head.results.filter((r) => !baseById.has(r.id)).map((r) => r.id),
    regressions: changes.filter((c) => c.regression).length,
    warnings: [...reportWarnings('base', base), ...reportWarnings('head', head), ...driftWarning(changes)],
  }
}
