/** `qcc-lab run <scenario...>`: reproduce, report, gate. */
import { writeFile } from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import type { Command } from 'commander'
import { loadScenario } from '../../harness/scenario/load.ts'
import type { Scenario } from '../../harness/scenario/schema.ts'
import { runScenario, type RunEvent } from '../../harness/runner/run-scenario.ts'
import { summarizeVariant } from '../../harness/report/summarize.ts'
import { buildRunReport } from '../../harness/report/build-report.ts'
import { formatRunSummary, formatScenario } from '../../harness/report/format-terminal.ts'
import type { RunReport, ScenarioReport } from '../../harness/report/types.ts'
import { UsageError } from '../../shared/errors.ts'
import { environment, useColor } from '../environment.ts'
import { parseIntOption } from '../options.ts'

interface RunFlags {
  readonly profile?: string[]
  readonly repeat: number
  readonly seed?: number
  readonly json?: string
  readonly color?: boolean
  readonly progress?: boolean
}

/** Picks the variants `--profile` names: by variant name, else every variant using that connector profile. */
export function selectVariants(scenario: Scenario, names: readonly string[] | undefined): string[] {
  if (!names || names.length === 0) return scenario.variants.map((v) => v.name)
  const picked = new Set<string>()
  for (const n of names) {
    const byName = scenario.variants.filter((v) => v.name === n)
    const matches = byName.length > 0 ? byName : scenario.variants.filter((v) => v.connector.profile === n)
    if (matches.length === 0) {
      throw new UsageError(`Failed to select variant "${n}" in scenario ${scenario.name}: it has ${scenario.variants.map((v) => v.name).join(', ')}.`)
    }
    for (const v of matches) picked.add(v.name)
  }
  return scenario.variants.filter((v) => picked.has(v.name)).map((v) => v.name)
}

function progressPrinter(enabled: boolean): (e: RunEvent) => void {
  const err = process.stderr
  if (!enabled) return () => undefined
  if (err.isTTY) {
    return (e) => {
      if (e.type === 'progress') err.write(`\r\u001b[2K  ${e.scenario} › ${e.variant} ${e.done}/${e.total}`)
      else if (e.type === 'variant-end') err.write('\r\u001b[2K')
    }
  }
  return (e) => {
    if (e.type === 'variant-end') err.write(`  ran ${e.scenario} › ${e.variant} in ${(e.durationMs / 1000).toFixed(1)} s\n`)
  }
}

export async function runCommand(scenarioArgs: string[], flags: RunFlags): Promise<number> {
  const started = performance.now()
  const startedAt = new Date().toISOString()
  // Load and validate every scenario before running any: a typo in the third file fails in milliseconds.
  const scenarios: Scenario[] = []
  for (const arg of scenarioArgs) scenarios.push(await loadScenario(arg))
  const selections = scenarios.map((s) => selectVariants(s, flags.profile))

  const jsonToStdout = flags.json === '-'
  const out = jsonToStdout ? process.stderr : process.stdout
  const color = useColor(out, flags.color)
  const onEvent = progressPrinter(flags.progress !== false)
  const reports: ScenarioReport[] = []
  for (let r = 0; r < flags.repeat; r++) {
    for (const [i, scenario] of scenarios.entries()) {
      const records = await runScenario(scenario, { variants: selections[i], seed: flags.seed, repeat: r, onEvent })
      const variants = records.map((rec) => summarizeVariant(rec, scenario.variants.find((v) => v.name === rec.variant)!.expect))
      const report: ScenarioReport = {
        name: scenario.name,
        file: scenario.file,
        description: scenario.description,
        seed: flags.seed ?? scenario.seed,
        repeat: r,
        verdict: variants.every((v) => v.verdict === 'pass') ? 'pass' : 'fail',
        variants,
      }
      reports.push(report)
      if (flags.repeat === 1 || report.verdict === 'fail') out.write(`${formatScenario(report, { color })}\n\n`)
    }
  }
  const report: RunReport = buildRunReport({
    scenarios: reports,
    repeat: flags.repeat,
    startedAt,
    durationMs: performance.now() - started,
    environment: environment(),
  })
  out.write(`${formatRunSummary(report, { color })}\n`)
  if (flags.json !== undefined) {
    const text = `${JSON.stringify(report, null, 2)}\n`
    if (jsonToStdout) process.stdout.write(text)
    else await writeFile(flags.json, text)
  }
  return report.verdict === 'pass' ? 0 : 1
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run scenarios against the bundled proxy and fake upstreams; exit 0 if every expectation held, 1 if one failed, 2 on bad input.')
    .argument('<scenario...>', 'bundled scenario name (see `qcc-lab list`) or path to a scenario YAML file')
    .option('-p, --profile <name>', 'run only this variant (a variant name, or a connector profile); repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .option('-r, --repeat <n>', 'run everything n times and report how often each expectation held', parseIntOption('--repeat', 1, 1000), 1)
    .option('-s, --seed <n>', 'seed for fault probabilities and payloads (default: the scenario\'s)', parseIntOption('--seed', 0, 2 ** 32 - 1))
    .option('--json <file>', 'write the JSON report (qcc-lab/run-report@1) to a file, or - for stdout')
    .option('--no-color', 'no colour (also: NO_COLOR=1, or output is not a terminal)')
    .option('--no-progress', 'no progress lines on stderr')
    .addHelpText('after', `
Examples:
  qcc-lab run stale-keepalive                      reproduce the stale keep-alive failure, all variants
  qcc-lab run stale-keepalive -p naive-keepalive   one variant
  qcc-lab run stale-keepalive --repeat 20          is the verdict stable?
  qcc-lab run ./my-scenario.yaml --json report.json`)
    .action(async (scenarios: string[], flags: RunFlags) => {
      process.exitCode = await runCommand(scenarios, flags)
    })
}
