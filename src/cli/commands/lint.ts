/**
 * `qcc-lab lint <scenario...>`: fault setups that load but cannot reproduce what they are written to
 * show (an idle close no request can race, a pause outside race-close's window, …), each with the fix.
 * Exit 0 (warnings are advice), 1 with --strict when there is a warning, 2 when a file does not load.
 */
import { Chalk, type ChalkInstance } from 'chalk'
import type { Command } from 'commander'
import { lintRules, lintScenario, formatLintLine, type LintWarning } from '../../harness/scenario/lint.ts'
import { listBundledScenarios, loadScenario, resolveScenarioFile } from '../../harness/scenario/load.ts'
import type { Scenario } from '../../harness/scenario/schema.ts'
import { UsageError } from '../../shared/errors.ts'
import { inputLimits, readInputFile } from '../../shared/input-file.ts'
import { fieldPath, parseYaml, type Located } from '../../shared/yaml.ts'
import { environment, useColor } from '../environment.ts'

interface LintFlags {
  readonly all?: boolean
  readonly strict?: boolean
  readonly json?: boolean
  readonly color?: boolean
}

/** Where in the file a warning's field was written, for `file:line:column`. */
function locator(file: string): (path: string) => Located | undefined {
  const read = readInputFile(file, { maxBytes: inputLimits.yaml, what: 'scenario YAML file' })
  const yaml = read.ok ? parseYaml(read.text) : undefined
  return (path) => (yaml?.ok ? yaml.locate(fieldPath(path)) : undefined)
}

function formatWarning(w: LintWarning, at: Located | undefined, c: ChalkInstance): string {
  const where = at ? `${w.file}:${at.line}:${at.col}` : w.file
  const lines = [`${where}: ${c.yellow('warning')} ${w.rule}: ${w.upstream ? `${w.upstream} ` : ''}${w.fault ?? w.path} (${w.variants.length > 1 ? 'variants' : 'variant'} ${w.variants.join(', ')})`]
  lines.push(`  why: ${w.problem}`)
  for (const u of w.unmet) lines.push(`  cannot hold: ${u.variant}: ${u.check}`)
  lines.push(`  fix: ${w.fix}`)
  return lines.join('\n')
}

export async function lintCommand(args: readonly string[], flags: LintFlags): Promise<number> {
  if (flags.all && args.length > 0) throw new UsageError('Give either scenario names or --all, not both.')
  if (!flags.all && args.length === 0) throw new UsageError('Name at least one scenario file (or bundled scenario), or use --all.')
  const names = flags.all ? await listBundledScenarios() : args
  const undiciVersion = environment().undici
  // Every file loads first: a file that does not is exit 2, as for `qcc-lab run`.
  const loaded: Array<{ scenario: Scenario; file: string }> = []
  for (const arg of names) loaded.push({ scenario: await loadScenario(arg), file: await resolveScenarioFile(arg) })
  const results = loaded.map(({ scenario, file }) => {
    const locate = locator(file)
    return { file: scenario.file, warnings: lintScenario(scenario, { undiciVersion }).map((w) => ({ ...w, at: locate(w.path) })) }
  })
  const count = results.reduce((n, r) => n + r.warnings.length, 0)
  if (flags.json) {
    const files = results.map((r) => ({ file: r.file, warnings: r.warnings.map(({ at, ...w }) => ({ ...w, line: at?.line ?? null, column: at?.col ?? null })) }))
    process.stdout.write(`${JSON.stringify({ schema: 'qcc-lab/lint@1', undici: undiciVersion, warnings: count, files }, null, 2)}\n`)
  } else {
    const c = new Chalk({ level: useColor(process.stdout, flags.color) ? 1 : 0 })
    const out: string[] = []
    for (const r of results) {
      if (r.warnings.length === 0) out.push(`${r.file}: ${c.green('ok')}`)
      for (const w of r.warnings) out.push(formatWarning(w, w.at, c))
    }
    out.push('', `${count === 0 ? c.green('0 warnings') : c.yellow(`${count} warning${count === 1 ? '' : 's'}`)} in ${results.length} file${results.length === 1 ? '' : 's'} (undici ${undiciVersion})${count > 0 && flags.strict ? ' · --strict: exit 1' : ''}`)
    process.stdout.write(`${out.join('\n')}\n`)
  }
  return count > 0 && flags.strict ? 1 : 0
}

/** The top of `qcc-lab run`: one yellow `lint:` line per warning on stderr (the run goes ahead). */
export function printLintForRun(scenarios: readonly Scenario[], color: boolean | undefined): void {
  const undiciVersion = environment().undici
  const c = new Chalk({ level: useColor(process.stderr, color) ? 1 : 0 })
  for (const s of scenarios) {
    for (const w of lintScenario(s, { undiciVersion })) process.stderr.write(`${c.yellow(`lint: ${formatLintLine(w)}`)}\n`)
  }
}

export function registerLint(program: Command): void {
  program
    .command('lint')
    .description('Check scenarios for fault setups that cannot reproduce what they are written to show, and say how to fix each; exit 0, or 1 with --strict when there is a warning, 2 when a file does not load.')
    .argument('[scenario...]', 'scenario YAML file, or bundled scenario name')
    .option('-a, --all', 'lint every bundled scenario')
    .option('--strict', 'exit 1 when there is any warning (for CI)')
    .option('--json', 'machine-readable output (qcc-lab/lint@1) on stdout')
    .option('--no-color', 'no colour (also: NO_COLOR=1, or output is not a terminal)')
    .addHelpText('after', `
Rules:
${Object.entries(lintRules).map(([rule, title]) => `  ${rule.padEnd(26)} ${title}`).join('\n')}

The timing rules follow the fake upstream's own model (a connection goes idle when a response ends; the
first idle fault owns its timer) and the npm undici in use: undici >= 8.5 (and 7.28) never reuses a socket
whose FIN already arrived, so only a close that races the request fails. \`qcc-lab run <file>\` prints the
same warnings as one "lint:" line each before it runs.

Examples:
  qcc-lab lint my-relay.yaml
  qcc-lab lint --strict --json scenarios/*.yaml`)
    .action(async (scenarios: string[], flags: LintFlags) => {
      process.exitCode = await lintCommand(scenarios, flags)
    })
}
