/**
 * The human report: one table per scenario run, a verdict line per expectation, explained failures.
 * Every line fits `width` columns (a terminal's width, or 80 for a pipe or a CI log): the table
 * shortens its headers and then moves low-value columns into the variant's own lines below it;
 * prose wraps with a hanging indent.
 */
import { Chalk, type ChalkInstance } from 'chalk'
import { outcomeLabels, type AttemptOutcome } from '../../proxy/outcome.ts'
import type { RunReport, ScenarioReport, VariantReport } from './types.ts'

export interface TerminalOptions {
  readonly color: boolean
  /** Show per-request diagnoses of failures. Default true. */
  readonly diagnose?: boolean
  /** Columns every line must fit in. Default 80 (a pipe, a CI log). */
  readonly width?: number
}

/** Narrower than this nothing useful fits; lines are laid out for this width instead. */
const minWidth = 20
const defaultWidth = 80

const sgrPattern = /(\u001b\[[0-9;]*m)/

/** Terminal columns of one code point: 2 for East Asian wide characters and emoji, 0 for combining marks. */
function charWidth(cp: number): number {
  if (cp < 0x300) return 1
  if ((cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0
  if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) || (cp >= 0xac00 && cp <= 0xd7a3)
    || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6)
    || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd)) return 2
  return 1
}

/** The columns `text` takes on a terminal: colour codes take none, a CJK character two. */
export function displayWidth(text: string): number {
  let w = 0
  for (const [i, part] of text.split(sgrPattern).entries()) {
    if (i % 2 === 1) continue
    for (const ch of part) w += charWidth(ch.codePointAt(0)!)
  }
  return w
}

/** The first `columns` columns of `word` (at least one character) and the rest; colour codes stay with the head. */
function cut(word: string, columns: number): [string, string] {
  let head = ''
  let used = 0
  const parts = word.split(sgrPattern)
  for (const [i, part] of parts.entries()) {
    if (i % 2 === 1) {
      head += part
      continue
    }
    const chars = [...part]
    for (const [k, ch] of chars.entries()) {
      const w = charWidth(ch.codePointAt(0)!)
      if (used + w > columns && used > 0) return [head, chars.slice(k).join('') + parts.slice(i + 1).join('')]
      head += ch
      used += w
    }
  }
  return [head, '']
}

/** The colour codes still open after `text`, given those open before it (chalk closes each style with its own code). */
function openAfter(text: string, before: readonly number[]): number[] {
  let open = [...before]
  for (const m of text.matchAll(/\u001b\[([0-9;]*)m/g)) {
    for (const n of (m[1] || '0').split(';').map(Number)) {
      if (n === 0) open = []
      else if (n === 22) open = open.filter((o) => o !== 1 && o !== 2)
      else if (n === 39) open = open.filter((o) => !((o >= 30 && o <= 37) || (o >= 90 && o <= 97)))
      else if (n === 49) open = open.filter((o) => !((o >= 40 && o <= 47) || (o >= 100 && o <= 107)))
      else if (n >= 23 && n <= 29) open = open.filter((o) => o !== n - 20)
      else open.push(n)
    }
  }
  return open
}

/** `text` cut to `width` columns, ending in `…` when it was longer (a live progress line must not wrap). */
export function truncate(text: string, width: number): string {
  return displayWidth(text) <= width ? text : `${cut(text, Math.max(1, width - 1))[0]}…`
}

/** `text` with its spaces made unbreakable, so that `wrap` moves it to the next line whole (`p99 5.3 ms`). */
export const keep = (text: string): string => text.replaceAll(' ', '\u00a0')

/** Items joined by ` · `, each kept whole, a line breaking only after a separator. */
const items = (list: readonly string[]): string => list.map(keep).join('\u00a0· ')

/**
 * Word-wraps `text` to `width` columns, `first` leading its first line and `rest` the others. Runs of
 * spaces inside a line are kept; a word longer than a line is cut; `keep()` glues words together.
 * Colour open at a break is closed at the end of the line and reopened after the next line's indent,
 * so each line stands on its own.
 */
export function wrap(text: string, width: number, first = '', rest = first): string[] {
  width = Math.max(minWidth, width)
  // An indent leaves room for at least one wide character.
  const indent = (s: string): string => (displayWidth(s) <= width - 2 ? s : '')
  const lines: Array<{ indent: string; body: string }> = []
  let current = { indent: indent(first), body: '' }
  let used = displayWidth(current.indent)
  // A line break or tab inside (an HTML error page, a log line) would undo the measuring.
  const parts = text.replace(/[\t\n\r\v\f]+/g, ' ').split(/( +)/)
  for (let i = 0; i < parts.length; i += 2) {
    let word = parts[i]!
    const gap = i > 0 ? parts[i - 1]! : ''
    const w = displayWidth(word)
    const fresh = current.body === ''
    if (fresh || used + gap.length + w > width) {
      // A word that a fresh line could not hold either is cut here, not after a wasted line.
      if (!fresh && w > width - displayWidth(indent(rest)) && used + gap.length + 2 <= width) {
        current.body += gap
        used += gap.length
      } else if (!fresh && w > 0) {
        lines.push(current)
        current = { indent: indent(rest), body: '' }
        used = displayWidth(current.indent)
      } else if (!fresh) {
        current.body += word
        continue
      }
      while (used + displayWidth(word) > width) {
        const [head, tail] = cut(word, width - used)
        current.body += head
        lines.push(current)
        current = { indent: indent(rest), body: '' }
        used = displayWidth(current.indent)
        word = tail
      }
      current.body += word
      used += displayWidth(word)
    } else {
      current.body += gap + word
      used += gap.length + w
    }
  }
  lines.push(current)
  let open: number[] = []
  return lines.map(({ indent: lead, body }) => {
    const reopen = open.map((n) => `\u001b[${n}m`).join('')
    open = openAfter(body, open)
    return `${lead}${reopen}${body}${open.length > 0 ? '\u001b[0m' : ''}`.trimEnd().replaceAll('\u00a0', ' ')
  })
}

function pad(text: string, width: number, right = false): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)))
  return right ? fill + text : text + fill
}

function table(rows: string[][], rightAligned: readonly boolean[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => displayWidth(r[i]!))))
  return rows.map((r) => r.map((cell, i) => pad(cell, widths[i]!, rightAligned[i])).join('  ').trimEnd())
}

const extraLabels: Readonly<Record<string, string>> = {
  'no-endpoint': 'no endpoint tried ("All 0 endpoints failed", "No available endpoints")',
  'error-body': 'a 2xx answer whose body is an error',
  'sse-error': 'an SSE stream that ended with an error event',
  'truncated-stream': 'an SSE stream that ended without message_stop or an error event',
  skipped: 'not sent (time budget ran out)',
}

export function failureLabel(cls: string): string {
  if (cls.startsWith('client:')) return `the client's connection to the proxy: ${failureLabel(cls.slice('client:'.length))}`
  if (/^http-\d+$/.test(cls)) return `HTTP ${cls.slice(5)}`
  return (outcomeLabels as Record<string, string>)[cls as AttemptOutcome] ?? extraLabels[cls] ?? cls
}

const verdictMark = (verdict: 'pass' | 'fail' | 'n/a', c: ChalkInstance): string => (verdict === 'pass' ? c.green('✓') : verdict === 'fail' ? c.red('✗') : c.dim('–'))

interface Column {
  readonly header: string
  /** The header when the full ones do not fit; the legend under the table says what it counts. */
  readonly short: string
  readonly legend?: string
  /** When the table must lose columns to fit, the lowest goes first; the value then moves to the variant's own lines. */
  readonly drop?: number
  /** The value on its own line once the column is dropped, e.g. `p50 2.6 ms`. */
  readonly alone?: (value: string) => string
  readonly cell: (v: VariantReport, c: ChalkInstance) => string
}

const clientFailures = (v: VariantReport): number => Object.values(v.failures).reduce((a, b) => a + b, 0)

/** What only the bundled proxy publishes (its attempt events) is unknown for an external target. */
const bundledOnlyCell = (v: VariantReport, c: ChalkInstance, value: () => string): string => (v.mode === 'bundled' ? value() : c.dim('n/a'))

const numberColumns: readonly Column[] = [
  { header: 'requests', short: 'reqs', cell: (v) => String(v.requests) },
  { header: 'attempts', short: 'tries', legend: 'proxy→upstream attempts', drop: 7, cell: (v, c) => bundledOnlyCell(v, c, () => String(v.attempts.total)) },
  { header: 'stale-socket', short: 'stale', legend: 'stale-socket attempts', cell: (v, c) => bundledOnlyCell(v, c, () => (v.attempts.staleSocket > 0 ? c.yellow(String(v.attempts.staleSocket)) : '0')) },
  { header: 'client failures', short: 'fail', legend: 'client failures', cell: (v, c) => (clientFailures(v) > 0 ? c.red(String(clientFailures(v))) : c.green('0')) },
  { header: 'upstream recv', short: 'recv', legend: 'upstream requests', drop: 3, cell: (v) => String(v.upstream.received) },
  { header: 'upstream conns', short: 'conns', legend: 'upstream connections', drop: 5, cell: (v) => String(v.upstream.connections) },
  { header: 'req/conn', short: 'r/c', legend: 'requests per connection', drop: 1, cell: (v) => v.upstream.requestsPerConnection.toFixed(2) },
  { header: 'retries', short: 'retry', legend: 'fresh-connection retries', drop: 6, cell: (v, c) => bundledOnlyCell(v, c, () => String(v.attempts.retried)) },
  { header: 'p50 ms', short: 'p50', legend: 'latency ms', drop: 2, alone: (x) => `p50 ${x} ms`, cell: (v) => v.latencyMs.p50.toFixed(1) },
  { header: 'p99 ms', short: 'p99', legend: 'latency ms', drop: 4, alone: (x) => `p99 ${x} ms`, cell: (v) => v.latencyMs.p99.toFixed(1) },
]

const aloneText = (col: Column, value: string): string => (col.alone ? col.alone(value) : `${col.header} ${value}`)

/**
 * The variant table at `width`: full headers; else short ones with a legend; else dropping columns
 * (lowest `drop` first), whose values the variant's own lines then carry; else, when even the
 * essential columns do not fit (a long variant name), one line per variant followed by its values.
 */
function variantTable(variants: readonly VariantReport[], width: number, c: ChalkInstance): { lines: string[]; dropped: readonly Column[] } {
  const dropOrder = numberColumns.filter((col) => col.drop !== undefined).sort((a, b) => a.drop! - b.drop!)
  const layouts: Array<{ short: boolean; dropped: readonly Column[] }> = [{ short: false, dropped: [] }]
  for (let n = 0; n <= dropOrder.length; n++) layouts.push({ short: true, dropped: dropOrder.slice(0, n) })
  for (const layout of layouts) {
    const shown = numberColumns.filter((col) => !layout.dropped.includes(col))
    const header = ['', 'variant', ...shown.map((col) => (layout.short ? col.short : col.header))].map((h) => c.dim(h))
    const rows = variants.map((v) => [verdictMark(v.verdict, c), v.name, ...shown.map((col) => col.cell(v, c))])
    const lines = table([header, ...rows], [false, false, ...shown.map(() => true)])
    if (lines.some((l) => displayWidth(l) > width)) continue
    if (layout.short) {
      // Columns that share a meaning share an entry: `p50/p99 = latency ms`.
      const legend = new Map<string, string[]>()
      for (const col of shown) if (col.legend) legend.set(col.legend, [...(legend.get(col.legend) ?? []), col.short])
      lines.push(...wrap(items([...legend].map(([text, shorts]) => `${shorts.join('/')} = ${text}`)), width).map((l) => c.dim(l)))
    }
    return { lines, dropped: layout.dropped }
  }
  const lines: string[] = []
  for (const v of variants) {
    lines.push(...wrap(`${verdictMark(v.verdict, c)} ${v.name}`, width, '', '  '))
    lines.push(...wrap(items(numberColumns.map((col) => aloneText(col, col.cell(v, c)))), width, '    '))
  }
  return { lines, dropped: [] }
}

export function formatScenario(s: ScenarioReport, options: TerminalOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 })
  const width = Math.max(minWidth, options.width ?? defaultWidth)
  const lines: string[] = []
  const say = (text: string, first: string, rest = `${first}  `): void => { lines.push(...wrap(text, width, first, rest)) }
  const verdict = s.verdict === 'pass' ? c.green.bold('PASS') : s.verdict === 'n/a' ? c.dim('N/A ') : c.red.bold('FAIL')
  say(`${verdict} ${c.bold(s.name)}${s.repeat > 0 ? c.dim(` (repeat ${s.repeat + 1})`) : ''} ${c.dim(`seed ${s.seed} · ${s.file}${s.mode === 'target' ? ' · target mode' : ''}`)}`, '', '     ')
  const bundledOnly = (): void => {
    for (const n of s.bundledOnly) say(c.dim(`– ${n.variant}: bundled-only, not run against the target (${n.reason})`), '  ', '    ')
  }
  if (s.variants.length === 0) {
    bundledOnly()
    return lines.join('\n')
  }
  const { lines: tableLines, dropped } = variantTable(s.variants, width, c)
  lines.push(...tableLines)
  for (const v of s.variants) {
    lines.push('')
    const what = [v.contract ? (v.target ? 'contract, run against the target' : `contract, on the bundled proxy's defaults: connector ${v.connector}`) : `connector ${v.connector}`, v.description].filter(Boolean).join(' — ')
    say(`${c.bold(v.name)} ${c.dim(`(${what})`)}`, '  ', '    ')
    // Columns the table had no room for.
    if (dropped.length > 0) say(items(numberColumns.filter((col) => dropped.includes(col)).map((col) => aloneText(col, col.cell(v, c)))), '    ')
    if (v.timeline.gapMs >= 1_000) say(c.dim(`timeline: ${v.timeline.gapMs} ms pauses (recoverMs ${v.constants.recoverMs}, verifier ${v.constants.verifierIntervalMs} ms, headers timeout ${v.constants.headersTimeoutMs} ms)`), '    ')
    const failureEntries = Object.entries(v.failures)
    if (failureEntries.length > 0) say(`client-visible failures: ${failureEntries.map(([k, n]) => `${n} × ${failureLabel(k)}`).join(', ')}`, '    ')
    if (v.errorTexts.length > 0 && (v.mode === 'target' || v.verdict === 'fail')) {
      lines.push('    what the client was told:')
      for (const t of v.errorTexts.slice(0, 5)) say(`${t.count} × ${t.text}`, '      ', '        ')
    }
    const causeEntries = Object.entries(v.causes)
    if (causeEntries.length > 0) say(`what the proxy met upstream for them: ${causeEntries.map(([k, n]) => `${n} × ${failureLabel(k)}`).join(', ')}`, '    ')
    if (v.firstEventMs) say(`first SSE event: p50 ${v.firstEventMs.p50.toFixed(1)} ms, p99 ${v.firstEventMs.p99.toFixed(1)} ms; response head: p50 ${v.ttfbMs.p50.toFixed(1)} ms`, '    ')
    if (v.attempts.staleSocket > 0) say(`proxy→upstream attempts on a stale socket: ${v.attempts.staleSocket}, retried on a fresh ${keep(`connection: ${v.attempts.retried}`)}`, '    ')
    if (v.upstream.redelivered > 0 || v.upstream.duplicates > 0 || v.upstream.lost > 0) {
      say(`deliveries: ${keep(`${v.upstream.redelivered} redelivered after a drop`)}, ${keep(`${v.upstream.duplicates} answered twice`)}, ${keep(`${v.upstream.lost} lost`)}`, '    ')
    }
    for (const e of v.expectations) {
      if (e.status === 'n/a') {
        say(c.dim(`– ${e.name} (not evaluable here: ${e.reason ?? 'no value in this run'})`), '    ', '      ')
        continue
      }
      const mark = e.pass ? c.green('✓') : c.red('✗')
      const result = e.actual === null && e.reason ? `(${e.reason})` : keep(`(expected ${e.expected}, got ${e.actual})`)
      say(`${mark} ${e.name}${e.implicit ? c.dim(' [contract]') : ''} ${c.dim(result)}`, '    ', '      ')
    }
    if (v.verdict === 'fail' && v.target && v.target.logTail.trim() !== '') {
      say(c.dim(`the target's own output (it ${v.target.ended === 'did-not-start' ? 'did not start' : `was ${v.target.ended === 'exited' ? 'already gone at the end' : v.target.ended} when stopped`}), last lines:`), '    ', '      ')
      for (const l of v.target.logTail.trim().split('\n').slice(-6)) say(c.dim(l.slice(0, 200)), '      | ', '      |   ')
    }
    if (options.diagnose !== false && v.verdict === 'fail') {
      for (const d of v.diagnosis) say(c.dim(d.explanation), '      ', '        ')
    }
  }
  for (const k of s.keptHomes ?? []) say(`${c.yellow('!')} ${k.variant}: the target's home is kept at ${k.home} (cache.json, target.log)`, '  ', '    ')
  bundledOnly()
  return lines.join('\n')
}

/** How often each expectation held over the repetitions: one line when all always held, else one per expectation. */
function heldLines(s: RunReport['stability'][number], c: ChalkInstance): string[] {
  const n = s.expectations.length
  if (n === 0) return ['no expectations']
  if (s.expectations.every((e) => e.held === s.runs)) return [`all ${n} expectation${n === 1 ? '' : 's'} held in ${s.runs}/${s.runs} runs`]
  return s.expectations.map((e) => {
    if (e.notEvaluable === s.runs) return c.dim(`not evaluable in any run: ${e.name}`)
    const text = `held ${e.held}/${s.runs} runs${e.notEvaluable ? ` (not evaluable in ${e.notEvaluable})` : ''}: ${e.name}`
    return e.held === s.runs ? text : e.held === 0 ? c.red(text) : c.yellow(text)
  })
}

export function formatRunSummary(report: RunReport, options: TerminalOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 })
  const width = Math.max(minWidth, options.width ?? defaultWidth)
  const lines: string[] = []
  const say = (text: string, first: string, rest = `${first}  `): void => { lines.push(...wrap(text, width, first, rest)) }
  if (report.repeat > 1) {
    lines.push(c.bold(`Stability over ${report.repeat} runs`))
    for (const s of report.stability) {
      // Stable = the same verdict every run, and every expectation held always or never.
      const flaky = s.expectations.filter((e) => e.held !== s.runs && e.held !== 0 && e.notEvaluable === undefined)
      const mark = flaky.length === 0 && s.verdicts.length === 1 ? c.green('✓') : c.red('✗')
      const verdicts = s.verdicts.length === 1 ? `${s.verdicts[0]} ${keep('in every run')}` : c.yellow(`verdicts varied: ${s.verdicts.join(', ')}`)
      const counts = s.failureCounts.length === 1 ? `${s.failureCounts[0]} client failure${s.failureCounts[0] === 1 ? '' : 's'} ${keep('in every run')}` : c.yellow(`client failures varied: ${s.failureCounts.join(', ')}`)
      say(`${mark} ${s.scenario}/${s.variant}: ${verdicts}; ${counts}`, '  ', '      ')
      for (const l of heldLines(s, c)) say(l, '      ', '        ')
    }
  }
  const env = report.environment
  const verdict = report.verdict === 'pass' ? c.green.bold('PASS') : c.red.bold('FAIL')
  const v = report.verification
  const ran = report.target
    ? `verified ${v.ran}/${v.total} against the target · ${v.bundledOnly} bundled-only${report.target.strict && v.bundledOnly > 0 ? ` ${c.red(keep('(--strict: fails the run)'))}` : ''}`
    : `${v.ran} variant(s)`
  const na = v.notEvaluable > 0 ? ` · ${v.notEvaluable} expectation(s) not evaluable` : ''
  say(`${verdict} ${report.scenarios.length} scenario run(s), ${ran}${na} in ${(report.durationMs / 1000).toFixed(1)} s ${c.dim(`· node ${env.node} · undici ${env.undici}`)}`, '', '     ')
  return lines.join('\n')
}
