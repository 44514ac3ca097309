import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderRunHtml } from '../../../src/harness/report/html/run-page.ts'
import { renderBenchHtml, renderCompareHtml } from '../../../src/bench/html/bench-page.ts'
import { parseReportFile } from '../../../src/cli/report-file.ts'
import { escapeHtml } from '../../../src/shared/html/escape.ts'
import { reportCommand } from '../../../src/cli/commands/report.ts'
import { asBenchReport, compareReports } from '../../../src/bench/compare.ts'
import { QccLabError, UsageError } from '../../../src/shared/errors.ts'
import type { RunReport } from '../../../src/harness/report/types.ts'
import { staleRunReport } from './html-fixture.ts'

const benchText = await readFile(new URL('../../../bench/results/quick-2026-11-26-b.json', import.meta.url), 'utf8')
const bench = asBenchReport(JSON.parse(benchText), 'quick-b')

/** Everything in a page that would make a browser fetch something. */
function fetches(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]!).filter((u) => !u.startsWith('#'))
    .concat([...html.matchAll(/url\(([^)]*)\)/g)].map((m) => m[1]!).filter((u) => !u.startsWith('#')), [...html.matchAll(/@import[^;]*/g)].map((m) => m[0]))
}

describe('escapeHtml', () => {
  it('escapes the five characters that end text or an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;')
  })
})

describe('the run page', () => {
  it('is one self-contained file: no script, nothing fetched, a policy that forbids fetching', async () => {
    const html = await renderRunHtml(staleRunReport())
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`)
    expect(html).not.toMatch(/<script/i)
    expect(fetches(html)).toEqual([])
  })

  it('has per variant the verdict table, the timeline, the zoom with the story, and the endpoint states where they changed', async () => {
    const html = await renderRunHtml(staleRunReport())
    expect(html.match(/data-chart="latency-cdf"/g)).toHaveLength(1)
    expect(html.match(/data-chart="timeline"/g)).toHaveLength(2)
    expect(html.match(/data-chart="timeline-zoom"/g)).toHaveLength(2)
    // Only the naive variant's endpoint was ever degraded.
    expect(html.match(/data-chart="endpoint-states"/g)).toHaveLength(1)
    expect(html).toContain('<h4>Zoom: the first request that went wrong, r2, 149.0 ms → 154.0 ms</h4>')
    expect(html).toContain('<li><span class="at">150.4 ms</span> relay-a closes connection #1 (FIN) without answering r2 (fault race-close): its close and the request crossed.</li>')
  })

  it('escapes whatever the report says: a hostile request id, error text or scenario name stays text', async () => {
    const report = staleRunReport()
    const hostile = '</title></svg><script>alert(1)</script><img src=x onerror=alert(2)>'
    const s = report.scenarios[0]!
    const v = s.variants[0]!
    const poisoned: RunReport = {
      ...report,
      scenarios: [{
        ...s, name: hostile, description: hostile,
        variants: [{
          ...v, name: hostile, errorTexts: [{ text: hostile, count: 1 }],
          trace: { ...v.trace, requests: v.trace.requests.map((r) => ({ ...r, id: hostile, ...(r.diagnosis ? { diagnosis: hostile } : {}) })) },
        }, ...s.variants.slice(1)],
      }],
    }
    const html = await renderRunHtml(poisoned)
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/<img/i)
    expect(html).toContain('&lt;/title&gt;&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;')
  })
})

describe('the bench and compare pages', () => {
  it('draw every figure of a bench report, and nothing is fetched', async () => {
    const html = await renderBenchHtml(bench)
    for (const f of ['rps', 'p50', 'p99', 'ttfbP50', 'connectionsPerRequest', 'handshakesPerRequest']) expect(html).toContain(`data-chart="bench-${f}"`)
    expect(html).not.toMatch(/<script/i)
    expect(fetches(html)).toEqual([])
  })

  it('mark a regression on the chart and list it', async () => {
    const slower = { ...bench, results: bench.results.map((r) => (r.id === 'http/json/c64/rtt0/tuned-keepalive' ? { ...r, median: { ...r.median, rps: r.median.rps / 5 }, rounds: r.rounds.map((x) => ({ ...x, rps: x.rps / 5 })) } : r)) }
    const comparison = compareReports(bench, slower)
    expect(comparison.regressions).toBe(1)
    const html = await renderCompareHtml(comparison)
    expect(html).toContain('<h1>qcc-lab compare: <span class="fail">1 regression(s)</span></h1>')
    expect(html).toMatch(/<title>http\/json\/c64\/rtt0\/tuned-keepalive · rps: [^<]*→ REGRESSION<\/title>/)
    expect(html).toContain('<td><span class="regression">http/json/c64/rtt0/tuned-keepalive</span></td>')
  })
})

describe('parseReportFile', () => {
  it('tells the three report kinds apart by their schema tag', () => {
    expect(parseReportFile(JSON.stringify(staleRunReport()), 'run.json').kind).toBe('run')
    expect(parseReportFile(benchText, 'bench.json').kind).toBe('bench')
    expect(parseReportFile(JSON.stringify(compareReports(bench, bench)), 'compare.json').kind).toBe('compare')
  })

  it('refuses a run report from before the trace, and says how to get one', () => {
    expect(() => parseReportFile('{"schema":"qcc-lab/run-report@2","scenarios":[]}', 'old.json')).toThrow(
      'old.json: schema: "qcc-lab/run-report@2" is a run report from before qcc-lab kept the data behind the pictures (per-request samples, ledgers, attempts: qcc-lab/run-report@3); run the scenarios again with this qcc-lab (`qcc-lab run … --json`, or `--html` directly).')
  })

  it('names every bad field of a run report, with the file', () => {
    const report = JSON.parse(JSON.stringify(staleRunReport())) as { scenarios: Array<{ variants: Array<{ trace: { upstreams: Array<{ arrivals: Array<Record<string, unknown>> }> } }> }> }
    report.scenarios[0]!.variants[1]!.trace.upstreams[0]!.arrivals[2]!.atMs = 'soon'
    delete (report.scenarios[0]!.variants[0] as Record<string, unknown>).trace
    let message = ''
    try {
      parseReportFile(JSON.stringify(report), 'r.json')
    } catch (err) {
      expect(err).toBeInstanceOf(QccLabError)
      message = (err as Error).message
    }
    expect(message.split('\n')).toEqual([
      'r.json: scenarios[0].variants[0].trace: missing; expected an object',
      'r.json: scenarios[0].variants[1].trace.upstreams[0].arrivals[2].atMs: expected a number, got string',
      '  (Give a report written by `qcc-lab run --json`, `qcc-lab bench --json` or `qcc-lab compare --json` (this version of qcc-lab).)',
    ])
  })

  it('refuses what is not JSON or not a qcc-lab report', () => {
    expect(() => parseReportFile('{', 'x.json')).toThrow(/^x\.json: invalid JSON: /)
    expect(() => parseReportFile('{"schema":"qcc-lab/doctor-report@1"}', 'd.json')).toThrow('d.json: schema: "qcc-lab/doctor-report@1" is not a report qcc-lab can draw')
    expect(() => parseReportFile('[1]', 'a.json')).toThrow('a.json: schema: null is not a report qcc-lab can draw')
  })
})

describe('qcc-lab report <file> --html', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-html-')) })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('writes the page of a run report made elsewhere', async () => {
    const input = path.join(dir, 'run.json')
    await writeFile(input, JSON.stringify(staleRunReport()))
    const out = path.join(dir, 'run.html')
    expect(await reportCommand(input, { html: out })).toBe(0)
    expect(await readFile(out, 'utf8')).toContain('data-chart="timeline"')
  })

  it('is a usage error without --html, or with --html naming the report itself', async () => {
    const input = path.join(dir, 'same.json')
    await writeFile(input, benchText)
    await expect(reportCommand(input, {})).rejects.toThrow(UsageError)
    await expect(reportCommand(input, { html: input })).rejects.toThrow(`--html ${input}: is the report being drawn; give the page its own file`)
  })

  it('names a missing file and a missing folder before reading anything', async () => {
    await expect(reportCommand(path.join(dir, 'nope.json'), { html: path.join(dir, 'x.html') })).rejects.toThrow(/nope\.json: /)
    await expect(reportCommand(path.join(dir, 'run.json'), { html: path.join(dir, 'no-dir', 'x.html') })).rejects.toThrow(/--html .*x\.html: the folder .*no-dir does not exist/)
  })
})
