/**
 * The HTML reports in a real browser: headless Chromium (Debian's `chromium`, which .ci/run installs)
 * driven by puppeteer-core opens the files the CLI wrote and checks what a reader gets: no console error,
 * no request for anything but the file itself, marks drawn in every chart, and in stale-keepalive's
 * naive variant every dropped request on the timeline. Screenshots go to the test's temp dir (kept, and
 * its path printed, with QCC_LAB_KEEP_SCREENSHOTS=1). QCC_LAB_HTML_FILES=a.html,b.html checks more files
 * the same way (a `run --all --html` page, a real bench's).
 */
import { existsSync, statSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL, fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'puppeteer-core'
import { runCli } from '../helpers/cli.ts'
// Called as a function until main.ts registers the command (registerReport).
import { reportCommand } from '../../src/cli/commands/report.ts'

/** CHROMIUM_PATH when set (a missing file then fails the test), else Debian's chromium where it installs it. */
const chromium = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))
const results = fileURLToPath(new URL('../../bench/results/', import.meta.url))
const extraFiles = (process.env.QCC_LAB_HTML_FILES ?? '').split(',').map((f) => f.trim()).filter((f) => f !== '')

interface Opened {
  readonly page: Page
  readonly consoleErrors: string[]
  /** Every request the page made other than for the file itself (each was refused). */
  readonly requests: string[]
}

type Box = { getBBox(): { width: number; height: number } }

/** Charts (by `data-chart` and label) with no mark drawn: no element of a Vega mark group with a visible box. */
async function chartsWithoutMarks(page: Page): Promise<string[]> {
  // A closed <details> renders nothing: open every variant first.
  await page.$$eval('details', (all) => { for (const d of all) (d as unknown as { open: boolean }).open = true })
  return page.$$eval('.chart[data-chart]', (charts) => charts.flatMap((chart) => {
    const drawn = [...chart.querySelectorAll('g.role-mark > *')].filter((el) => {
      const box = (el as unknown as Box).getBBox()
      return box.width > 0 || box.height > 0
    })
    return drawn.length === 0 ? [`${chart.getAttribute('data-chart')}: ${chart.getAttribute('aria-label')}`] : []
  }))
}

const describeInBrowser = chromium ? describe : describe.skip
const title = chromium
  ? `HTML reports in headless Chromium (${chromium})`
  : 'HTML reports in headless Chromium — SKIPPED: no chromium at /usr/bin/chromium (apt-get install chromium, as .ci/run does, or set CHROMIUM_PATH)'

describeInBrowser(title, () => {
  let dir: string
  let browser: Browser
  const keep = process.env.QCC_LAB_KEEP_SCREENSHOTS === '1'

  const open = async (file: string): Promise<Opened> => {
    const url = pathToFileURL(file).href
    const page = await browser.newPage()
    await page.setViewport({ width: 1300, height: 900 })
    const consoleErrors: string[] = []
    const requests: string[] = []
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()) })
    page.on('pageerror', (err) => { consoleErrors.push(String(err)) })
    await page.setRequestInterception(true)
    page.on('request', (req) => {
      if (req.url() === url) void req.continue()
      else {
        requests.push(req.url())
        void req.abort()
      }
    })
    await page.goto(url, { waitUntil: 'load' })
    return { page, consoleErrors, requests }
  }

  /** What every page must be: quiet, self-contained, every chart drawn. */
  const checkPage = async (file: string, screenshot: string, fullPage = true): Promise<Opened> => {
    const opened = await open(file)
    expect(await chartsWithoutMarks(opened.page), 'charts without a drawn mark').toEqual([])
    expect(await opened.page.$$eval('.chart[data-chart]', (c) => c.length), 'charts on the page').toBeGreaterThan(0)
    // A refused request also logs a console error: checked first, it names the URL.
    expect(opened.requests, 'requests beyond the file itself').toEqual([])
    expect(opened.consoleErrors, 'console errors').toEqual([])
    const shot = path.join(dir, screenshot)
    await opened.page.screenshot({ path: shot, fullPage })
    expect(statSync(shot).size).toBeGreaterThan(10_000)
    return opened
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-html-browser-'))
    const { default: puppeteer } = await import('puppeteer-core')
    browser = await puppeteer.launch({ executablePath: chromium!, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    if (keep) process.stderr.write(`html-report: screenshots and pages kept in ${dir}\n`)
    else if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('run stale-keepalive --html: the naive variant\'s timeline shows each dropped request, red, under the relay\'s FIN', async () => {
    const html = path.join(dir, 'r.html')
    const json = path.join(dir, 'r.json')
    const r = await runCli(['run', 'stale-keepalive', '--no-progress', '--html', html, '--json', json])
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(await readFile(json, 'utf8')) as { scenarios: Array<{ variants: Array<{ name: string; upstream: { dropped: number }; trace: { requests: Array<{ id: string; diagnosis?: string }> } }> }> }
    const naive = report.scenarios[0]!.variants.find((v) => v.name === 'naive-keepalive')!
    expect(naive.upstream.dropped).toBeGreaterThan(0)

    const { page } = await checkPage(html, 'stale-keepalive.png')
    const timeline = (await page.$('details[data-variant="naive-keepalive"] .chart[data-chart="timeline"]'))!
    const marks = await timeline.$$eval('title', (titles) => titles.map((t) => {
      const el = t.parentElement!
      const box = el.getBoundingClientRect()
      return { text: t.textContent ?? '', fill: el.getAttribute('fill'), visible: box.width > 0 && box.height > 0 }
    }))
    const dropped = marks.filter((m) => /^\S+: dropped: /.test(m.text))
    expect(dropped).toHaveLength(naive.upstream.dropped)
    expect(dropped.every((m) => m.visible && m.fill === '#d62728'), JSON.stringify(dropped.slice(0, 2))).toBe(true)
    expect(marks.filter((m) => m.text.includes('(FIN)')).length).toBeGreaterThanOrEqual(naive.upstream.dropped)
    // Hovering a dropped request names it, what happened to it and its diagnosis.
    const id = /^(\S+): /.exec(dropped[0]!.text)![1]!
    const diagnosis = naive.trace.requests.find((q) => q.id === id)!.diagnosis!
    expect(dropped[0]!.text).toContain('relay-a closed the connection without answering')
    expect(dropped[0]!.text).toContain(diagnosis)
    // The zoom under it tells the first failure step by step.
    expect(await page.$eval('details[data-variant="naive-keepalive"] ol.story', (ol) => ol.textContent)).toMatch(/closes connection #1 \(FIN\) without answering .*The client gets the failure: http-502, caused by stale-socket\./s)
    await timeline.screenshot({ path: path.join(dir, 'naive-keepalive-timeline.png') })

    // The same page from the JSON alone, as `qcc-lab report` draws a run made elsewhere.
    const again = path.join(dir, 'r-again.html')
    expect(await reportCommand(json, { html: again })).toBe(0)
    expect(await readFile(again, 'utf8')).toBe(await readFile(html, 'utf8'))
  }, 120_000)

  it('run of several scenarios --html: every timeline, CDF and endpoint-state chart drawn, nothing fetched', async () => {
    const html = path.join(dir, 'several.html')
    const r = await runCli(['run', 'breaker-recovery', 'failure-queue-isolation', 'midstream-reset', 'all-endpoints-failed', '--no-progress', '--html', html])
    expect(r.code, r.stderr).toBe(0)
    const { page } = await checkPage(html, 'several-scenarios.png')
    const kinds = await page.$$eval('.chart[data-chart]', (c) => [...new Set(c.map((x) => x.getAttribute('data-chart')))])
    expect(kinds.sort()).toEqual(['endpoint-states', 'latency-cdf', 'timeline', 'timeline-zoom'])
    expect(await page.$$eval('nav a', (a) => a.length)).toBe(4)
  }, 120_000)

  it('run --all --html: under 5 MB, every scenario in it, every chart drawn, nothing fetched', async () => {
    const html = path.join(dir, 'all.html')
    const r = await runCli(['run', '--all', '--no-progress', '--html', html])
    expect(r.code, r.stderr).toBe(0)
    expect(statSync(html).size).toBeLessThan(5 * 1024 * 1024)
    // The first screen only: the whole page is tens of thousands of pixels tall.
    const { page } = await checkPage(html, 'all.png', false)
    expect(await page.$$eval('nav a', (a) => a.length)).toBe(14)
  }, 240_000)

  it('bench and compare --html, from committed reports: every figure drawn, a regression marked', async () => {
    const bench = path.join(dir, 'bench.html')
    expect(await reportCommand(path.join(results, 'quick-2026-11-26-b.json'), { html: bench })).toBe(0)
    const benchPage = (await checkPage(bench, 'bench.png')).page
    expect(await benchPage.$$eval('.chart[data-chart]', (c) => c.map((x) => x.getAttribute('data-chart')))).toEqual(
      ['bench-rps', 'bench-p50', 'bench-p99', 'bench-ttfbP50', 'bench-connectionsPerRequest', 'bench-handshakesPerRequest'])

    // A head whose tuned keep-alive lost four fifths of its req/s over plain HTTP/JSON.
    const base = path.join(results, 'quick-2026-11-26-a.json')
    const head = JSON.parse(await readFile(path.join(results, 'quick-2026-11-26-b.json'), 'utf8')) as { results: Array<{ id: string; median: { rps: number }; rounds: Array<{ rps: number }> }> }
    for (const x of head.results) {
      if (x.id !== 'http/json/c64/rtt0/tuned-keepalive') continue
      x.median.rps /= 5
      for (const round of x.rounds) round.rps /= 5
    }
    const slower = path.join(dir, 'slower.json')
    await writeFile(slower, JSON.stringify(head))
    const compare = path.join(dir, 'compare.html')
    const c = await runCli(['compare', base, slower, '--html', compare])
    expect(c.code, c.stderr).toBe(1)
    const comparePage = (await checkPage(compare, 'compare.png')).page
    const regressions = await comparePage.$$eval('.chart[data-chart="compare"] title', (t) => t.map((x) => x.textContent ?? '').filter((x) => x.endsWith('→ REGRESSION')))
    expect(regressions).toHaveLength(1)
    expect(regressions[0]).toMatch(/^http\/json\/c64\/rtt0\/tuned-keepalive · rps: /)
  }, 120_000)

  for (const file of extraFiles) {
    it(`${file}: quiet, self-contained, every chart drawn`, async () => {
      await checkPage(path.resolve(file), `${path.basename(file, '.html')}.png`)
    }, 120_000)
  }
})
