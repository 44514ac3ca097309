/**
 * Compares two bench reports: per configuration and figure, the change, whether it is beyond the
 * run-to-run spread the reports measured, and whether it is a regression beyond the threshold. Pure.
 */
import { QccLabError } from '../shared/errors.ts'
import { comparedFigures, defaultGateFigures, type BenchReport, type ComparedFigure } from './types.ts'

export interface FigureChange {
  readonly id: string
  readonly figure: ComparedFigure
  readonly base: number
  readonly head: number
  /** (head − base) / base, as a fraction; positive = the number went up. */
  readonly change: number
  /**
   * The same change after dividing out the machine's drift: each run's figure over its `direct`
   * configuration (same protocol, payload, concurrency, RTT) first. Absent for `direct` itself or when
   * either report lacks that configuration.
   */
  readonly changeVsDirect?: number
  /** The larger relative spread of the two reports for this figure. */
  readonly noise: number
  /**
   * Worse by more than the threshold and more than the noise, on a gating figure; for a proxy
   * configuration, both as measured and relative to direct (a slower machine slows direct too, and that
   * is drift, not a regression).
   */
  readonly regression: boolean
  /** Worse by more than the threshold and the noise, on a figure that does not gate (reported only). */
  readonly worse: boolean
  /** Better by more than the threshold and more than the noise. */
  readonly improvement: boolean
}

export interface Comparison {
  readonly thresholdPct: number
  readonly gateFigures: readonly ComparedFigure[]
  readonly changes: readonly FigureChange[]
  readonly onlyInBase: readonly string[]
  readonly onlyInHead: readonly string[]
  readonly regressions: number
}

/** Throws a QccLabError (exit 2) when `data` is not a bench report. */
export function asBenchReport(data: unknown, name: string): BenchReport {
  const r = data as Partial<BenchReport> | null
  if (!r || typeof r !== 'object' || r.schema !== 'qcc-lab/bench-report@1' || !Array.isArray(r.results)) {
    throw new QccLabError('BAD_REPORT', `Failed to read ${name}: not a qcc-lab/bench-report@1 file (schema: ${JSON.stringify(r?.schema ?? null)}).`)
  }
  return r as BenchReport
}

export function compareReports(base: BenchReport, head: BenchReport, thresholdPct = 10, gateFigures: readonly ComparedFigure[] = defaultGateFigures): Comparison {
  const headById = new Map(head.results.map((r) => [r.id, r]))
  const baseIds = new Set(base.results.map((r) => r.id))
  const common = base.results.filter((r) => headById.has(r.id))
  if (common.length === 0) {
    throw new QccLabError('REPORTS_MISMATCH', 'Failed to compare: the two reports share no configuration (different --quick/--full, protocols or concurrencies?).')
  }
  const threshold = thresholdPct / 100
  const baseById = new Map(base.results.map((r) => [r.id, r]))
  const directOf = (id: string): string => `${id.slice(0, id.lastIndexOf('/'))}/direct`
  const changes: FigureChange[] = []
  for (const b of common) {
    const h = headById.get(b.id)!
    const bd = b.target === 'direct' ? undefined : baseById.get(directOf(b.id))
    const hd = b.target === 'direct' ? undefined : headById.get(directOf(b.id))
    for (const [figure, better] of Object.entries(comparedFigures) as Array<[ComparedFigure, 'higher' | 'lower']>) {
      const bv = b.median[figure]
      const hv = h.median[figure]
      if (!(bv > 0)) continue
      const change = (hv - bv) / bv
      const bdv = bd?.median[figure] ?? 0
      const hdv = hd?.median[figure] ?? 0
      const changeVsDirect = bdv > 0 && hdv > 0 ? (hv / hdv) / (bv / bdv) - 1 : undefined
      const noise = Math.max(b.spread[figure] ?? 0, h.spread[figure] ?? 0)
      const sign = better === 'higher' ? -1 : 1
      // How much worse: as measured, and (for proxies) after the drift direct saw; the smaller counts.
      const worse = Math.min(sign * change, changeVsDirect === undefined ? Infinity : sign * changeVsDirect)
      const better_ = Math.min(-sign * change, changeVsDirect === undefined ? Infinity : -sign * changeVsDirect)
      const beyond = worse > threshold && worse > noise
      changes.push({
        id: b.id, figure, base: bv, head: hv, change, ...(changeVsDirect === undefined ? {} : { changeVsDirect }), noise,
        regression: beyond && gateFigures.includes(figure),
        worse: beyond,
        improvement: better_ > threshold && better_ > noise,
      })
    }
  }
  return {
    thresholdPct,
    gateFigures,
    changes,
    onlyInBase: base.results.filter((r) => !headById.has(r.id)).map((r) => r.id),
    onlyInHead: head.results.filter((r) => !baseIds.has(r.id)).map((r) => r.id),
    regressions: changes.filter((c) => c.regression).length,
  }
}
