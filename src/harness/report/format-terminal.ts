/** The human report: one table per scenario run, a verdict line per expectation, explained failures. */
import { Chalk, type ChalkInstance } from 'chalk'
import { outcomeLabels, type AttemptOutcome } from '../../proxy/outcome.ts'
import type { RunReport, ScenarioReport, VariantReport } from './types.ts'

export interface TerminalOptions {
  readonly color: boolean
  /** Show per-request diagnoses of failures. Default true. */
  readonly diagnose?: boolean
}

function pad(text: string, width: number, right = false): string {
  const visible = text.replace(/\u001b\[[0-9;]*m/g, '')
  const fill = ' '.repeat(Math.max(0, width - visible.length))
  return right ? fill + text : text + fill
}

function table(rows: string[][], rightAligned: ReadonlySet<number>): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.replace(/\u001b\[[0-9;]*m/g, '').length)))
  return rows.map((r) => r.map((cell, i) => pad(cell, widths[i]!, rightAligned.has(i))).join('  ').trimEnd()).join('\n')
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

function variantRow(v: VariantReport, c: ChalkInstance): string[] {
  const failures = Object.values(v.failures).reduce((a, b) => a + b, 0)
  // What only the bundled proxy publishes (its attempt events) is unknown for an external target.
  const bundled = v.mode === 'bundled'
  return [
    verdictMark(v.verdict, c),
    v.name,
    String(v.requests),
    bundled ? String(v.attempts.total) : c.dim('n/a'),
    !bundled ? c.dim('n/a') : v.attempts.staleSocket > 0 ? c.yellow(String(v.attempts.staleSocket)) : '0',
    failures > 0 ? c.red(String(failures)) : c.green('0'),
    String(v.upstream.received),
    String(v.upstream.connections),
    v.upstream.requestsPerConnection.toFixed(2),
    bundled ? String(v.attempts.retried) : c.dim('n/a'),
    v.latencyMs.p50.toFixed(1),
    v.latencyMs.p99.toFixed(1),
  ]
}

export function formatScenario(s: ScenarioReport, options: TerminalOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 })
  const lines: string[] = []
  const verdict = s.verdict === 'pass' ? c.green.bold('PASS') : s.verdict === 'n/a' ? c.dim('N/A ') : c.red.bold('FAIL')
  lines.push(`${verdict} ${c.bold(s.name)}${s.repeat > 0 ? c.dim(` (repeat ${s.repeat + 1})`) : ''} ${c.dim(`seed ${s.seed} · ${s.file}${s.mode === 'target' ? ' · target mode' : ''}`)}`)
  const bundledOnly = (): void => {
    for (const n of s.bundledOnly) lines.push(c.dim(`  – ${n.variant}: bundled-only, not run against the target (${n.reason})`))
  }
  if (s.variants.length === 0) {
    bundledOnly()
    return lines.join('\n')
  }
  const header = ['', 'variant', 'requests', 'attempts', 'stale-socket', 'client failures', 'upstream recv', 'upstream conns', 'req/conn', 'retries', 'p50 ms', 'p99 ms']
  lines.push(table([header.map((h) => c.dim(h)), ...s.variants.map((v) => variantRow(v, c))], new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11])))
  for (const v of s.variants) {
    lines.push('')
    const what = [v.contract ? 'contract' : `connector ${v.connector}`, v.description].filter(Boolean).join(' — ')
    lines.push(`  ${c.bold(v.name)} ${c.dim(`(${what})`)}`)
    if (v.timeline.gapMs >= 1_000) lines.push(c.dim(`    timeline: ${v.timeline.gapMs} ms pauses (recoverMs ${v.constants.recoverMs}, verifier ${v.constants.verifierIntervalMs} ms, headers timeout ${v.constants.headersTimeoutMs} ms)`))
    const failureEntries = Object.entries(v.failures)
    if (failureEntries.length > 0) {
      lines.push(`    client-visible failures: ${failureEntries.map(([k, n]) => `${n} × ${failureLabel(k)}`).join(', ')}`)
    }
    if (v.errorTexts.length > 0 && (v.mode === 'target' || v.verdict === 'fail')) {
      lines.push('    what the client was told:')
      for (const t of v.errorTexts.slice(0, 5)) lines.push(`      ${t.count} × ${t.text}`)
    }
    const causeEntries = Object.entries(v.causes)
    if (causeEntries.length > 0) lines.push(`    what the proxy met upstream for them: ${causeEntries.map(([k, n]) => `${n} × ${failureLabel(k)}`).join(', ')}`)
    if (v.firstEventMs) lines.push(`    first SSE event: p50 ${v.firstEventMs.p50.toFixed(1)} ms, p99 ${v.firstEventMs.p99.toFixed(1)} ms; response head: p50 ${v.ttfbMs.p50.toFixed(1)} ms`)
    if (v.attempts.staleSocket > 0) {
      lines.push(`    proxy→upstream attempts on a stale socket: ${v.attempts.staleSocket}, retried on a fresh connection: ${v.attempts.retried}`)
    }
    if (v.upstream.redelivered > 0 || v.upstream.duplicates > 0 || v.upstream.lost > 0) {
      lines.push(`    deliveries: ${v.upstream.redelivered} redelivered after a drop, ${v.upstream.duplicates} answered twice, ${v.upstream.lost} lost`)
    }
    for (const e of v.expectations) {
      if (e.status === 'n/a') {
        lines.push(c.dim(`    – ${e.name} (not evaluable here: ${e.reason ?? 'no value in this run'})`))
        continue
      }
      const mark = e.pass ? c.green('✓') : c.red('✗')
      lines.push(`    ${mark} ${e.name}${e.implicit ? c.dim(' [contract]') : ''} ${c.dim(e.actual === null && e.reason ? `(${e.reason})` : `(expected ${e.expected}, got ${e.actual})`)}`)
    }
    if (v.verdict === 'fail' && v.target && v.target.logTail.trim() !== '') {
      lines.push(c.dim(`    the target's own output (it ${v.target.ended === 'did-not-start' ? 'did not start' : `was ${v.target.ended === 'exited' ? 'already gone at the end' : v.target.ended} when stopped`}), last lines:`))
      for (const l of v.target.logTail.trim().split('\n').slice(-6)) lines.push(c.dim(`      | ${l.slice(0, 200)}`))
    }
    if (options.diagnose !== false && v.verdict === 'fail') {
      for (const d of v.diagnosis) lines.push(c.dim(`      ${d.explanation}`))
    }
  }
  for (const k of s.keptHomes ?? []) lines.push(`  ${c.yellow('!')} ${k.variant}: the target's home is kept at ${k.home} (cache.json, target.log)`)
  bundledOnly()
  return lines.join('\n')
}


export function formatRunSummary(report: RunReport, options: TerminalOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 })
  const lines: string[] = []
  if (report.repeat > 1) {
    lines.push(c.bold(`Stability over ${report.repeat} runs`))
    for (const s of report.stability) {
      // Stable = the same verdict every run, and every expectation held always or never.
      const flaky = s.expectations.filter((e) => e.held !== s.runs && e.held !== 0 && e.notEvaluable === undefined)
      const mark = flaky.length === 0 && s.verdicts.length === 1 ? c.green('✓') : c.red('✗')
      const verdicts = s.verdicts.length === 1 ? `${s.verdicts[0]} every run` : c.yellow(`verdicts varied: ${s.verdicts.join(', ')}`)
      const counts = s.failureCounts.length === 1 ? `failures ${s.failureCounts[0]} every run` : c.yellow(`failures varied: ${s.failureCounts.join(', ')}`)
      lines.push(`  ${mark} ${s.scenario}/${s.variant}: ${verdicts}; expectations held ${s.expectations.map((e) => (e.notEvaluable === s.runs ? 'n/a' : `${e.held}/${s.runs}`)).join(' ')}; ${counts}`)
    }
  }
  const env = report.environment
  const verdict = report.verdict === 'pass' ? c.green.bold('PASS') : c.red.bold('FAIL')
  const v = report.verification
  const ran = report.target
    ? `verified ${v.ran}/${v.total} against the target · ${v.bundledOnly} bundled-only${report.target.strict && v.bundledOnly > 0 ? c.red(' (--strict: fails the run)') : ''}`
    : `${v.ran} variant(s)`
  const na = v.notEvaluable > 0 ? ` · ${v.notEvaluable} expectation(s) not evaluable` : ''
  lines.push(`${verdict} ${report.scenarios.length} scenario run(s), ${ran}${na} in ${(report.durationMs / 1000).toFixed(1)} s ${c.dim(`· node ${env.node} · undici ${env.undici}`)}`)
  return lines.join('\n')
}
