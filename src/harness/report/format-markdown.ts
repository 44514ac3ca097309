/** A Markdown summary for a pull-request comment or $GITHUB_STEP_SUMMARY. */
import type { RunReport } from './types.ts'
import { failureLabel } from './format-terminal.ts'

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

export function formatMarkdown(report: RunReport): string {
  const out: string[] = []
  const mark = (verdict: string): string => (verdict === 'pass' ? '✅' : verdict === 'fail' ? '❌' : '➖')
  const env = report.environment
  out.push(`## qcc-lab: ${report.verdict === 'pass' ? '✅ pass' : '❌ fail'}`, '')
  const ver = report.verification
  const what = report.target
    ? `target \`${cell(report.target.command)}\` (profile ${report.target.profile}, layout ${report.target.layout}) · verified ${ver.ran}/${ver.total} · ${ver.bundledOnly} bundled-only`
    : `${ver.ran} variant(s)`
  if (report.target?.strict && ver.bundledOnly > 0) out.push(`❌ --strict: ${ver.bundledOnly} bundled-only variant(s) could not be verified against the target, which fails the run.`, '')
  out.push(`${report.scenarios.length} scenario run(s), ${what}${ver.notEvaluable > 0 ? ` · ${ver.notEvaluable} expectation(s) not evaluable` : ''} in ${(report.durationMs / 1000).toFixed(1)} s · node ${env.node} · undici ${env.undici} · ${env.cpus} CPUs`, '')
  out.push('| | scenario | variant | requests | client failures | stale-socket attempts | retries | upstream recv | upstream conns | p50 ms | p99 ms |')
  out.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const s of report.scenarios) {
    const name = s.repeat > 0 ? `${s.name} (${s.repeat + 1})` : s.name
    for (const v of s.variants) {
      const failures = Object.values(v.failures).reduce((a, b) => a + b, 0)
      const bundled = v.mode === 'bundled'
      out.push(`| ${mark(v.verdict)} | ${cell(name)} | ${cell(v.name)} | ${v.requests} | ${failures} | ${bundled ? v.attempts.staleSocket : 'n/a'} | ${bundled ? v.attempts.retried : 'n/a'} | ${v.upstream.received} | ${v.upstream.connections} | ${v.latencyMs.p50.toFixed(1)} | ${v.latencyMs.p99.toFixed(1)} |`)
    }
    for (const n of s.bundledOnly) out.push(`| ➖ | ${cell(name)} | ${cell(n.variant)} | | | | | | | | |`)
  }
  const failed = report.scenarios.flatMap((s) => s.variants.flatMap((v) => v.expectations.filter((e) => e.status === 'fail').map((e) => ({ s, v, e }))))
  if (failed.length > 0) {
    out.push('', '### Failed expectations', '')
    for (const { s, v, e } of failed) {
      out.push(`- **${cell(s.name)} / ${cell(v.name)}**: ${cell(e.name)} — expected \`${e.check}\`, got ${e.actual}`)
      const classes = Object.entries(v.failures).map(([k, n]) => `${n} × ${failureLabel(k)}`).join(', ')
      if (classes) out.push(`  - client-visible failures: ${cell(classes)}`)
      for (const d of v.diagnosis.slice(0, 2)) out.push(`  - ${cell(d.explanation)}`)
    }
  }
  const kept = report.scenarios.flatMap((s) => (s.keptHomes ?? []).map((k) => `- ${cell(s.name)} / ${cell(k.variant)}: \`${cell(k.home)}\``))
  if (kept.length > 0) out.push('', '### Target homes kept (config and the target\'s own log)', '', ...kept)
  const na = report.scenarios.flatMap((s) => s.bundledOnly.map((n) => `- ${cell(s.name)} / ${cell(n.variant)}: ${cell(n.reason)}`))
  if (na.length > 0) out.push('', '### Bundled-only (not run against the target)', '', ...[...new Set(na)])
  if (report.repeat > 1) {
    out.push('', `### Stability over ${report.repeat} runs`, '', '| scenario | variant | verdicts | expectations held | client failures seen |', '|---|---|---|---|---|')
    for (const st of report.stability) {
      out.push(`| ${cell(st.scenario)} | ${cell(st.variant)} | ${st.verdicts.join(', ')} | ${st.expectations.map((e) => (e.notEvaluable === st.runs ? 'n/a' : `${e.held}/${st.runs}`)).join(' ')} | ${st.failureCounts.join(', ')} |`)
    }
  }
  return `${out.join('\n')}\n`
}
