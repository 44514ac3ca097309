/**
 * A comparison (`qcc-lab/compare-report@1`): each configuration's change per figure, in percent (relative
 * to the same run's direct where compare judged it so), against its noise band (grey) and the threshold
 * (dashed); regressions red and labelled. Oriented so that right is always worse.
 */
import type { TopLevelSpec } from 'vega-lite'
import { noiseFactorOf, type Comparison, type FigureChange } from '../compare.ts'
import { comparedFigures } from '../types.ts'
import { baseConfig } from '../../shared/html/chart-style.ts'

export const verdictColors = {
  REGRESSION: '#d62728',
  'worse (not gating)': '#f58518',
  improved: '#54a24b',
  'machine drift': '#9467bd',
  'within noise': '#4c78a8',
} as const

export function verdictOf(c: FigureChange): keyof typeof verdictColors {
  return c.regression ? 'REGRESSION' : c.worse ? 'worse (not gating)' : c.improvement ? 'improved' : c.drift ? 'machine drift' : 'within noise'
}

/**
 * The change compare judged (vs direct, or for CPU per request vs the upstream's CPU, where it has one)
 * and its noise, signed so that positive = worse.
 */
export function judged(c: FigureChange): { readonly worsePct: number; readonly noisePct: number; readonly vsDirect: boolean } {
  const sign = comparedFigures[c.figure] === 'higher' ? -1 : 1
  const vsDirect = c.changeVsDirectPct !== undefined
  return { worsePct: sign * (c.changeVsDirectPct ?? c.changeVsUpstreamPct ?? c.changePct), noisePct: c.noiseVsDirectPct ?? c.noiseVsUpstreamPct ?? c.noisePct, vsDirect }
}

export function compareSpec(comparison: Comparison, options: { readonly width?: number } = {}): TopLevelSpec {
  // The grey band is what a change must pass: the noise times the factor the comparison judged with.
  const k = comparison.noiseFactor ?? 1
  const f = (c: FigureChange): number => noiseFactorOf(c.id, k)
  const rows = comparison.changes.map((c) => {
    const j = judged(c)
    const verdict = verdictOf(c)
    return {
      id: c.id, figure: c.figure, worse: j.worsePct, lo: -f(c) * j.noisePct, hi: f(c) * j.noisePct, verdict,
      label: verdict === 'REGRESSION' ? 'REGRESSION' : '',
      tip: `${c.id} · ${c.figure}: ${c.base.toFixed(2)} → ${c.head.toFixed(2)} (${c.changePct >= 0 ? '+' : ''}${c.changePct.toFixed(1)}%${j.vsDirect ? `; vs direct ${c.changeVsDirectPct! >= 0 ? '+' : ''}${c.changeVsDirectPct!.toFixed(1)}%` : ''})\nnoise ±${j.noisePct.toFixed(1)}%${f(c) === 1 ? '' : ` (counts beyond ${f(c)} × that)`}, threshold ${comparison.thresholdPct}% → ${verdict}`,
    }
  })
  const ids = [...new Set(comparison.changes.map((c) => c.id))]
  const figures = Object.keys(comparedFigures).filter((f) => comparison.changes.some((c) => c.figure === f))
  const t = comparison.thresholdPct
  const y = { field: 'id', type: 'nominal' as const, scale: { domain: ids }, axis: { title: null, labelLimit: 320 }, sort: null }
  const x = { field: 'worse', type: 'quantitative' as const, axis: { title: '% worse →', grid: true, tickCount: 4 } }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: baseConfig,
    data: { values: rows },
    facet: { column: { field: 'figure', type: 'nominal', sort: figures, header: { title: null, labelFontSize: 13, labelFontWeight: 'bold' } } },
    spec: {
      width: options.width ?? 125,
      height: { step: 16 },
      layer: [
        { mark: { type: 'bar', color: '#d9d9d9', height: { band: 0.8 }, aria: false }, encoding: { x: { ...x, field: 'lo' }, x2: { field: 'hi' }, y } },
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#555', aria: false }, encoding: { x: { datum: -t, type: 'quantitative' } } },
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#555', aria: false }, encoding: { x: { datum: t, type: 'quantitative' } } },
        { mark: { type: 'rule', color: '#222', aria: false }, encoding: { x: { datum: 0, type: 'quantitative' } } },
        {
          mark: { type: 'point', filled: true, size: 60 },
          encoding: {
            x, y,
            color: { field: 'verdict', type: 'nominal', scale: { domain: Object.keys(verdictColors), range: Object.values(verdictColors) }, legend: { title: 'verdict', orient: 'bottom' } },
            shape: { field: 'verdict', type: 'nominal', scale: { domain: Object.keys(verdictColors), range: ['triangle-right', 'circle', 'circle', 'diamond', 'circle'] } },
            description: { field: 'tip' },
          },
        },
        { mark: { type: 'text', align: 'left', dx: 7, fontSize: 10, fontWeight: 'bold', color: '#d62728', aria: false }, encoding: { x, y, text: { field: 'label' } } },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  } as TopLevelSpec
}
