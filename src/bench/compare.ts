/**
 * Compares two bench reports: per configuration and figure, the change, whether it is beyond the
 * run-to-run spread the reports measured, and whether it is a regression beyond the threshold. Pure.
 */
import { z } from 'zod'
import { QccLabError } from '../shared/errors.ts'
import { formatZodIssues } from '../shared/zod-issues.ts'
import { median, relativeSpread, round3 } from './stats.ts'
import { benchAnchors, benchTargets, comparedFigures, defaultGateFigures, type BenchReport, type BenchResult, type ComparedFigure, type RoundFigures } from './types.ts'

/**
 * Fraction → percent: the one place compare converts. A bench report stores spreads as fractions (0.08);
 * from here on compare speaks percent, as `--threshold` does: its verdicts, its JSON and its tables.
 * Rounded to 1e-6 % so a spread of 0.08 reads 8, not 8.000000000000002; verdicts are taken on these
 * very numbers, so the JSON never disagrees with them.
 */
export function percent(fraction: number): number {
  return Math.round(fraction * 1e8) / 1e6
}

/** The `schema` tag of what `compare --json` writes. */
export const compareReportSchema = 'qcc-lab/compare-report@1'

export interface FigureChange {
  readonly id: string
  readonly figure: ComparedFigure
  readonly base: number
  readonly head: number
  /** (head − base) / base, in percent; positive = the number went up. */
  readonly changePct: number
  /**
   * The change after dividing out the machine, in percent: each run's figure over its own `direct`
   * configuration (same protocol, payload, concurrency, RTT) first. Absent for `direct` itself, or when a
   * report lacks it.
   */
  readonly changeVsDirectPct?: number
  /** The larger relative spread ((max − min) / median over rounds) of the two reports for this figure, in percent. */
  readonly noisePct: number
  /** The same, of the per-round ratios to direct (rounds are aligned: round r of both ran in the same pass), in percent. */
  readonly noiseVsDirectPct?: number
  /**
   * cpuUsPerRequest only: the change of the proxy's CPU over the upstream's (the median over the rounds), in
   * percent. Both processes serve the very same requests in the same round, so what the machine does
   * to CPU per request (a busier or slower machine: less batching, more cache misses, steal) moves both
   * and divides out. Absent when a report lacks the upstream's CPU.
   */
  readonly changeVsUpstreamPct?: number
  /** The larger spread of the two reports' per-round proxy ÷ upstream CPU, in percent. */
  readonly noiseVsUpstreamPct?: number
  /** Worse beyond the threshold and the noise, on a gating figure of a proxy configuration. */
  readonly regression: boolean
  /** Worse beyond the threshold and the noise (gating or not). */
  readonly worse: boolean
  /** Better beyond the threshold and the noise. */
  readonly improvement: boolean
  /** `direct` moved (either way) beyond the threshold and its noise (1×, not NOISE_FACTOR): the machine changed between the runs; never gates. */
  readonly drift: boolean
}

/** `qcc-lab/compare-report@1`: what `compare --json` writes. Every change and threshold is in percent. */
export interface Comparison {
  readonly schema: typeof compareReportSchema
  readonly thresholdPct: number
  /**
   * A configuration's change counts beyond thresholdPct and this many times its noise (NOISE_FACTOR).
   * Absent from comparisons written before it existed, which judged at 1×.
   */
  readonly noiseFactor?: number
  readonly gateFigures: readonly ComparedFigure[]
  /** Configurations compared: those both reports have. */
  readonly compared: number
  /** Compared with `--intersection`: configurations only one report has were left out. */
  readonly intersection: boolean
  /** Left out (only with `intersection`; without it, reports that differ are refused). */
  readonly leftOut: number
  readonly onlyInBase: readonly string[]
  readonly onlyInHead: readonly string[]
  /** Regressions: gating figures of proxy configurations, plus the aggregate CPU per request when it gates. */
  readonly regressions: number
  /** The proxy's CPU per request over all its configurations (absent when fewer than two have CPU in both reports). */
  readonly cpu?: CpuAggregate
  /** What makes this verdict weaker than usual (too few rounds to measure the noise). */
  readonly warnings: readonly string[]
  readonly changes: readonly FigureChange[]
}

export interface CompareOptions {
  /** Compare the configurations both reports have, and say how many were left out, instead of refusing. */
  readonly intersection?: boolean
  /** Smallest change of the aggregate CPU per request that counts, in percent (default {@link DEFAULT_CPU_THRESHOLD_PCT}). */
  readonly cpuThresholdPct?: number
  /** How messages name the two reports (their files); default `base` and `head`. */
  readonly names?: { readonly base: string; readonly head: string }
}

/** A configuration's CPU per request over all its rounds: their CPU ÷ their requests (µs); undefined without CPU. */
export function pooledCpuUs(result: BenchResult): number | undefined {
  let cpu = 0
  let requests = 0
  for (const r of result.rounds) {
    const us = roundCpuUs(r)
    if (us === undefined || r.requests === 0) continue
    cpu += us * r.requests
    requests += r.requests
  }
  if (requests > 0) return cpu / requests
  return result.median.cpuUsPerRequest
}

/** Per round, the proxy's CPU over the upstream's (both in cores over the same seconds); undefined without both. */
function roundCpuOverUpstream(round: RoundFigures): number | undefined {
  return round.proxyCpuCores !== undefined && round.upstreamCpuCores !== undefined && round.upstreamCpuCores > 0 ? round.proxyCpuCores / round.upstreamCpuCores : undefined
}

/**
 * The median over the rounds of the proxy's CPU over the upstream's; undefined unless every round has
 * both. The median, not the ratio pooled over the rounds: one disturbed round moves a pooled ratio and
 * not the median (measured over three series of ten same-code runs: with the pooled ratio one
 * configuration's change exceeded 1.5x its spread in 1 of 270 same-code pairs, with the median in none).
 */
function cpuOverUpstream(result: BenchResult): number | undefined {
  const ratios: number[] = []
  for (const r of result.rounds) {
    const v = roundCpuOverUpstream(r)
    if (v === undefined) return undefined
    ratios.push(v)
  }
  return ratios.length > 0 ? median(ratios) : undefined
}

/**
 * The change of a configuration's CPU per request (pooled over its rounds), or undefined where a report
 * has none (direct, or no CPU read). Judged like req/s against direct, but against the upstream's CPU of
 * the same rounds (see FigureChange.changeVsUpstreamPct): worse when that ratio moved beyond the
 * threshold and the spread of its per-round values, and the raw figure beyond the threshold too (a
 * proxy whose own CPU did not move is not worse because the upstream got cheaper). Without the
 * upstream's CPU: the raw change against the spread of the rounds.
 */
function cpuChange(b: BenchResult, h: BenchResult, thresholdPct: number): (Pick<FigureChange, 'id' | 'figure' | 'base' | 'head' | 'changePct' | 'noisePct' | 'changeVsUpstreamPct' | 'noiseVsUpstreamPct'> & { worse: boolean; improvement: boolean }) | undefined {
  const bv = pooledCpuUs(b)
  const hv = pooledCpuUs(h)
  if (bv === undefined || hv === undefined || !(bv > 0)) return undefined
  const values = (x: BenchResult, f: (r: RoundFigures) => number | undefined): number[] => x.rounds.map(f).filter((v) => v !== undefined)
  const changePct = percent((hv - bv) / bv)
  const noisePct = percent(Math.max(relativeSpread(values(b, roundCpuUs)), relativeSpread(values(h, roundCpuUs))))
  const bu = cpuOverUpstream(b)
  const hu = cpuOverUpstream(h)
  const relative = bu !== undefined && hu !== undefined && bu > 0
    ? { changeVsUpstreamPct: percent(hu / bu - 1), noiseVsUpstreamPct: percent(Math.max(relativeSpread(values(b, roundCpuOverUpstream)), relativeSpread(values(h, roundCpuOverUpstream)))) }
    : undefined
  const judge = (dir: 1 | -1): boolean => relative
    ? beyond(dir * relative.changeVsUpstreamPct, thresholdPct, relative.noiseVsUpstreamPct) && dir * changePct > thresholdPct
    : beyond(dir * changePct, thresholdPct, noisePct)
  return { id: b.id, figure: 'cpuUsPerRequest', base: round3(bv), head: round3(hv), changePct, noisePct, ...relative, worse: judge(1), improvement: judge(-1) }
}

/**
 * The proxy's CPU per request over every proxy configuration both reports measured it for: what a
 * change of the proxy's own code moves everywhere at once, while one configuration's rounds are too
 * noisy to show it (measured: see bench/README.md).
 */
export interface CpuAggregate {
  /** The proxy configurations in it (force-close, naive and tuned keep-alive with CPU in both reports). */
  readonly configurations: number
  /** The geometric mean of their CPU-per-request changes, in percent. */
  readonly changePct: number
  /** Twice the standard error of that mean across the configurations, in percent. */
  readonly noisePct: number
  /** The geometric mean of the raw changes (not relative to the upstream), in percent. */
  readonly rawChangePct: number
  readonly thresholdPct: number
  /** Worse beyond the threshold and the noise; gates when cpuUsPerRequest is a gating figure. */
  readonly regression: boolean
  readonly worse: boolean
  readonly improvement: boolean
}

/**
 * Default smallest change of the aggregate CPU per request that counts, in percent. Set before the
 * experiment that checks it (bench/README.md): over 10 `bench --quick --anchor node-floor` runs of the
 * same code, the aggregate of two runs differed by at most 5.3 %; a +10 % CPU injection moved it 6.2-14 %.
 */
export const DEFAULT_CPU_THRESHOLD_PCT = 6

/**
 * How many times a configuration's spread (max − min over its rounds, the larger of the two reports') a
 * change must exceed to count. The spread measures the noise inside one run; whole runs also differ
 * (measured: in one run of ten, one configuration's CPU per request sat 22-30 % above three other runs'
 * in all five rounds, 17 % relative to the upstream, while its rounds spread 17 %). With 1× the spread,
 * 6 of 90 same-code pairs of a second series exited 1; 1.5× is the smallest multiple with none in the
 * 180 same-code pairs of the first two series; a third and a fourth series: bench/README.md, "The CPU
 * gate and the node floor".
 */
export const NOISE_FACTOR = 1.5

/**
 * How many times its noise a configuration's change must exceed, given the comparison's factor
 * (NOISE_FACTOR; 1 for comparisons written before it): `direct` at 1×, since its drift only says that the
 * machine moved, and should; every other configuration at the factor. The one place the rule lives: the
 * HTML chart draws its bands with it.
 */
export function noiseFactorOf(id: string, comparisonFactor: number): number {
  return targetOf(id) === 'direct' ? 1 : comparisonFactor
}

/** Beyond `thresholdPct` and `factor` (NOISE_FACTOR unless said) times the spread `spreadPct`, in the direction `change` has. */
function beyond(change: number, thresholdPct: number, spreadPct: number, factor = NOISE_FACTOR): boolean {
  return change > Math.max(thresholdPct, factor * spreadPct)
}

/** Beyond this (percent) the upstream's own CPU per request moved between the runs: the machine changed. */
export const UPSTREAM_DRIFT_PCT = 10

/**
 * Beyond this (percent) the upstream's own CPU per request moved more than between any two quiet runs of
 * the same code (at most 16 % in 270 same-code pairs, bench/README.md): the upstream itself may have
 * changed (another qcc-lab version), and a rise of the proxy's CPU relative to it counts only if the
 * proxy's own CPU rose too. Below it no such guard: a machine that got faster for both processes hid a
 * +10 % injection from it twice in 10 pairs (raw -0.5 % and -5 %, relative +11 % and +7 %).
 */
export const UPSTREAM_CHANGED_PCT = 20

function cpuAggregate(changes: readonly FigureChange[], thresholdPct: number, gates: boolean, upstreamChangePct: number | undefined): CpuAggregate | undefined {
  // Each configuration's change relative to the upstream where both reports have its CPU, else the raw one.
  const usable = changes.filter((c) => c.base > 0 && c.head > 0)
  if (usable.length < 2) return undefined
  const logs = usable.map((c) => Math.log(c.changeVsUpstreamPct !== undefined ? 1 + c.changeVsUpstreamPct / 100 : c.head / c.base))
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (logs.length - 1))
  const changePct = percent(Math.exp(mean) - 1)
  const noisePct = percent(Math.exp((2 * sd) / Math.sqrt(logs.length)) - 1)
  const rawChangePct = percent(Math.exp(usable.reduce((a, c) => a + Math.log(c.head / c.base), 0) / usable.length) - 1)
  const limit = Math.max(thresholdPct, noisePct)
  // Relative to the upstream beyond the threshold and the noise; where the upstream itself may have
  // changed (UPSTREAM_CHANGED_PCT), the proxy's own CPU up at all too (one whose CPU did not rise is not
  // worse because the upstream got cheaper); and the mirror for better.
  const guarded = upstreamChangePct !== undefined && Math.abs(upstreamChangePct) > UPSTREAM_CHANGED_PCT
  const worse = changePct > limit && (!guarded || rawChangePct > 0)
  const improvement = -changePct > limit && (!guarded || rawChangePct < 0)
  return { configurations: logs.length, changePct, noisePct, rawChangePct, thresholdPct, regression: worse && gates, worse, improvement }
}

/** The configurations whose figures gate: the proxy's connector profiles (not direct, not an anchor). */
const gatingTargets: ReadonlySet<string> = new Set(benchTargets.filter((t) => t !== 'direct'))
const targetOf = (id: string): string => id.slice(id.lastIndexOf('/') + 1)

/** Fewer rounds than this and the spread (max − min over rounds) underestimates the noise. */
export const MIN_ROUNDS_FOR_NOISE = 5

/** Above this median req/s spread (percent) a run is too noisy to judge moderate changes; compare says so. */
export const NOISY_RUN_SPREAD_PCT = 50

/** What weakens a verdict on this report: too few rounds to measure the noise, or a noisy run. */
function reportWarnings(name: string, report: BenchReport): string[] {
  const out: string[] = []
  if (report.settings.rounds < MIN_ROUNDS_FOR_NOISE) {
    out.push(`${name} has ${report.settings.rounds} round(s) per configuration; a spread over fewer than ${MIN_ROUNDS_FOR_NOISE} underestimates the noise, so a flagged change may not be real (bench --rounds ${MIN_ROUNDS_FOR_NOISE} or more).`)
  }
  const m = percent(median(report.results.map((r) => r.spread.rps ?? 0)))
  if (m > NOISY_RUN_SPREAD_PCT) {
    out.push(`${name} was a noisy run (median req/s spread ${m.toFixed(0)}% across configurations): only large changes can show beyond its noise; consider running it again.`)
  }
  return out
}

/** How much the upstream's own CPU per request moved between the runs (geometric mean over the proxy configurations), in percent. */
function upstreamCpuChange(base: BenchReport, head: BenchReport): number | undefined {
  const perRequest = (r: BenchResult): number | undefined => {
    let cpu = 0
    let requests = 0
    for (const x of r.rounds) {
      if (x.upstreamCpuCores === undefined || !(x.rps > 0)) return undefined
      cpu += x.upstreamCpuCores * (x.requests / x.rps)
      requests += x.requests
    }
    return requests > 0 ? cpu / requests : undefined
  }
  const headById = new Map(head.results.map((r) => [r.id, r]))
  const logs: number[] = []
  for (const b of base.results) {
    const h = headById.get(b.id)
    if (!h || !gatingTargets.has(b.target)) continue
    const [bv, hv] = [perRequest(b), perRequest(h)]
    if (bv !== undefined && hv !== undefined && bv > 0 && hv > 0) logs.push(Math.log(hv / bv))
  }
  if (logs.length === 0) return undefined
  return percent(Math.exp(logs.reduce((a, c) => a + c, 0) / logs.length) - 1)
}

/**
 * One line when the upstream's CPU per request moved between the runs, over all proxy configurations:
 * the same fake upstream code serving the same requests got cheaper or dearer, so the machine did
 * (another load on it, a slower CPU). The proxy's CPU is judged relative to the upstream's, which takes
 * out much of that, not all: a run beside a test suite raised the upstream's CPU per request 42 % and
 * the proxy's over it still 12 % (bench/README.md).
 */
function upstreamDriftWarning(change: number | undefined): string[] {
  if (change === undefined || Math.abs(change) <= UPSTREAM_DRIFT_PCT) return []
  return [`the upstream's own CPU per request moved ${change >= 0 ? '+' : ''}${change.toFixed(0)}% between the runs (the same fake upstream serving the same requests): the machine changed (another load on it?). The proxy's CPU is judged relative to the upstream's, which divides out much of that but not all; measure both on an equally quiet machine.`]
}

/**
 * One line when CPU per request gates but some proxy configuration lacks it in a report (a report from
 * before it was recorded, or a CPU read that failed): those configurations were not judged on CPU, and
 * with fewer than two the aggregate is not taken at all. Said, so that a gate that read nothing does not
 * pass in silence.
 */
function cpuCoverageWarning(gateFigures: readonly ComparedFigure[], withCpu: number, proxyConfigurations: number): string[] {
  if (!gateFigures.includes('cpuUsPerRequest') || withCpu >= proxyConfigurations) return []
  const aggregate = withCpu < 2 ? ' and the CPU over all configurations was not judged' : ''
  return [`CPU per request gates, but only ${withCpu} of the ${proxyConfigurations} proxy configurations have it in both reports: the others were not judged on CPU${aggregate}. Measure both with a bench that records it (qcc-lab bench writes cpuUsPerRequest per round).`]
}

/** One line when direct's req/s moved between the runs: the verdicts are relative to a machine that changed. */
function driftWarning(changes: readonly FigureChange[]): string[] {
  const moved = changes.filter((c) => c.drift && c.figure === 'rps')
  if (moved.length === 0) return []
  const range = moved.map((c) => c.changePct).sort((a, b) => a - b)
  const pctOf = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(0)}%`
  return [`direct's req/s moved ${range.length === 1 ? pctOf(range[0]!) : `${pctOf(range[0]!)} to ${pctOf(range[range.length - 1]!)}`} in ${moved.length} group(s): the machine changed between the runs; proxy verdicts there are taken relative to it (a proxy that kept its raw req/s while direct got faster is not called worse).`]
}

/**
 * Spread of a configuration's figure over its direct's, round by round: the machine's slow phases hit
 * both within seconds of each other, so this spread is what remains of the noise once they divide out.
 * Measured on this 2-core VM: a run whose throughput halved for its last three rounds had req/s spreads
 * of 33-153 % but tuned ÷ direct spreads of about 40 %. Undefined with fewer than two aligned rounds.
 */
export function roundRatioSpread(result: BenchResult, direct: BenchResult, figure: DirectRelativeFigure): number | undefined {
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

/** The figures compare judges relative to the same run's direct; CPU per request is the proxy's own (direct has none). */
type DirectRelativeFigure = Exclude<ComparedFigure, 'cpuUsPerRequest'>

/**
 * CPU µs per request of one round: as recorded, or, in a report written before it was, the proxy's
 * cores ÷ req/s of that round. Undefined for direct (nothing sits between) and where no CPU was read.
 */
export function roundCpuUs(round: RoundFigures): number | undefined {
  if (round.cpuUsPerRequest !== undefined) return round.cpuUsPerRequest
  return round.proxyCpuCores !== undefined && round.rps > 0 ? (round.proxyCpuCores / round.rps) * 1e6 : undefined
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
  cpuUsPerRequest: figure.optional(),
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
    target: z.enum([...benchTargets, ...benchAnchors]),
    protocol: z.enum(['http', 'https']),
    payload: z.enum(['json', 'sse']),
    concurrency: z.number().int().positive(),
    rttMs: z.number().int().nonnegative(),
    rounds: z.array(z.looseObject({ ...figureFields, errors: z.record(z.string(), z.number().int().nonnegative()) })),
    median: z.looseObject({ ...figureFields, errors: figure }),
    spread: z.looseObject({ ...Object.fromEntries(Object.keys(comparedFigures).map((f) => [f, figure])) as Record<ComparedFigure, typeof figure>, cpuUsPerRequest: figure.optional() }),
  })).min(1, 'expected at least one configuration'),
  ratios: z.array(z.looseObject({
    id: z.string(),
    forceCloseOverTuned: z.number().nullable(),
    tunedOverNaive: z.number().nullable(),
    proxyOverDirect: z.number().nullable(),
    nginxOverDirect: z.number().nullable().optional(),
    proxyCpuOverNodeFloor: z.number().nullable().optional(),
    proxyCpuOverNginx: z.number().nullable().optional(),
  })),
})

/** What another qcc-lab file is, by its schema tag: a run report or a comparison handed to compare by mistake. */
function otherReportKind(schema: string): string | undefined {
  const m = /^qcc-lab\/([a-z-]+)@(\d+)$/.exec(schema)
  if (!m) return undefined
  if (m[1] === 'run-report') return 'a run report (what `qcc-lab run --json` writes)'
  if (m[1] === 'compare-report') return 'a comparison (what `qcc-lab compare --json` writes)'
  if (m[1] === 'bench-report') return `a bench report in format ${m[2]}, which this qcc-lab cannot read`
  return undefined
}

const reportFix = '  (a bench report is what `qcc-lab bench --json <file>` writes; run it again rather than edit the file)'

/**
 * The report, or a QccLabError (exit 2) naming the file and every bad field:
 * `<name>: results[0].median.rps: expected a number, got string`.
 */
export function asBenchReport(data: unknown, name: string): BenchReport {
  const schema = (data as { schema?: unknown } | null)?.schema
  if (typeof data !== 'object' || data === null || Array.isArray(data) || schema !== 'qcc-lab/bench-report@1') {
    const kind = typeof schema === 'string' ? otherReportKind(schema) : undefined
    const what = kind ? `schema: ${JSON.stringify(schema)} is ${kind}, not a qcc-lab/bench-report@1 file` : `schema: not a qcc-lab/bench-report@1 file (schema: ${JSON.stringify(schema ?? null)})`
    throw new QccLabError('BAD_REPORT', `${name}: ${what}. Give a report written by \`qcc-lab bench --json <file>\`.`)
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

/** A report's matrix, one dimension a line, as bench's flags and the configuration ids name it. */
function matrixOf(report: BenchReport): Array<readonly [string, string]> {
  // Sorted, so the order the results came in never makes two equal sets look different.
  const values = <T extends string | number>(pick: (r: BenchResult) => T): string => [...new Set(report.results.map(pick))]
    .sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)))).join(',')
  return [
    ['mode', report.mode],
    ['protocols', values((r) => r.protocol)],
    ['payloads', values((r) => r.payload)],
    ['concurrency (--concurrency)', values((r) => r.concurrency)],
    ['rtt ms (--rtt)', values((r) => r.rttMs)],
    ['targets (--anchor)', values((r) => r.target)],
  ]
}

/** The bench command that measures this report's matrix again. */
function benchCommandOf(report: BenchReport): string {
  const m = new Map(matrixOf(report))
  return ['qcc-lab bench', report.mode === 'quick' ? '--quick' : '', `--rtt ${m.get('rtt ms (--rtt)')}`, `--concurrency ${m.get('concurrency (--concurrency)')}`,
    report.results.some((r) => r.target === 'nginx') ? '--anchor nginx' : ''].filter((x) => x !== '').join(' ')
}

/**
 * Why two reports hold different configurations, and the ways on: measure both alike, or
 * `--intersection` (when they share any). Thrown as REPORTS_MISMATCH (exit 2).
 */
function mismatch(base: BenchReport, head: BenchReport, names: { base: string; head: string }, onlyInBase: readonly string[], onlyInHead: readonly string[], common: number): QccLabError {
  const b = matrixOf(base)
  const h = new Map(matrixOf(head))
  const differences = b.filter(([k, v]) => h.get(k) !== v).map(([k, v]) => `  ${k}: ${v} in ${names.base}, ${h.get(k)} in ${names.head}`)
  if (differences.length === 0) {
    // Same dimensions, yet not the same set: an interrupted or edited report.
    const missing = [...onlyInBase.map((id) => `${id} (not in ${names.head})`), ...onlyInHead.map((id) => `${id} (not in ${names.base})`)]
    differences.push(`  the same settings, but not the same configurations: ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? `, … ${missing.length - 4} more` : ''}`)
  }
  const remedy = common === 0
    ? `They share no configuration, so there is nothing to compare: measure both the same way (${names.base}: \`${benchCommandOf(base)}\`; ${names.head}: \`${benchCommandOf(head)}\`).`
    : `Measure both the same way (${names.base}: \`${benchCommandOf(base)}\`; ${names.head}: \`${benchCommandOf(head)}\`), or pass --intersection to compare only the ${common} configuration(s) both have.`
  return new QccLabError('REPORTS_MISMATCH', [
    `Failed to compare: ${names.base} and ${names.head} measured different configurations: ${onlyInBase.length} only in ${names.base}, ${onlyInHead.length} only in ${names.head}, ${common} in both.`,
    ...differences,
    remedy,
  ].join('\n'))
}

/**
 * Reports of different matrices (a `--quick` one against a full one) are refused with what differs,
 * unless `intersection` is asked for; then the configurations both have are compared and the rest counted.
 */
export function compareReports(base: BenchReport, head: BenchReport, thresholdPct = 10, gateFigures: readonly ComparedFigure[] = defaultGateFigures, options: CompareOptions = {}): Comparison {
  const headById = new Map(head.results.map((r) => [r.id, r]))
  const baseById = new Map(base.results.map((r) => [r.id, r]))
  const common = base.results.filter((r) => headById.has(r.id))
  const onlyInBase = base.results.filter((r) => !headById.has(r.id)).map((r) => r.id)
  const onlyInHead = head.results.filter((r) => !baseById.has(r.id)).map((r) => r.id)
  const intersection = options.intersection === true
  if (common.length === 0 || (!intersection && onlyInBase.length + onlyInHead.length > 0)) {
    throw mismatch(base, head, options.names ?? { base: 'base', head: 'head' }, onlyInBase, onlyInHead, common.length)
  }
  const directOf = (id: string): string => `${id.slice(0, id.lastIndexOf('/'))}/direct`
  const changes: FigureChange[] = []
  for (const b of common) {
    const h = headById.get(b.id)!
    const isDirect = b.target === 'direct'
    // The anchors (nginx, node-floor) are references: compared and shown, never gating.
    const gates = gatingTargets.has(b.target)
    const bd = isDirect ? undefined : baseById.get(directOf(b.id))
    const hd = isDirect ? undefined : headById.get(directOf(b.id))
    const cpu = cpuChange(b, h, thresholdPct)
    if (cpu) {
      changes.push({ ...cpu, regression: cpu.worse && gates && gateFigures.includes('cpuUsPerRequest'), worse: cpu.worse, improvement: cpu.improvement, drift: false })
    }
    for (const [figure, better] of Object.entries(comparedFigures) as Array<[ComparedFigure, 'higher' | 'lower']>) {
      if (figure === 'cpuUsPerRequest') continue
      const bv = b.median[figure]
      const hv = h.median[figure]
      if (!(bv > 0)) continue
      const changePct = percent((hv - bv) / bv)
      const noisePct = percent(Math.max(b.spread[figure] ?? 0, h.spread[figure] ?? 0))
      const bdv = bd?.median[figure] ?? 0
      const hdv = hd?.median[figure] ?? 0
      // The ratio's noise from the rounds; where rounds do not line up (none stored, or one), the raw spread.
      const ratioNoise = (x: BenchResult, d: BenchResult): number => roundRatioSpread(x, d, figure) ?? Math.max(x.spread[figure] ?? 0, d.spread[figure] ?? 0)
      const relative = bd && hd && bdv > 0 && hdv > 0
        ? { changePct: percent((hv / hdv) / (bv / bdv) - 1), noisePct: percent(Math.max(ratioNoise(b, bd), ratioNoise(h, hd))) }
        : undefined
      const sign = better === 'higher' ? -1 : 1
      // For a proxy with direct on both sides, the verdict is taken relative to direct (a slower machine
      // slows direct too; that is drift), and the raw change must still pass the threshold (a proxy that
      // did not move is not worse because direct got faster). Without direct: the raw change and noise.
      const judge = (dir: 1 | -1): boolean => relative
        ? beyond(dir * sign * relative.changePct, thresholdPct, relative.noisePct) && dir * sign * changePct > thresholdPct
        : beyond(dir * sign * changePct, thresholdPct, noisePct, noiseFactorOf(b.id, NOISE_FACTOR))
      const worse = judge(1)
      const better_ = judge(-1)
      changes.push({
        id: b.id, figure, base: bv, head: hv, changePct, noisePct,
        ...(relative ? { changeVsDirectPct: relative.changePct, noiseVsDirectPct: relative.noisePct } : {}),
        regression: worse && gates && gateFigures.includes(figure),
        worse: worse && !isDirect,
        improvement: better_ && !isDirect,
        drift: (worse || better_) && isDirect,
      })
    }
  }
  const gatedCpu = changes.filter((c) => c.figure === 'cpuUsPerRequest' && gatingTargets.has(targetOf(c.id)))
  const upstreamChange = upstreamCpuChange(base, head)
  const cpu = cpuAggregate(gatedCpu, options.cpuThresholdPct ?? DEFAULT_CPU_THRESHOLD_PCT, gateFigures.includes('cpuUsPerRequest'), upstreamChange)
  const proxyConfigurations = common.filter((r) => gatingTargets.has(r.target)).length
  return {
    schema: compareReportSchema,
    thresholdPct,
    noiseFactor: NOISE_FACTOR,
    gateFigures,
    compared: common.length,
    intersection,
    leftOut: onlyInBase.length + onlyInHead.length,
    onlyInBase,
    onlyInHead,
    regressions: changes.filter((c) => c.regression).length + (cpu?.regression ? 1 : 0),
    ...(cpu ? { cpu } : {}),
    warnings: [...reportWarnings('base', base), ...reportWarnings('head', head), ...driftWarning(changes), ...upstreamDriftWarning(upstreamChange), ...cpuCoverageWarning(gateFigures, gatedCpu.length, proxyConfigurations)],
    changes,
  }
}
