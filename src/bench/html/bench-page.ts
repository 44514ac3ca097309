/**
 * Bench reports (`qcc-lab/bench-report@1`) and comparisons (`qcc-lab/compare-report@1`) → one
 * self-contained HTML page each, from the JSON alone (`qcc-lab report bench.json --html`).
 */
import type { BenchReport } from '../types.ts'
import type { Comparison } from '../compare.ts'
import { benchFigureSpec, benchFigures, type BenchFigure } from './bench-chart.ts'
import { compareSpec, judged, verdictOf } from './compare-chart.ts'
import { escapeHtml } from '../../shared/html/escape.ts'
import { chartBlock, htmlPage, htmlTable } from '../../shared/html/page.ts'
import { renderChart } from '../../shared/html/render-chart.ts'

const e = escapeHtml
const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`
/** The change compare judged: vs the same run's direct, or (CPU per request) vs the upstream's CPU. */
const relative = (c: Comparison['changes'][number]): string =>
  c.changeVsDirectPct !== undefined ? `${signed(c.changeVsDirectPct)} vs direct` : c.changeVsUpstreamPct !== undefined ? `${signed(c.changeVsUpstreamPct)} vs upstream` : '–'
const ratio = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : v.toFixed(2))

export async function renderBenchHtml(report: BenchReport): Promise<string> {
  const env = report.environment
  const parts: string[] = [
    `<h1>qcc-lab bench (${e(report.mode)})</h1>`,
    `<p class="meta">${e(report.createdAt)} · ${report.settings.rounds} rounds × ${report.settings.roundMs} ms per configuration after ${(report.settings.warmupMs / 1000).toFixed(0)} s of warm-up · node ${e(env.node)} · undici ${e(env.undici)} · ${env.cores} × ${e(env.cpuModel)}${env.gitCommit ? ` · ${e(env.gitCommit.slice(0, 10))}` : ''}${report.settings.placement ? ` · cores: ${e(report.settings.placement)}` : ''}</p>`,
    '<p>Each bar is a target\'s median over the rounds; the black ticks are the rounds themselves and the line their range (the run-to-run spread). <code>direct</code> is the client talking to the upstream with no proxy: the reference every proxy configuration is measured against.</p>',
    '<h2>Ratios of requests per second</h2>',
    htmlTable(['group', 'force-close ÷ tuned', 'tuned ÷ naive', 'proxy (tuned) ÷ direct', 'nginx ÷ direct'],
      report.ratios.map((r) => [e(r.id), ratio(r.forceCloseOverTuned), ratio(r.tunedOverNaive), ratio(r.proxyOverDirect), ratio(r.nginxOverDirect)]), new Set([1, 2, 3, 4])),
  ]
  if (report.ratios.some((r) => r.proxyCpuOverNodeFloor !== undefined || r.proxyCpuOverNginx !== undefined)) {
    parts.push('<h2>CPU per request: the proxy (tuned keep-alive) against the anchors</h2>')
    parts.push(htmlTable(['group', 'proxy ÷ node-floor', 'proxy ÷ nginx'], report.ratios.map((r) => [e(r.id), ratio(r.proxyCpuOverNodeFloor), ratio(r.proxyCpuOverNginx)]), new Set([1, 2])))
  }
  const figures: BenchFigure[] = ['rps', 'cpuUsPerRequest', 'p50', 'p99', 'ttfbP50', 'connectionsPerRequest', 'handshakesPerRequest']
  for (const figure of figures) {
    if (figure === 'handshakesPerRequest' && !report.results.some((r) => r.protocol === 'https')) continue
    if (figure === 'cpuUsPerRequest' && !report.results.some((r) => r.median.cpuUsPerRequest !== undefined)) continue
    parts.push(`<h2>${e(benchFigures[figure].title)}</h2>`)
    parts.push(chartBlock(`bench-${figure}`, await renderChart(benchFigureSpec(report, figure)), benchFigures[figure].title))
  }
  parts.push('<h2>Every configuration (medians)</h2>')
  parts.push(htmlTable(['configuration', 'req/s', '± spread', 'cpu µs/req', 'p50 ms', 'p99 ms', 'ttfb ms', 'conn/req', 'tls/req', 'errors'],
    report.results.map((r) => [e(r.id), r.median.rps.toFixed(0), `${(r.spread.rps * 100).toFixed(0)}%`, r.median.cpuUsPerRequest === undefined ? '–' : r.median.cpuUsPerRequest.toFixed(1), r.median.p50.toFixed(2), r.median.p99.toFixed(2), r.median.ttfbP50.toFixed(2), r.median.connectionsPerRequest.toFixed(2), r.median.handshakesPerRequest.toFixed(2), String(r.median.errors)]),
    new Set([1, 2, 3, 4, 5, 6, 7, 8, 9])))
  return htmlPage(`qcc-lab bench (${report.mode}) · ${report.createdAt}`, parts.join('\n'))
}

export async function renderCompareHtml(comparison: Comparison): Promise<string> {
  const regressions = comparison.changes.filter((c) => c.regression)
  const notable = comparison.changes.filter((c) => c.regression || c.worse || c.improvement || c.drift)
  const parts: string[] = [
    `<h1>qcc-lab compare: ${comparison.regressions > 0 ? `<span class="fail">${comparison.regressions} regression(s)</span>` : '<span class="pass">no regression</span>'}</h1>`,
    `<p class="meta">${comparison.compared} configurations compared${comparison.intersection ? ` (--intersection; ${comparison.leftOut} left out)` : ''} · threshold ${comparison.thresholdPct}% · gating figures: ${e(comparison.gateFigures.join(', '))}</p>`,
    `<p>Each point is a figure's change from base to head, in percent, oriented so that <strong>right is worse</strong> (req/s going down, latency going up). For a proxy configuration the change is taken relative to the same run's <code>direct</code> (the machine's own drift divided out). The grey band is the measured noise (the spread over the rounds)${(comparison.noiseFactor ?? 1) === 1 ? '' : ` times ${comparison.noiseFactor}`}; the dashed lines are the threshold (±${comparison.thresholdPct}%). A change counts only beyond both; a gating figure that got worse is a <span class="regression">REGRESSION</span>. <code>direct</code> never gates: when it moves, the machine did (drift).</p>`,
    ...(comparison.cpu ? [`<p><strong>The proxy's CPU per request</strong> over all ${comparison.cpu.configurations} proxy configurations (geometric mean of their changes): ${comparison.cpu.changePct >= 0 ? '+' : ''}${comparison.cpu.changePct.toFixed(1)}%, noise ±${comparison.cpu.noisePct.toFixed(1)}% (twice the standard error across them), threshold ${comparison.cpu.thresholdPct}%: ${comparison.cpu.regression ? '<span class="regression">REGRESSION</span>' : e(comparison.cpu.worse ? 'worse (not gating)' : comparison.cpu.improvement ? 'improved' : 'within noise')}. Per configuration, <code>cpuUsPerRequest</code> is judged on its own (direct has no proxy), against ${(comparison.noiseFactor ?? 1) === 1 ? '' : `${comparison.noiseFactor} × `}its rounds' spread.</p>`] : []),
    ...comparison.warnings.map((w) => `<p class="meta">note: ${e(w)}</p>`),
  ]
  if (regressions.length > 0) {
    parts.push('<h2>Regressions</h2>')
    parts.push(htmlTable(['configuration', 'figure', 'base', 'head', 'change', 'relative', 'noise'], regressions.map((c) => [
      `<span class="regression">${e(c.id)}</span>`, e(c.figure), c.base.toFixed(2), c.head.toFixed(2), `${c.changePct.toFixed(1)}%`,
      relative(c), `±${judged(c).noisePct.toFixed(1)}%`,
    ]), new Set([2, 3, 4, 5, 6])))
  }
  if (comparison.changes.length > 0) {
    parts.push('<h2>Every figure against its noise</h2>')
    parts.push(chartBlock('compare', await renderChart(compareSpec(comparison)), 'changes against their noise bands'))
  }
  if (notable.length > 0) {
    parts.push('<h2>Changes beyond the threshold and the noise</h2>')
    parts.push(htmlTable(['configuration', 'figure', 'base', 'head', 'change', 'relative', 'noise', 'verdict'], notable.map((c) => [
      e(c.id), e(c.figure), c.base.toFixed(2), c.head.toFixed(2), `${c.changePct >= 0 ? '+' : ''}${c.changePct.toFixed(1)}%`,
      relative(c), `±${judged(c).noisePct.toFixed(1)}%`,
      c.regression ? '<span class="regression">REGRESSION</span>' : e(verdictOf(c)),
    ]), new Set([2, 3, 4, 5, 6])))
  }
  if (comparison.onlyInBase.length + comparison.onlyInHead.length > 0) {
    parts.push(`<p class="meta">left out: ${comparison.onlyInBase.length} only in base, ${comparison.onlyInHead.length} only in head</p>`)
  }
  return htmlPage(`qcc-lab compare: ${comparison.regressions} regression(s)`, parts.join('\n'))
}
