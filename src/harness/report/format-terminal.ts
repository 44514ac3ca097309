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
  'no-endpoint': 'no endpoint tried (502 "All 0 endpoints failed")',
  'error-body': 'a 2xx answer whose body is an error',
  'sse-error': 'an SSE error event',
  skipped: 'not sent (time budget ran out)',
}

export function failureLabel(cls: string): string {
  return (outcomeLabels as Record<string, string>)[cls as AttemptOutcome] ?? extraLabels[cls] ?? cls
}

function variantRow(v: VariantReport, c: ChalkInstance): string[] {
  const failures = Object.values(v.failures).reduce((a, b) => a + b, 0)
  return [
    v.verdict === 'pass' ? c.green('✓') : c.red('✗'),
    v.name,
    String(v.requests),
    String(v.attempts.total),
    v.attempts.staleSocket > 0 ? c.yellow(String(v.attempts.staleSocket)) : '0',
    failures > 0 ? c.red(String(failures)) : c.green('0'),
    String(v.upstream.connections),
    v.upstream.requestsPerConnection.toFixed(2),
    String(v.attempts.retried),
    v.latencyMs.p50.toFixed(1),
    v.latencyMs.p99.toFixed(1),
  ]
}

export function formatScenario(s: ScenarioReport, options: TerminalOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 })
  const lines: string[] = []
  const verdict = s.verdict === 'pass' ? c.green.bold('PASS') : s.verdict === 'n/a' ? c.dim('N/A ') : c.red.bold('FAIL')
  lines.push(`${verdict} ${c.bold(s.name)}${s.repeat > 0 ? c.dim(` (repeat ${s.repeat + 1})`) : ''} ${c.dim(`seed ${s.seed} · ${s.file}${s.mode === 'target' ? ' · target mode' : ''}`)}`)
  if (s.variants.length === 0) {
    for (const n of s.notApplicable) lines.push(c.dim(`  – ${n.variant}: not applicable in target mode (${n.reason})`))
    return lines.join('\n')
  }
  const header = ['', 'variant', 'requests', 'attempts', 'stale-socket', 'client failures', 'upstream conns', 'req/conn', 'retries', 'p50 ms', 'p99 ms']
  lines.push(table([header.map((h) => c.dim(h)), ...s.variants.map((v) => variantRow(v, c))], new Set([2, 3, 4, 5, 6, 7, 8, 9, 10])))
  for (const v of s.variants) {
    lines.push('')
    lines.push(`  ${c.bold(v.name)} ${c.dim(`(connector ${v.connector}${v.description ? ` — ${v.description}` : ''})`)}`)
    const failureEntries = Object.entries(v.failures)
    if (failureEntries.length > 0) {
      lines.push(`    client-visible failures: ${failureEntries.map(([k, n]) => `${n} × ${failureLabel(k)}`).join(', ')}`)
    }
    if (v.attempts.staleSocket > 0) {
      lines.push(`    proxy→upstream attempts on a stale socket: ${v.attempts.staleSocket}, retried on a fresh connection: ${v.attempts.retried}`)
    }
    if (v.upstream.redelivered > 0 || v.upstream.duplicates > 0 || v.upstream.lost > 0) {
      lines.push(`    deliveries: ${v.upstream.redelivered} redelivered after a drop, ${v.upstream.duplicates} answered twice, ${v.upstream.lost} lost`)
    }
    for (const e of v.expectations) {
      const mark = e.pass ? c.green('✓') : c.red('✗')
      lines.push(`    ${mark} ${e.name} ${c.dim(`(expected ${e.expected}, got ${e.actual})`)}`)
    }
    if (options.diagnose !== false && v.verdict === 'fail') {
      for (const d of v.diagnosis) lines.push(c.dim(`      ${d.explanation}`))
    }
  }
  for (const n of s.notApplicable) lines.push(c.dim(`  – ${n.variant}: not applicable in target mode (${n.reason})`))
  return lines.join('\n')
}

export function formatRunSummary(report: RunReport, options: TerminalOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 })
  const lines: string[] = []
  if (report.repeat > 1) {
    lines.push(c.bold(`Stability over ${report.repeat} runs`))
    for (const s of report.stability) {
      const flaky = s.expectations.filter((e) => e.held !== s.runs)
      const mark = flaky.length === 0 ? c.green('✓') : c.red('✗')
      const counts = s.failureCounts.length === 1 ? `failures ${s.failureCounts[0]} every run` : c.yellow(`failures varied: ${s.failureCounts.join(', ')}`)
      lines.push(`  ${mark} ${s.scenario}/${s.variant}: ${s.expectations.map((e) => `${e.held}/${s.runs}`).join(' ')} expectations held; ${counts}`)
    }
  }
  const env = report.environment
  const verdict = report.verdict === 'pass' ? c.green.bold('PASS') : c.red.bold('FAIL')
  lines.push(`${verdict} ${report.scenarios.length} scenario run(s) in ${(report.durationMs / 1000).toFixed(1)} s ${c.dim(`· node ${env.node} · undici ${env.undici}`)}`)
  return lines.join('\n')
}
