/** `qcc-lab explain <scenario>`: what a scenario replays, why it happened, and what each variant shows. */
import type { Command } from 'commander'
import { formatDuration, isConstantDuration, type ConstantDuration } from '../../harness/scenario/constants.ts'
import { loadScenario } from '../../harness/scenario/load.ts'
import type { Scenario } from '../../harness/scenario/schema.ts'
import { compatSwitches, resolveCompat } from '../../proxy/compat.ts'

function wrap(text: string, indent: string, width = 100): string {
  const words = text.split(/\s+/)
  const lines: string[] = []
  let line = ''
  for (const w of words) {
    if ((line + ' ' + w).trim().length > width - indent.length) {
      lines.push(indent + line.trim())
      line = ''
    }
    line += ` ${w}`
  }
  if (line.trim()) lines.push(indent + line.trim())
  return lines.join('\n')
}

export function explainScenario(s: Scenario): string {
  const out: string[] = [`${s.name} (${s.file})`, '', wrap(s.description, '  ')]
  if (s.rootCause) out.push('', 'Root cause:', wrap(s.rootCause, '  '))
  out.push('', 'Upstreams:')
  for (const u of s.upstreams) {
    const faults = u.faults.map((f) => {
      const { kind, ...params } = f as Record<string, unknown>
      return `${String(kind)} ${JSON.stringify(params, (_k, value: unknown) => (isConstantDuration(value) ? formatDuration(value as ConstantDuration) : value))}`
    })
    out.push(`  ${u.name}${u.priority !== undefined ? ` (priority ${u.priority})` : ''}: ${faults.length > 0 ? faults.join('; ') : 'no faults'}`)
  }
  const w = s.workload
  out.push('', `Workload: ${w.requests} requests, concurrency ${w.concurrency}${w.stream ? ', streamed (SSE)' : ''}${w.burst < w.requests ? `, bursts of ${w.burst} with ${formatDuration(w.gap)} between` : ''}`)
  out.push('', 'Variants:')
  for (const v of s.variants) {
    const how = v.contract
      ? 'contract (runs against targets too)'
      : `connector ${v.connector.profile}${v.connector.overrides && Object.keys(v.connector.overrides).length > 0 ? ` ${JSON.stringify(v.connector.overrides)}` : ''}`
    out.push(`  ${v.name} — ${how}${v.description ? `: ${v.description}` : ''}`)
    const { switches } = resolveCompat(v.proxy.compat ?? [])
    for (const sw of switches) out.push(wrap(`compat ${sw}: ${compatSwitches[sw].replays}`, '      '))
    for (const e of v.expect) out.push(`      expects ${e.name}${e.name !== e.check ? ` (${e.check})` : ''}`)
  }
  out.push('', `Run it: qcc-lab run ${s.name}`)
  return out.join('\n')
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('Explain what a scenario replays, its root cause, and what each variant shows.')
    .argument('<scenario>', 'bundled scenario name or path')
    .action(async (name: string) => {
      process.stdout.write(`${explainScenario(await loadScenario(name))}\n`)
      process.exitCode = 0
    })
}
