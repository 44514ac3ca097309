/** A Markdown summary for a pull-request comment or $GITHUB_STEP_SUMMARY. */
import type { RunReport } from './types.ts'
import { failureLabel } from './format-terminal.ts'

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

export function formatMarkdown(report: RunReport): string {
  const out: string[] = []
  const mark = (ok: boolean): string => (ok ? '✅' : '❌')
  const env = report.environment
  out.push(`## qcc-lab: ${report.verdict === 'pass' ? '✅ pass' : '❌ fail'}`, '')
  out.push(`${report.scenarios.length} scenario run(s) in ${(report.durationMs / 1000).toFixed(1)} s · node ${env.node} · undici ${env.undici} · ${env.cpus} CPUs`, '')
  out.push('| | scenario | variant | requests | client failures | stale-socket attempts | retries | upstream conns | p50 ms | p99 ms |')
  out.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const s of report.scenarios) {
    const name = s.repeat > 0 ? `${s.name} (${s.repeat + 1})` : s.name
    for (const v of s.variants) {
      const failures = Object.values(v.failures).reduce((a, b) => a + b, 0)
      out.push(`| ${mark(v.verdict === 'pass')} | ${cell(name)} | ${cell(v.name)} | ${v.requests} | ${failures} | ${v.attempts.staleSocket} | ${v.attempts.retried} | ${v.upstream.connections} | ${v.latencyMs.p50.toFixed(1)} | ${v.latencyMs.p99.toFixed(1)} |`)
    }
    for (const n of s.notApplicable) out.push(`| ➖ | ${cell(name)} | ${cell(n.variant)} | | | | | | | |`)
  }
  const failed = report.scenarios.flatMap((s) => s.variants.flatMap((v) => v.expectations.filter((e) => !e.pass).map((e) => ({ s, v, e }))))
  if (failed.length > 0) {
    out.push('', '### Failed expectations', '')
    for (const { s, v, e } of failed) {
      out.push(`- **${cell(s.name)} / ${cell(v.name)}**: ${cell(e.name)} — expected \`${e.check}\`, got ${e.actual}`)
      const classes = Object.entries(v.failures).map(([k, n]) => `${n} × ${failureLabel(k)}`).join(', ')
      if (classes) out.push(`  - client-visible failures: ${cell(classes)}`)
      for (const d of v.diagnosis.slice(0, 2)) out.push(`  - ${cell(d.explanation)}`)
    }
  }
  const na = report.scenarios.flatMap((s) => s.notApplicable.map((n) => `- ${cell(s.name)} / ${cell(n.variant)}: ${cell(n.reason)}`))
  if (na.length > 0) out.push('', '### Not applicable in target mode', '', ...[...new Set(na)])
  if (report.repeat > 1) {
    out.push('', `### Stability over ${report.repeat} runs`, '', '| scenario | variant | expectations held | client failures seen |', '|---|---|---|---|')
    for (const st of report.stability) {
      out.push(`| ${cell(st.scenario)} | ${cell(st.variant)} | ${st.expectations.map((e) => `${e.held}/${st.runs}`).join(' ')} | ${st.failureCounts.join(', ')} |`)
    }
  }
  return `${out.join('\n')}\n`
}
