/** `qcc-lab run <scenario...>`: reproduce, report, gate. */
import { writeFile } from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import type { Command } from 'commander'
import { listBundledScenarios, loadScenario } from '../../harness/scenario/load.ts'
import { needsProxyEvents } from '../../harness/gate/expectation.ts'
import { attemptOutcomes } from '../../proxy/outcome.ts'
import { formatJunit } from '../../harness/report/format-junit.ts'
import { formatMarkdown } from '../../harness/report/format-markdown.ts'
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
  readonly all?: boolean
  readonly targetCmd?: string
  readonly junit?: string
  readonly markdown?: string
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

/** Why a variant cannot run against an external proxy, or undefined when it can. */
export function targetBlocker(v: Scenario['variants'][number]): string | undefined {
  if (v.bundledOnly.length > 0) return `sets ${v.bundledOnly.join(', ')}, which a qcc cache.json cannot carry to an external proxy`
  const e = v.expect.find((x) => needsProxyEvents(x, attemptOutcomes))
  if (e) return `expectation "${e.name}" reads the bundled proxy's attempt events (${e.check})`
  return undefined
}

export async function runCommand(scenarioArgs: string[], flags: RunFlags): Promise<number> {
  const started = performance.now()
  const startedAt = new Date().toISOString()
  if (flags.all && scenarioArgs.length > 0) throw new UsageError('Give either scenario names or --all, not both.')
  if (!flags.all && scenarioArgs.length === 0) throw new UsageError('Name at least one scenario (see `qcc-lab list`), or use --all.')
  const names = flags.all ? await listBundledScenarios() : scenarioArgs
  // Load and validate every scenario before running any: a typo in the third file fails in milliseconds.
  const scenarios: Scenario[] = []
  for (const arg of names) scenarios.push(await loadScenario(arg))
  const selections = scenarios.map((s) => selectVariants(s, flags.profile))
  const target = flags.targetCmd
  if (target !== undefined && !/\{port\}/.test(target)) throw new UsageError('--target-cmd must contain {port} (and usually {config} and {cluster}), e.g. "qcc-lab proxy start --config {config} --cluster {cluster} --port {port} --home {home}".')

  const jsonToStdout = flags.json === '-'
  const out = jsonToStdout ? process.stderr : process.stdout
  const color = useColor(out, flags.color)
  const onEvent = progressPrinter(flags.progress !== false)
  const reports: ScenarioReport[] = []
  for (let r = 0; r < flags.repeat; r++) {
    for (const [i, scenario] of scenarios.entries()) {
      const selected = selections[i]!
      const notApplicable = target === undefined ? [] : selected
        .map((name) => ({ variant: name, reason: targetBlocker(scenario.variants.find((v) => v.name === name)!) }))
        .filter((n): n is { variant: string; reason: string } => n.reason !== undefined)
      const runnable = selected.filter((name) => !notApplicable.some((n) => n.variant === name))
      const records = await runScenario(scenario, { variants: runnable, seed: flags.seed, repeat: r, onEvent, targetCommand: target })
      const variants = records.map((rec) => summarizeVariant(rec, scenario.variants.find((v) => v.name === rec.variant)!.expect))
      const report: ScenarioReport = {
        name: scenario.name,
        file: scenario.file,
        description: scenario.description,
        seed: flags.seed ?? scenario.seed,
        repeat: r,
        verdict: variants.length === 0 ? 'n/a' : variants.every((v) => v.verdict === 'pass') ? 'pass' : 'fail',
        mode: target === undefined ? 'bundled' : 'target',
        variants,
        notApplicable,
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
  if (flags.junit !== undefined) await writeFile(flags.junit, formatJunit(report))
  if (flags.markdown !== undefined) await writeFile(flags.markdown, formatMarkdown(report))
  if (reports.every((r) => r.verdict === 'n/a')) {
    process.stderr.write('qcc-lab: no selected variant could run against the target (see "not applicable" above); nothing was verified.\n')
    return 2
  }
  return report.verdict === 'pass' ? 0 : 1
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run scenarios against the bundled proxy and fake upstreams; exit 0 if every expectation held, 1 if one failed, 2 on bad input.')
    .argument('[scenario...]', 'bundled scenario name (see `qcc-lab list`) or path to a scenario YAML file')
    .option('-a, --all', 'run every bundled scenario')
    .option('-p, --profile <name>', 'run only this variant (a variant name, or a connector profile); repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .option('-r, --repeat <n>', 'run everything n times and report how often each expectation held', parseIntOption('--repeat', 1, 1000), 1)
    .option('-s, --seed <n>', 'seed for fault probabilities and payloads (default: the scenario\'s)', parseIntOption('--seed', 0, 2 ** 32 - 1))
    .option('--json <file>', 'write the JSON report (qcc-lab/run-report@1) to a file, or - for stdout')
    .option('--junit <file>', 'write JUnit XML (one test case per expectation) for CI')
    .option('--markdown <file>', 'write a Markdown summary (for a PR comment or $GITHUB_STEP_SUMMARY)')
    .option('--target-cmd <command>', 'run against an external proxy started per variant by this shell command; {config} {cluster} {port} {home} are filled in (config = a qcc cache.json pointing at the fake upstreams)')
    .option('--no-color', 'no colour (also: NO_COLOR=1, or output is not a terminal)')
    .option('--no-progress', 'no progress lines on stderr')
    .addHelpText('after', `
Examples:
  qcc-lab run stale-keepalive                      reproduce the stale keep-alive failure, all variants
  qcc-lab run stale-keepalive -p naive-keepalive   one variant
  qcc-lab run stale-keepalive --repeat 20          is the verdict stable?
  qcc-lab run ./my-scenario.yaml --json report.json
  qcc-lab run --all --junit junit.xml --markdown summary.md   gate CI on every scenario
  qcc-lab run --all --target-cmd "qcc-lab proxy start --config {config} --cluster {cluster} --port {port} --home {home}"`)
    .action(async (scenarios: string[], flags: RunFlags) => {
      process.exitCode = await runCommand(scenarios, flags)
    })
}
