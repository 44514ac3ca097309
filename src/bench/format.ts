/** Terminal and Markdown tables for bench reports and comparisons. */
import type { BenchReport } from './types.ts'
import { DEFAULT_CPU_THRESHOLD_PCT, percent, type Comparison } from './compare.ts'

/** Percent values print as they are; a bench report's spreads are fractions and go through `percent` first. */
const pct = (v: number): string => `${v.toFixed(0)}%`
const num = (v: number, d = 1): string => v.toFixed(d)
const signedPct = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`

function rows(report: BenchReport): string[][] {
  return report.results.map((r) => [
    r.id, num(r.median.rps, 0), pct(percent(r.spread.rps)), r.median.cpuUsPerRequest === undefined ? '–' : num(r.median.cpuUsPerRequest, 1), num(r.median.p50, 2), num(r.median.p99, 2), num(r.median.ttfbP50, 2),
    num(r.median.connectionsPerRequest, 2), num(r.median.handshakesPerRequest, 2), String(r.median.errors),
    [r.median.clientCpuCores, r.median.upstreamCpuCores, r.median.proxyCpuCores].map((v) => (v === undefined ? '–' : num(v, 2))).join(' / '),
  ])
}

const header = ['configuration', 'req/s', '±', 'cpu µs/req', 'p50 ms', 'p99 ms', 'ttfb ms', 'conn/req', 'tls/req', 'errors', 'cpu client / upstream / proxy']

function table(head: string[], body: string[][]): string {
  const all = [head, ...body]
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)))
  return all.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n')
}

export function formatBenchTerminal(report: BenchReport): string {
  const e = report.environment
  const out = [
    `qcc-lab bench (${report.mode}): ${report.settings.rounds} rounds × ${report.settings.roundMs} ms per configuration after ${(report.settings.warmupMs / 1000).toFixed(0)} s of warm-up · node ${e.node} · undici ${e.undici} · ${e.cores} × ${e.cpuModel}`,
    ...(report.settings.placement ? [`cores: ${report.settings.placement}`] : []),
    '',
    table(header, rows(report)),
    '',
    'req/s ratios: force-close ÷ tuned, tuned ÷ naive, proxy (tuned) ÷ direct, nginx ÷ direct (with --anchor nginx)',
    table(['group', 'fc/tuned', 'tuned/naive', 'proxy/direct', 'nginx/direct'], report.ratios.map((r) => [r.id, fmtRatio(r.forceCloseOverTuned), fmtRatio(r.tunedOverNaive), fmtRatio(r.proxyOverDirect), fmtRatio(r.nginxOverDirect ?? null)])),
    ...cpuRatioLines(report, (cells) => table(['group', 'proxy/node-floor', 'proxy/nginx'], cells)),
    '',
    '± = run-to-run spread of req/s ((max − min) / median over rounds). cpu µs/req: CPU of what sits between client and upstream',
    '(the proxy process, or an anchor) per request. cpu: each process in cores (1 = one core busy);',
    'a process near 1.00 is the bottleneck (each is single-threaded JavaScript); the client below it means the load generator is not.',
  ]
  return out.join('\n')
}

/** The proxy's CPU per request over each anchor's, when the bench measured one (`--anchor`). */
function cpuRatioLines(report: BenchReport, render: (cells: string[][]) => string): string[] {
  if (!report.ratios.some((r) => r.proxyCpuOverNodeFloor !== undefined || r.proxyCpuOverNginx !== undefined)) return []
  return ['', 'CPU per request: proxy (tuned) ÷ node-floor (a bare Node relay), proxy (tuned) ÷ nginx',
    render(report.ratios.map((r) => [r.id, fmtRatio(r.proxyCpuOverNodeFloor ?? null), fmtRatio(r.proxyCpuOverNginx ?? null)]))]
}

function fmtRatio(v: number | null): string {
  return v === null ? '–' : v.toFixed(2)
}

export function formatBenchMarkdown(report: BenchReport): string {
  const e = report.environment
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [
    `### qcc-lab bench (${report.mode})`,
    '',
    `${report.settings.rounds} rounds × ${report.settings.roundMs} ms per configuration · node ${e.node} · undici ${e.undici} · ${e.cores} × ${e.cpuModel}${e.gitCommit ? ` · ${e.gitCommit.slice(0, 10)}` : ''}`,
    '',
    line(header),
    line(header.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows(report).map(line),
    '',
    line(['group', 'force-close ÷ tuned', 'tuned ÷ naive', 'proxy ÷ direct', 'nginx ÷ direct']),
    line(['---', '---:', '---:', '---:', '---:']),
    ...report.ratios.map((r) => line([r.id, fmtRatio(r.forceCloseOverTuned), fmtRatio(r.tunedOverNaive), fmtRatio(r.proxyOverDirect), fmtRatio(r.nginxOverDirect ?? null)])),
    ...cpuRatioLines(report, (cells) => [line(['group', 'proxy cpu ÷ node-floor', 'proxy cpu ÷ nginx']), line(['---', '---:', '---:']), ...cells.map(line)].join('\n')),
    '',
  ].join('\n')
}

/** The change compare judged: vs the same run's direct (req/s, latency) or vs the upstream's CPU (CPU per request). */
function relativeChange(x: Comparison['changes'][number]): string {
  if (x.changeVsDirectPct !== undefined) return `${signedPct(x.changeVsDirectPct)} vs direct`
  if (x.changeVsUpstreamPct !== undefined) return `${signedPct(x.changeVsUpstreamPct)} vs upstream`
  return '–'
}

/** `1.5 × ` before "the spread", or nothing for a comparison judged at 1×. */
const factor = (c: Comparison): string => ((c.noiseFactor ?? 1) === 1 ? '' : `${c.noiseFactor} × `)

export function formatComparison(c: Comparison, verbose: boolean): string {
  const shown = c.changes.filter((x) => verbose || x.worse || x.improvement || x.drift)
  const out = [
    ...(c.intersection ? [`--intersection: compared the ${c.compared} configuration(s) both reports have; left out ${c.leftOut} (${c.onlyInBase.length} only in base, ${c.onlyInHead.length} only in head).`] : []),
    `Compared ${c.compared} configurations; gating figures: ${c.gateFigures.join(', ')}. A proxy configuration's change counts when,`,
    `relative to the same run's direct, it is beyond ${c.thresholdPct}% and beyond ${factor(c)}the spread of that ratio over the rounds (noise), and the raw change is beyond ${c.thresholdPct}% too.`,
    `CPU per request (cpuUsPerRequest) is the proxy's own: one configuration's counts beyond ${c.thresholdPct}% and ${factor(c)}its rounds' spread; over all of them, beyond ${c.cpu?.thresholdPct ?? DEFAULT_CPU_THRESHOLD_PCT}% and twice the standard error.`,
    'direct itself never gates: when it moves, the machine did (drift).',
  ]
  if (shown.length > 0) {
    out.push('', table(['configuration', 'figure', 'base', 'head', 'change', 'relative', 'noise', 'verdict'], shown.map((x) => [
      x.id, x.figure, num(x.base, 2), num(x.head, 2), signedPct(x.changePct),
      relativeChange(x), pct(x.noiseVsDirectPct ?? x.noiseVsUpstreamPct ?? x.noisePct),
      x.regression ? 'REGRESSION' : x.worse ? 'worse (not gating)' : x.improvement ? 'improved' : x.drift ? 'machine drift' : 'within noise',
    ])))
  }
  if (c.cpu) {
    const a = c.cpu
    const verdict = a.regression ? 'REGRESSION' : a.worse ? 'worse (not gating)' : a.improvement ? 'improved' : 'within noise'
    out.push('', `proxy CPU per request over all ${a.configurations} proxy configurations (geometric mean): ${signedPct(a.changePct)}, noise ±${a.noisePct.toFixed(1)}%, threshold ${a.thresholdPct}%: ${verdict}`)
  }
  for (const w of c.warnings) out.push('', `note: ${w}`)
  // A quick report against a full one leaves 80 out: name a few unless asked for all.
  const ids = (list: readonly string[]): string => (verbose || list.length <= 6 ? list.join(', ') : `${list.slice(0, 6).join(', ')}, … ${list.length - 6} more (--verbose lists them)`)
  if (c.onlyInBase.length > 0) out.push('', `left out, only in base: ${ids(c.onlyInBase)}`)
  if (c.onlyInHead.length > 0) out.push('', `left out, only in head: ${ids(c.onlyInHead)}`)
  const perFigure = c.regressions - (c.cpu?.regression ? 1 : 0)
  const said = [
    ...(perFigure > 0 ? [`${perFigure} configuration figure(s) beyond ${c.thresholdPct}% and the noise`] : []),
    ...(c.cpu?.regression ? [`the proxy's CPU per request over all configurations beyond ${c.cpu.thresholdPct}% and the noise`] : []),
  ]
  out.push('', c.regressions > 0 ? `${c.regressions} regression(s): ${said.join('; ')}.` : 'No regression beyond the thresholds and the noise.')
  return out.join('\n')
}
