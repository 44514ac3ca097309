/**
 * A run report (`qcc-lab/run-report@3`) → one self-contained HTML page: per scenario the latency CDF of
 * its variants, and per variant the verdict table, the connection timeline with a zoom on its first
 * failure told step by step, and (where endpoints changed state) each endpoint's tier and breaker.
 * Rendered from the JSON report alone, so `qcc-lab report run.json --html` draws a run made elsewhere.
 */
import type { RunReport, ScenarioReport, VariantReport } from '../types.ts'
import { msExact } from '../../../shared/html/chart-style.ts'
import { endpointStatesSpec, hasStateChanges, stateSummary } from './endpoint-states-chart.ts'
import { escapeHtml } from '../../../shared/html/escape.ts'
import { failureStory, timelineCaption } from './failure-story.ts'
import { latencyCdfSpec } from './latency-cdf-chart.ts'
import { anchor, chartBlock, htmlPage, htmlTable, verdictHtml } from '../../../shared/html/page.ts'
import { renderChart } from '../../../shared/html/render-chart.ts'
import { firstFailure, timelineSpec, traceEndMs } from './timeline-chart.ts'

const e = escapeHtml

const howToRead = `<div class="howto"><strong>How to read a connection timeline.</strong> Time runs left to right, in ms since the
variant started. The top lane is the <em>client</em> (each request from send to answer), then the <em>proxy</em>'s attempts per
endpoint, then one lane per TCP connection the proxy opened to an upstream (<code>relay-a #3</code> = relay-a's third connection).
On a connection lane the grey line is the connection being open: a bare stretch of line is an <em>idle gap</em>, the connection
parked in the proxy's pool. Each request the upstream read is a mark from the moment its head arrived to its last byte
(a thin tick when it is too short to see): blue when answered, red when the upstream closed the connection without answering.
A black <strong>▼</strong> is the upstream's own close (FIN; ✚ for a reset, RST), a short black bar the proxy closing it. A dashed line
goes from a failed arrival to the same request sent again. Hover any mark for the request id, what happened and the
diagnosis. The yellow band marks the stretch shown zoomed in below the overview.</div>`

function expectationRows(v: VariantReport): string[][] {
  return v.expectations.map((x) => [
    x.status === 'pass' ? '<span class="pass">✓</span>' : x.status === 'fail' ? '<span class="fail">✗</span>' : '<span class="na">–</span>',
    `${e(x.name)}${x.implicit ? ' <span class="meta">[contract]</span>' : ''}`,
    `<code>${e(x.check)}</code>`,
    e(x.expected),
    x.status === 'n/a' ? `<span class="meta">not evaluable: ${e(x.reason ?? 'no value in this run')}</span>` : `${e(String(x.actual))}${x.reason ? ` <span class="meta">(${e(x.reason)})</span>` : ''}`,
  ])
}

const sum = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((a, b) => a + b, 0)

function variantSummary(s: ScenarioReport): string {
  const rows = s.variants.map((v) => [
    verdictHtml(v.verdict), `<a href="#${anchor(s.name, s.repeat, v.name)}">${e(v.name)}</a>`, e(v.contract ? 'contract' : v.connector),
    String(v.requests), String(v.attempts.total), String(v.attempts.staleSocket), String(sum(v.failures)), String(v.upstream.received),
    String(v.upstream.dropped), String(v.upstream.connections), v.upstream.requestsPerConnection.toFixed(2), String(v.attempts.retried),
    v.latencyMs.p50.toFixed(1), v.latencyMs.p99.toFixed(1),
  ])
  return htmlTable(
    ['', 'variant', 'connector', 'requests', 'attempts', 'stale-socket', 'client failures', 'upstream recv', 'dropped', 'upstream conns', 'req/conn', 'retries', 'p50 ms', 'p99 ms'],
    rows, new Set([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]),
  )
}

function failureLines(v: VariantReport): string {
  const out: string[] = []
  const failures = Object.entries(v.failures)
  if (failures.length > 0) out.push(`<li>client-visible failures: ${failures.map(([k, n]) => `${n} × <code>${e(k)}</code>`).join(', ')}</li>`)
  const causes = Object.entries(v.causes)
  if (causes.length > 0) out.push(`<li>what the proxy met upstream for them: ${causes.map(([k, n]) => `${n} × <code>${e(k)}</code>`).join(', ')}</li>`)
  if (v.attempts.staleSocket > 0) out.push(`<li>attempts on a stale pooled connection: ${v.attempts.staleSocket}, retried on a fresh connection: ${v.attempts.retried}</li>`)
  if (v.upstream.redelivered + v.upstream.duplicates + v.upstream.lost > 0) out.push(`<li>deliveries: ${v.upstream.redelivered} redelivered after a drop, ${v.upstream.duplicates} answered twice, ${v.upstream.lost} lost</li>`)
  for (const t of v.errorTexts.slice(0, 3)) out.push(`<li>the client was told (${t.count} ×): <span class="mono">${e(t.text)}</span></li>`)
  return out.length > 0 ? `<ul>${out.join('')}</ul>` : ''
}

/** Whether a variant's section starts open: it has a story to tell, or it is all there is. */
function worthOpening(v: VariantReport, only: boolean): boolean {
  return only || v.verdict === 'fail' || sum(v.failures) > 0 || v.upstream.dropped > 0
}

async function variantSection(s: ScenarioReport, v: VariantReport, options: { readonly charts: boolean; readonly open: boolean }): Promise<string> {
  const what = [v.contract ? 'contract' : `connector ${v.connector}`, v.description].filter(Boolean).join(' — ')
  const parts: string[] = [
    `<details class="variant" id="${anchor(s.name, s.repeat, v.name)}" data-variant="${e(v.name)}"${options.open ? ' open' : ''}>`,
    `<summary>${verdictHtml(v.verdict)} ${e(v.name)} <span class="meta">(${e(what)})</span></summary>`,
    htmlTable(['', 'expectation', 'check', 'expected', 'got'], expectationRows(v)),
    failureLines(v),
  ]
  const empty = v.trace.requests.every((r) => r.skipped) && v.trace.upstreams.every((u) => u.arrivals.length === 0)
  if (options.charts && empty) parts.push('<p class="meta">Nothing was sent in this variant: no timeline to draw.</p>')
  else if (options.charts) {
    const trace = v.trace
    const first = firstFailure(trace)
    const end = traceEndMs(trace)
    // The zoom: from just before the first failed request reached anything to just after the story ends.
    const story = first ? failureStory(trace, first.requestId) : []
    const own = story.filter((st) => !st.context)
    const window = own.length > 0 ? padded(own[0]!.atMs, own[own.length - 1]!.atMs, end) : undefined
    parts.push(`<h4>Connection timeline</h4>`, `<p>${e(timelineCaption(trace))}</p>`)
    const overview = await renderChart(timelineSpec(trace, window ? { highlight: window } : {}))
    parts.push(chartBlock('timeline', overview, `connection timeline of ${s.name} / ${v.name}`))
    if (first && window) {
      const request = trace.requests.find((r) => r.id === first.requestId)
      parts.push(`<h4>Zoom: the first request that went wrong, ${e(first.requestId)}, ${e(msExact(window[0]))} → ${e(msExact(window[1]))}</h4>`)
      const zoom = await renderChart(timelineSpec(trace, { window, idleLabels: true }))
      parts.push(chartBlock('timeline-zoom', zoom, `the first failure of ${s.name} / ${v.name}, zoomed in`))
      parts.push(`<ol class="story">${story.map((st) => `<li><span class="at">${e(msExact(st.atMs))}</span> ${e(st.text)}</li>`).join('')}</ol>`)
      if (request?.diagnosis) parts.push(`<p class="diag">${e(request.diagnosis)}</p>`)
    }
    if (hasStateChanges(trace)) {
      parts.push(`<h4>Endpoint state over time</h4>`)
      parts.push(chartBlock('endpoint-states', await renderChart(endpointStatesSpec(trace)), `endpoint tiers and breakers of ${s.name} / ${v.name}`))
      parts.push(`<ul>${stateSummary(trace).map((line) => `<li>${e(line)}</li>`).join('')}</ul>`)
      parts.push('<p class="meta">Each endpoint as the proxy saw it whenever it acted (picked an endpoint, recorded an attempt, opened a breaker): a state that changes with time alone, such as a recovery after <code>recoverMs</code> or a breaker turning half-open, shows where the proxy next looked.</p>')
    }
  } else {
    parts.push('<p class="meta">Charts are drawn for the first repetition and for failed ones only.</p>')
  }
  parts.push('</details>')
  return parts.join('\n')
}

/** [from, to] with a margin of a fifth of its length (at least 1 ms) on each side, within the run. */
function padded(from: number, to: number, end: number): [number, number] {
  const margin = Math.max(1, (to - from) * 0.2)
  return [Math.max(0, from - margin), Math.min(Math.max(end, to), to + margin)]
}

async function scenarioSection(s: ScenarioReport, options: { readonly charts: boolean; readonly only: boolean }): Promise<string> {
  const parts: string[] = [
    `<h2 id="${anchor(s.name, s.repeat)}">${verdictHtml(s.verdict)} ${e(s.name)}${s.repeat > 0 ? ` <span class="meta">(repeat ${s.repeat + 1})</span>` : ''}</h2>`,
    `<p>${e(s.description)}</p>`,
    `<p class="meta">seed ${s.seed} · ${e(s.file)}${s.mode === 'target' ? ' · target mode' : ''}</p>`,
  ]
  if (s.variants.length > 0) parts.push(variantSummary(s))
  const charts = options.charts || s.verdict === 'fail'
  const timed = s.variants.filter((v) => v.trace.requests.some((r) => !r.skipped))
  if (charts && timed.length > 0) {
    parts.push(`<h3>Latency of every variant</h3>`)
    parts.push(chartBlock('latency-cdf', await renderChart(latencyCdfSpec(timed)), `latency CDF of ${s.name}`))
  }
  for (const v of s.variants) parts.push(await variantSection(s, v, { charts, open: worthOpening(v, options.only) }))
  for (const b of s.bundledOnly) parts.push(`<p class="meta">– ${e(b.variant)}: bundled-only, not run against the target (${e(b.reason)})</p>`)
  for (const k of s.keptHomes ?? []) parts.push(`<p class="meta">! ${e(k.variant)}: the target's home is kept at ${e(k.home)}</p>`)
  return parts.join('\n')
}

function stabilitySection(report: RunReport): string {
  if (report.repeat <= 1) return ''
  const rows = report.stability.map((st) => [
    e(st.scenario), e(st.variant), String(st.runs), e(st.verdicts.join(', ')),
    e(st.expectations.filter((x) => x.held !== st.runs).map((x) => `${x.name}: held ${x.held}/${st.runs}`).join('; ') || `all held in ${st.runs}/${st.runs}`),
    e(st.failureCounts.join(', ')), e(st.staleSocketCounts.join(', ')),
  ])
  return `<h2>Stability over ${report.repeat} runs</h2>${htmlTable(['scenario', 'variant', 'runs', 'verdicts', 'expectations', 'client failures', 'stale-socket'], rows)}`
}

export async function renderRunHtml(report: RunReport): Promise<string> {
  const env = report.environment
  const seen = new Set<string>()
  const sections: string[] = []
  const only = report.scenarios.length === 1
  for (const s of report.scenarios) {
    // Every repetition is listed; the charts of one run are enough, unless another failed.
    const first = !seen.has(s.name)
    seen.add(s.name)
    sections.push(await scenarioSection(s, { charts: first, only }))
  }
  const nav = report.scenarios.length > 1
    ? `<nav><ul>${report.scenarios.map((s) => `<li>${verdictHtml(s.verdict)} <a href="#${anchor(s.name, s.repeat)}">${e(s.name)}</a>${s.repeat > 0 ? ` <span class="meta">(repeat ${s.repeat + 1})</span>` : ''}</li>`).join('')}</ul></nav>`
    : ''
  const v = report.verification
  const body = [
    `<h1>qcc-lab run: ${verdictHtml(report.verdict)}</h1>`,
    `<p class="meta">${e(report.startedAt)} · ${(report.durationMs / 1000).toFixed(1)} s · ${v.ran} variant run(s)${v.bundledOnly > 0 ? `, ${v.bundledOnly} bundled-only` : ''} · node ${e(env.node)} · undici ${e(env.undici)} · qcc-lab ${e(env.qccLab)} · ${e(env.platform)}/${e(env.arch)}, ${env.cpus} CPUs${report.target ? ` · target <code>${e(report.target.command)}</code> (profile ${e(report.target.profile)})` : ''}</p>`,
    howToRead,
    nav,
    stabilitySection(report),
    ...sections,
  ].join('\n')
  return htmlPage(`qcc-lab run: ${report.verdict.toUpperCase()} · ${report.scenarios.map((s) => s.name).filter((n, i, a) => a.indexOf(n) === i).join(', ')}`, body)
}
