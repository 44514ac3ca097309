/** `qcc-lab list`: what can be run and combined. */
import type { Command } from 'commander'
import { faults } from '../../../fake-upstreams/faults/index.ts'
import { connectorProfiles } from '../../proxy/connector/profiles.ts'
import { listBundledScenarios, loadScenario } from '../../harness/scenario/load.ts'

/** The first sentence, for a one-line listing. */
function firstSentence(text: string): string {
  const m = /^.*?[.!?](?=\s|$)/s.exec(text)
  return (m ? m[0] : text).replace(/\s+/g, ' ')
}

export async function listCommand(flags: { json?: boolean }): Promise<number> {
  const scenarios = []
  for (const name of await listBundledScenarios()) {
    const s = await loadScenario(name)
    scenarios.push({ name: s.name, description: firstSentence(s.description), variants: s.variants.map((v) => v.name) })
  }
  const data = {
    scenarios,
    faults: Object.values(faults).map((f) => ({ kind: f.kind, summary: f.summary, params: Object.keys(f.params.shape) })),
    connectorProfiles: Object.entries(connectorProfiles).map(([name, p]) => ({ name, summary: p.summary, settings: p.settings })),
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`)
    return 0
  }
  const lines = ['Scenarios:']
  for (const s of data.scenarios) lines.push(`  ${s.name.padEnd(24)} ${s.description}`, `  ${''.padEnd(24)} variants: ${s.variants.join(', ')}`)
  lines.push('', 'Faults:')
  for (const f of data.faults) lines.push(`  ${f.kind.padEnd(24)} ${f.summary}`, `  ${''.padEnd(24)} params: ${f.params.join(', ')}, probability`)
  lines.push('', 'Connector profiles:')
  for (const p of data.connectorProfiles) lines.push(`  ${p.name.padEnd(24)} ${p.summary}`)
  process.stdout.write(`${lines.join('\n')}\n`)
  return 0
}

export function registerList(program: Command): void {
  program
    .command('list')
    .description('List bundled scenarios, fault kinds and connector profiles.')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }) => {
      process.exitCode = await listCommand(flags)
    })
}
