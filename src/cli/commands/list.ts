/** `qcc-lab list`: what can be run and combined. */
import type { Command } from 'commander'
import { faults } from '../../../fake-upstreams/faults/index.ts'
import { connectorProfiles } from '../../proxy/connector/profiles.ts'
import { compatPresets, compatSwitches } from '../../proxy/compat.ts'
import { strategies } from '../../proxy/balancer/index.ts'
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
    strategies: Object.entries(strategies).map(([name, s]) => ({ name, summary: s.summary })),
    compatSwitches: Object.entries(compatSwitches).map(([name, s]) => ({ name, replays: s.replays, since: s.since })),
    compatPresets: Object.entries(compatPresets).map(([name, switches]) => ({ name, switches })),
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
  lines.push('', 'Balancer strategies:')
  for (const s of data.strategies) lines.push(`  ${s.name.padEnd(24)} ${s.summary}`)
  lines.push('', 'Compat switches (off by default; replay a historical qcc behaviour):')
  for (const c of data.compatSwitches) lines.push(`  ${c.name.padEnd(28)} ${firstSentence(c.replays)}`)
  lines.push('', 'Compat presets:')
  for (const p of data.compatPresets) lines.push(`  ${p.name.padEnd(28)} ${p.switches.join(', ')}`)
  process.stdout.write(`${lines.join('\n')}\n`)
  return 0
}

export function registerList(program: Command): void {
  program
    .command('list')
    .description('List bundled scenarios, fault kinds, connector profiles, balancer strategies and compat switches.')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }) => {
      process.exitCode = await listCommand(flags)
    })
}
