/** The doctor's report for a terminal: what was read, the thresholds, the verdict, each finding, the timeline. */
import { Chalk, type ChalkInstance } from 'chalk'
import { formatBytes } from '../../shared/input-file.ts'
import type { Finding } from './findings.ts'
import type { DoctorReport, LogSource } from './report.ts'
import type { StatsSnapshot } from './stats.ts'
import type { ThresholdResult } from './thresholds.ts'
import { formatBucket, timelineColumns, type Timeline, type TimelineColumn } from './timeline.ts'

export interface DoctorFormatOptions {
  readonly color: boolean
}

/** `126 ms`, `3.0 s`, `5.2 min`, `3.1 h`, `2.0 d`. */
export function formatSpan(ms: number): string {
  if (ms < 1_000) return `${ms} ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`
  return `${(ms / 86_400_000).toFixed(1)} d`
}

function wrap(text: string, indent: string, width = 100): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  if (line !== '') lines.push(indent + line)
  return lines
}

const visible = (s: string): number => s.replace(/\u001b\[[0-9;]*m/g, '').length
const padEnd = (s: string, w: number): string => s + ' '.repeat(Math.max(0, w - visible(s)))
const padStart = (s: string, w: number): string => ' '.repeat(Math.max(0, w - visible(s))) + s

const mark = (verdict: 'pass' | 'fail' | 'n/a', c: ChalkInstance): string => (verdict === 'pass' ? c.green('✓') : verdict === 'fail' ? c.red('✗') : c.dim('–'))

function answers(byStatus: Readonly<Record<string, number>>): string {
  return Object.entries(byStatus).sort(([, a], [, b]) => b - a).map(([s, n]) => `${n} × ${s}`).join(', ')
}

function logHeader(log: LogSource): string[] {
  const s = log.summary
  const writers = (['qcc', 'qcc-lab'] as const).filter((d) => s.dialects[d] > 0).map((d) => (d === 'qcc' ? 'qcc' : 'qcc-lab\'s proxy')).join(' and ')
  const span = s.first && s.last ? `${s.first.time.slice(0, 19)} → ${s.last.time.slice(0, 19)} (${formatSpan(s.spanMs)})` : 'no timestamps'
  const out = [
    `Log    ${log.file}${log.gzip ? ' (gzip)' : ''} · ${formatBytes(log.bytes)}, ${s.lines} lines, written by ${writers}`,
    `       ${span} · ${s.starts} proxy start${s.starts === 1 ? '' : 's'} · ${s.requests} requests${s.clientAnswers.total > 0 ? ` · client answers: ${answers(s.clientAnswers.byStatus)}` : ''}`,
  ]
  if (log.truncatedLines > 0) out.push(`       ${log.truncatedLines} line(s) longer than 64 KiB: only their start was read`)
  return out
}

function statsHeader(st: StatsSnapshot, thresholds: readonly ThresholdResult[], c: ChalkInstance): string[] {
  const endpoints = st.totalEndpoints === null ? '' : ` · ${st.totalEndpoints} endpoint${st.totalEndpoints === 1 ? '' : 's'}, ${st.healthyEndpoints ?? '?'} healthy${st.failureQueueSize ? `, ${st.failureQueueSize} in the failure queue` : ''}`
  const out = [`Stats  ${st.url} (${st.source === 'qcc-lab' ? 'qcc-lab\'s proxy' : 'qcc'}) · ${st.totalRequests} requests: ${st.successfulRequests} ok, ${st.failedRequests} failed${endpoints}`]
  const w = Math.max(...thresholds.map((t) => t.check.length))
  for (const t of thresholds) {
    const value = t.value === null ? 'n/a' : `${t.value}${t.unit === '%' ? ' %' : t.unit === 'ms' ? ' ms' : ''}`
    out.push(`  ${mark(t.verdict, c)} ${padEnd(t.check, w)}  ${padEnd(t.verdict === 'fail' ? c.red(value) : value, 10)}  ${c.dim(t.note)}`)
  }
  return out
}

function verdictLine(r: DoctorReport, c: ChalkInstance): string {
  const failures = r.findings.filter((f) => f.severity === 'failure').length
  const warnings = r.findings.length - failures
  const counts = [
    failures > 0 ? `${failures} finding${failures === 1 ? ' means' : 's mean'} the failure is happening` : '',
    warnings > 0 ? `${warnings} warning${warnings === 1 ? '' : 's'}` : '',
  ].filter(Boolean).join(', ')
  if (r.verdict === 'failing') return `${c.red.bold('FAILING')} · ${counts}`
  if (r.verdict === 'warnings') return `${c.yellow.bold('HEALTHY, WITH WARNINGS')} · ${counts}`
  return `${c.green.bold('HEALTHY')} · nothing the seed's test plan looks for${r.log ? ' in the log' : ''}${r.stats ? `${r.log ? ' or' : ''} in the stats` : ''}`
}

function finding(f: Finding, c: ChalkInstance): string[] {
  const head = f.severity === 'failure' ? c.red('✗') : c.yellow('!')
  const out = [`${head} ${c.bold(f.id)} — ${f.title}`, ...wrap(f.summary, '  ')]
  out.push('  evidence')
  for (const e of f.evidence) out.push(`    · ${e}`)
  out.push('  replay')
  if (f.replay.length === 0) out.push(`    ${c.dim('no bundled scenario')}`)
  for (const r of f.replay) out.push(`    $ ${r}`)
  out.push('  fix')
  for (const x of f.fix) {
    const [firstLine, ...rest] = wrap(x, '      ')
    out.push(`    · ${firstLine!.trimStart()}`, ...rest)
  }
  return out
}

const columnLabels: Readonly<Record<TimelineColumn, string>> = {
  requests: 'requests',
  stale: 'stale',
  noEndpoint: 'all-0',
  fallback: 'fallback',
  queueAdded: 'queued',
  recovered: 'recovered',
  clientErrors: 'client 5xx',
}

function timeline(t: Timeline): string[] {
  if (t.buckets.length === 0) return []
  const columns = timelineColumns.filter((col) => t.buckets.some((b) => b.counts[col] > 0))
  const rows = [['time', ...columns.map((col) => columnLabels[col])], ...t.buckets.map((b) => [b.start, ...columns.map((col) => String(b.counts[col]))])]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return [
    `Timeline (${formatBucket(t.bucketMs)} buckets; times as the log writes them)`,
    ...rows.map((r) => `  ${r.map((cell, i) => (i === 0 ? padEnd(cell, widths[i]!) : padStart(cell, widths[i]!))).join('  ')}`),
  ]
}

export function formatDoctorReport(r: DoctorReport, options: DoctorFormatOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 })
  const out: string[] = []
  if (r.log) out.push(...logHeader(r.log))
  if (r.stats) out.push(...statsHeader(r.stats, r.thresholds, c))
  out.push('', verdictLine(r, c))
  for (const f of r.findings) out.push('', ...finding(f, c))
  const t = r.log ? timeline(r.log.summary.timeline) : []
  if (t.length > 0) out.push('', ...t)
  return `${out.join('\n')}\n`
}
