/** `qcc-lab run <scenario...>`: reproduce, report, gate. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { checkOutputs, writeOutput } from '../output.ts'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { Option, type Command } from 'commander'
import { listBundledScenarios, loadScenario } from '../../harness/scenario/load.ts'
import { formatJunit } from '../../harness/report/format-junit.ts'
import { formatMarkdown } from '../../harness/report/format-markdown.ts'
import type { Scenario } from '../../harness/scenario/schema.ts'
import { runScenario, variantSlots, type RunEvent, type ScenarioRun, type TargetSpec } from '../../harness/runner/run-scenario.ts'
import { builtinTargetProfiles, loadTargetProfile, targetProfileYaml } from '../../harness/runner/target-profile.ts'
import { checkTargetCommand, qccLayouts, stopAllTargets, type QccLayout } from '../../harness/runner/target.ts'
import { buildRunReport } from '../../harness/report/build-report.ts'
import { formatRunSummary, formatScenario, keep, truncate, wrap } from '../../harness/report/format-terminal.ts'
import type { RunReport, ScenarioReport } from '../../harness/report/types.ts'
import { UsageError } from '../../shared/errors.ts'
import { environment, outputWidth, useColor } from '../environment.ts'
import { parseIntOption } from '../options.ts'
import { printLintForRun } from './lint.ts'
import { progressClock, type ProgressClock, type ProgressStream } from '../progress.ts'

interface RunFlags {
  readonly all?: boolean
  readonly targetCmd?: string
  readonly targetProfile: string
  readonly configLayout: QccLayout
  readonly strict?: boolean
  readonly targetStopMs: number
  readonly targetStartMs: number
  readonly junit?: string
  readonly markdown?: string
  readonly profile?: string[]
  readonly repeat: number
  readonly jobs?: number
  readonly seed?: number
  readonly json?: string
  readonly html?: string
  readonly color?: boolean
  readonly progress?: boolean
}

/** Picks the variants `--profile` names: by variant name, else every variant using that connector profile. */
export function selectVariants(scenario: Scenario, names: readonly string[] | undefined): string[] {
  if (!names || names.length === 0) return scenario.variants.map((v) => v.name)
  const picked = new Set<string>()
  for (const n of names) {
    const byName = scenario.variants.filter((v) => v.name === n)
    // `contract` selects each scenario's contract variants, whatever they are called.
    const matches = byName.length > 0 ? byName : n === 'contract' ? scenario.variants.filter((v) => v.contract) : scenario.variants.filter((v) => !v.contract && v.connector.profile === n)
    if (matches.length === 0) {
      throw new UsageError(`Failed to select variant "${n}" in scenario ${scenario.name}: it has ${scenario.variants.map((v) => v.name).join(', ')}.`)
    }
    for (const v of matches) picked.add(v.name)
  }
  return scenario.variants.filter((v) => picked.has(v.name)).map((v) => v.name)
}

/**
 * How many variants `run` runs at once against the bundled proxy unless `--jobs` says otherwise. Measured
 * on a 2-core machine: variants mostly wait on their timelines, so 5 at once take `run --all` from ~41 s
 * to ~12 s (its longest variant, 7.5 s, plus the scenarios that run alone), no faster with more, and
 * `run stale-keepalive` from ~8 s to ~2 s. More at once only adds event-loop delay: on a machine loaded by
 * a parallel test run, 8 or 16 at once moved a stale-keepalive count in some of 20 runs where 5 did not.
 */
export const defaultJobs = 5

/** A running variant, as the progress lines show it. */
interface Running {
  readonly scenario: string
  readonly variant: string
  readonly repeat: number
  readonly startedAt: number
  done: number
  total?: number
  /** Piped: this variant's own 5 s timer. */
  cancel?: () => void
}

/**
 * Progress on stderr while variants run, also through a timeline's long pauses when no request
 * completes; several variants may run at once. On a terminal: one live line (cut to its width) with
 * the requests done and the seconds so far, redrawn every second; with several running it names them
 * all, the oldest first. Piped: for each variant, a line when a long one starts, one every 5 s while it
 * runs, and one when it ends, each naming the variant. `above` writes something (a result) without
 * tearing the live line. `now` and `every` (a repeating timer; returns its cancel) are injected by tests.
 */
export function progressPrinter(err: ProgressStream, options: ProgressClock = {}): { onEvent: (e: RunEvent) => void; stop: () => void; above: (write: () => void) => void } {
  const { now, every } = progressClock(options)
  const width = outputWidth(err)
  /** In the order they started. */
  let running: Running[] = []
  let cancelLive: (() => void) | undefined
  const seconds = (ms: number): number => Math.round(ms / 1000)
  const name = (v: { variant: string; repeat: number }): string => (v.repeat > 0 ? `${v.variant} (run ${v.repeat + 1})` : v.variant)
  const counts = (v: Running, unit: string): string => (v.total === undefined ? 'started' : `${v.done}/${v.total}${unit}`)
  const status = (v: Running): string => `${v.scenario} › ${name(v)} ${counts(v, ' requests')}, ${seconds(now() - v.startedAt)} s so far`
  /** The oldest in full, then the others short, each scenario named once per run of its variants. */
  const summary = (): string => {
    if (running.length === 1) return status(running[0]!)
    const rest = running.slice(1).map((v, i) => `${v.scenario === running[i]!.scenario ? '' : `${v.scenario} › `}${name(v)} ${counts(v, '')}`)
    return `${running.length} running: ${[status(running[0]!), ...rest].join(' · ')}`
  }
  const clear = '\r\u001b[2K'
  const live = (): void => {
    if (running.length > 0) err.write(`${clear}${truncate(`  ${summary()}`, width - 1)}`)
  }
  const piped = (text: string): void => {
    err.write(`${wrap(text, width, '  ', '    ').join('\n')}\n`)
  }
  const find = (e: { scenario: string; variant: string; repeat: number }): Running | undefined =>
    running.find((v) => v.scenario === e.scenario && v.variant === e.variant && v.repeat === e.repeat)
  const onEvent = (e: RunEvent): void => {
    if (e.type === 'variant-start') {
      const v: Running = { scenario: e.scenario, variant: e.variant, repeat: e.repeat, done: 0, startedAt: now() }
      running.push(v)
      const long = (e.expectedMs ?? 0) >= 5_000 ? `${e.scenario} › ${name(e)}: its timeline takes ${keep(`at least ${seconds(e.expectedMs!)} s`)}` : undefined
      if (err.isTTY) {
        if (long) err.write(`${clear}${wrap(long, width - 1, '  ', '    ').join('\n')}\n`)
        live()
        cancelLive ??= every(live, 1_000)
      } else {
        if (long) piped(`running ${long}`)
        v.cancel = every(() => piped(`… ${status(v)}`), 5_000)
      }
    } else if (e.type === 'progress') {
      const v = find(e)
      if (v) Object.assign(v, { done: e.done, total: e.total })
      if (err.isTTY) live()
    } else if (e.type === 'variant-end') {
      const v = find(e)
      v?.cancel?.()
      running = running.filter((r) => r !== v)
      if (!err.isTTY) piped(`ran ${e.scenario} › ${name(e)} in ${(e.durationMs / 1000).toFixed(1)} s`)
      else if (running.length > 0) live()
      else {
        cancelLive?.()
        cancelLive = undefined
        err.write(clear)
      }
    }
  }
  // The run ended (or threw) mid-variant: no timer left, and no live line under what comes next.
  const stop = (): void => {
    for (const v of running) v.cancel?.()
    cancelLive?.()
    cancelLive = undefined
    if (err.isTTY && running.length > 0) err.write(clear)
    running = []
  }
  // A result printed while variants still run: on the line the live line held, which is drawn again under it.
  const above = (write: () => void): void => {
    if (!err.isTTY || running.length === 0) return write()
    err.write(clear)
    write()
    live()
  }
  return { onEvent, stop, above }
}

function targetSpec(flags: RunFlags): { spec: TargetSpec; cleanup: () => void } | undefined {
  const command = flags.targetCmd
  if (command === undefined) return undefined
  if (!/\{port\}/.test(command)) throw new UsageError('--target-cmd must contain {port} (and usually {config} and {cluster}), e.g. "qcc-lab proxy start --config {config} --cluster {cluster} --port {port} --home {home}".')
  checkTargetCommand(command, ['config', 'cluster', 'port', 'home', 'profile'])
  const profile = loadTargetProfile(flags.targetProfile)
  let profileFile = path.resolve(flags.targetProfile)
  let cleanup = (): void => undefined
  if (profile.source === 'built-in') {
    // `{profile}` is always a file, so a bundled target can be told the same constants.
    const dir = mkdtempSync(path.join(tmpdir(), 'qcc-lab-profile-'))
    profileFile = path.join(dir, `${profile.name}.yaml`)
    writeFileSync(profileFile, targetProfileYaml(profile))
    cleanup = () => rmSync(dir, { recursive: true, force: true })
  }
  return { spec: { command, profile, profileFile, layout: flags.configLayout, stopTimeoutMs: flags.targetStopMs, startTimeoutMs: flags.targetStartMs }, cleanup }
}

export async function runCommand(scenarioArgs: string[], flags: RunFlags): Promise<number> {
  const started = performance.now()
  const startedAt = new Date().toISOString()
  if (flags.all && scenarioArgs.length > 0) throw new UsageError('Give either scenario names or --all, not both.')
  if (!flags.all && scenarioArgs.length === 0) throw new UsageError('Name at least one scenario (see `qcc-lab list`), or use --all.')
  if (flags.targetCmd === undefined) {
    // Target-mode options without a target: a mistake, never silently ignored.
    const given = [
      flags.strict ? '--strict' : undefined,
      flags.targetProfile !== 'qcc' ? '--target-profile' : undefined,
      flags.configLayout !== 'qcc' ? '--config-layout' : undefined,
      flags.targetStopMs !== 10_000 ? '--target-stop-ms' : undefined,
      flags.targetStartMs !== 20_000 ? '--target-start-ms' : undefined,
    ].filter((f): f is string => f !== undefined)
    if (given.length > 0) throw new UsageError(`${given.join(', ')} appl${given.length === 1 ? 'ies' : 'y'} to target mode only (with --target-cmd).`)
  }
  const names = flags.all ? await listBundledScenarios() : scenarioArgs
  // Load and validate every scenario before running any: a typo in the third file fails in milliseconds.
  const scenarios: Scenario[] = []
  for (const arg of names) scenarios.push(await loadScenario(arg))
  printLintForRun(scenarios, flags.color)
  const selections = scenarios.map((s) => selectVariants(s, flags.profile))
  const outputs = [
    ...(flags.json !== undefined ? [{ flag: '--json', target: flags.json }] : []),
    ...(flags.junit !== undefined ? [{ flag: '--junit', target: flags.junit }] : []),
    ...(flags.markdown !== undefined ? [{ flag: '--markdown', target: flags.markdown }] : []),
    ...(flags.html !== undefined ? [{ flag: '--html', target: flags.html }] : []),
  ]
  checkOutputs(outputs)
  const target = targetSpec(flags)

  // A report on stdout moves the human output to stderr.
  const out = outputs.some((o) => o.target === '-') ? process.stderr : process.stdout
  const color = useColor(out, flags.color)
  const width = outputWidth(out)
  const progress = flags.progress !== false ? progressPrinter(process.stderr) : undefined
  const onEvent = progress?.onEvent
  const reports: ScenarioReport[] = []
  // A real target may share state between its instances ($HOME caches, a fixed port): one at a time unless asked.
  const jobs = flags.jobs ?? (target ? 1 : defaultJobs)
  // Ctrl-C or a CI cancel: stop the target's whole process group and remove its files before leaving.
  const interrupted = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\nqcc-lab: ${signal}; stopping the target proxy and the fake upstreams…\n`)
    void stopAllTargets().finally(() => {
      target?.cleanup()
      process.exit(signal === 'SIGINT' ? 130 : 143)
    })
  }
  if (target) {
    process.once('SIGINT', interrupted)
    process.once('SIGTERM', interrupted)
  }
  try {
    if (target) {
      const c = target.spec.profile.constants
      out.write(`${[
        ...wrap(`Target mode: ${target.spec.command}`, width, '', '  '),
        ...wrap(`profile ${target.spec.profile.name} (${target.spec.profile.source}): attempts ${c.attempts.max}/${c.attempts.perEndpoint} per endpoint, breaker ${c.breaker.threshold}/${c.breaker.openMs} ms, verifier ${c.verifierIntervalMs} ms, recover ${c.recoverMs} ms, headers timeout ${c.headersTimeoutMs} ms · config layout ${target.spec.layout}${jobs > 1 ? ` · ${jobs} targets at once (--jobs)` : ''}`, width, '  ', '    '),
      ].join('\n')}\n\n`)
    }
    // Every scenario and repeat is asked for at once and shares one limit on running variants (the longest
    // start first, see variantSlots). Results are taken (and printed) in the order of a run one after
    // another, whatever finishes first.
    const slots = variantSlots(jobs)
    const abort = new AbortController()
    const pending: Array<Promise<ScenarioRun>> = []
    for (let r = 0; r < flags.repeat; r++) {
      for (const [i, scenario] of scenarios.entries()) {
        // Summarised (and a passed target's home removed) where the API does it too: in runScenario.
        const run = runScenario(scenario, { variants: selections[i]!, seed: flags.seed, repeat: r, onEvent, target: target?.spec, slots, signal: abort.signal })
        // An internal error anywhere: nothing else starts (handled here, so never an unhandled rejection).
        run.catch((err: unknown) => abort.abort(err))
        pending.push(run)
      }
    }
    try {
      for (const run of pending) {
        const { report } = await run
        reports.push(report)
        const write = (): void => { out.write(`${formatScenario(report, { color, width })}\n\n`) }
        if (flags.repeat === 1 || report.verdict === 'fail') progress ? progress.above(write) : write()
      }
    } catch (err) {
      // What is running finishes and is stopped (each variant owns its sockets) before the error is reported.
      abort.abort(err)
      await Promise.allSettled(pending)
      throw err
    }
  } finally {
    progress?.stop()
    process.off('SIGINT', interrupted)
    process.off('SIGTERM', interrupted)
    target?.cleanup()
  }
  const report: RunReport = buildRunReport({
    scenarios: reports,
    repeat: flags.repeat,
    startedAt,
    durationMs: performance.now() - started,
    environment: environment(),
    ...(target ? { target: { command: target.spec.command, profile: target.spec.profile.name, layout: target.spec.layout ?? 'qcc', strict: flags.strict === true } } : {}),
  })
  out.write(`${formatRunSummary(report, { color, width })}\n`)
  if (flags.json !== undefined) await writeOutput(flags.json, `${JSON.stringify(report, null, 2)}\n`)
  if (flags.junit !== undefined) await writeOutput(flags.junit, formatJunit(report))
  if (flags.markdown !== undefined) await writeOutput(flags.markdown, formatMarkdown(report))
  // Loaded only when asked for: the charting libraries take a noticeable part of a second to load.
  if (flags.html !== undefined) await writeOutput(flags.html, await (await import('../../harness/report/html/run-page.ts')).renderRunHtml(report))
  const variants = reports.flatMap((r) => r.variants)
  if (target && variants.length > 0 && variants.every((v) => v.target?.ended === 'did-not-start')) {
    const first = variants[0]!.expectations[0]?.reason ?? 'it did not start'
    for (const r of reports) for (const k of r.keptHomes ?? []) rmSync(k.home, { recursive: true, force: true })
    throw new UsageError(`The target proxy never started, for any variant: ${first}\n${variants[0]!.target?.logTail ?? ''}`.trim())
  }
  if (report.verification.ran === 0) {
    process.stderr.write('qcc-lab: no selected variant could run against the target (all bundled-only); nothing was verified.\n')
    return 2
  }
  return report.verdict === 'pass' ? 0 : 1
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run scenarios against the bundled proxy and fake upstreams, or their contracts against your own proxy (--target-cmd); exit 0 if every expectation held, 1 if one failed, 2 on bad input.')
    .argument('[scenario...]', 'bundled scenario name (see `qcc-lab list`) or path to a scenario YAML file')
    .option('-a, --all', 'run every bundled scenario')
    .option('-p, --profile <name>', 'run only this variant (a variant name, or a connector profile); repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .option('-r, --repeat <n>', 'run everything n times and report how often each expectation held', parseIntOption('--repeat', 1, 1000), 1)
    .option('-j, --jobs <n>', `how many variants run at once (default ${defaultJobs}; with --target-cmd 1, as a real target may share state such as $HOME caches between its instances); results print in the same order either way`, parseIntOption('--jobs', 1, 64))
    .option('-s, --seed <n>', 'seed for fault probabilities and payloads (default: the scenario\'s)', parseIntOption('--seed', 0, 2 ** 32 - 1))
    .option('--json <file>', 'write the JSON report (qcc-lab/run-report@3) to a file, or - for stdout')
    .option('--html <file>', 'write a self-contained HTML report (connection timelines, latency CDFs, endpoint states, verdicts; opens offline) to a file, or - for stdout')
    .option('--junit <file>', 'write JUnit XML (one test case per expectation) for CI, or - for stdout')
    .option('--markdown <file>', 'write a Markdown summary (for a PR comment or $GITHUB_STEP_SUMMARY), or - for stdout')
    .option('--target-cmd <command>', 'run each scenario\'s contracts against an external proxy started per variant by this shell command; {config} (a qcc cache.json pointing at the fake upstreams, also at {home}/.fastcc/cache.json), {cluster}, {port}, {home} and {profile} (the target profile file) are filled in')
    .option('--target-profile <name|file>', `the target's constants the timelines follow: ${Object.keys(builtinTargetProfiles).join(', ')}, or a YAML file (attempts, breaker, verifierIntervalMs, recoverMs, headersTimeoutMs)`, 'qcc')
    .addOption(new Option('--config-layout <layout>', 'how the cache.json handed to the target is laid out: qcc (as qcc init/add/endpoint add leave it; the first plain profile is the default), null-default (default_profile null), cluster-default (the cluster is the default)').choices([...qccLayouts]).default('qcc'))
    .option('--strict', 'target mode: a bundled-only variant fails the run instead of being skipped')
    .option('--target-stop-ms <n>', 'target mode: how long the target gets after SIGTERM (to its whole process group) before SIGKILL', parseIntOption('--target-stop-ms', 0, 600_000), 10_000)
    .option('--target-start-ms <n>', 'target mode: how long the target may take to open its port (a uvx or Python start can be slow)', parseIntOption('--target-start-ms', 100, 600_000), 20_000)
    .option('--no-color', 'no colour (also: NO_COLOR=1, or output is not a terminal)')
    .option('--no-progress', 'no progress lines on stderr')
    .addHelpText('after', `
Target mode runs every scenario's contract variants (no connector, no compat switch: what any correct
relay proxy must meet under the fault) against your proxy. Each contract also requires that the traffic
reached the fake upstreams, so a proxy that answers without forwarding fails. Timelines follow the
target profile's constants (qcc's are fixed: 60 s breaker and verifier), so a run can take minutes.

Examples:
  qcc-lab run stale-keepalive                      reproduce the stale keep-alive failure, all variants
  qcc-lab run stale-keepalive -p naive-keepalive   one variant
  qcc-lab run stale-keepalive --repeat 20          is the verdict stable?
  qcc-lab run ./my-scenario.yaml --json report.json
  qcc-lab run stale-keepalive --html report.html   see the stale connection close under a request, in a browser
  qcc-lab run --all --junit junit.xml --markdown summary.md   gate CI on every scenario
  qcc-lab run --all --target-cmd "HOME={home} qcc proxy start --cluster {cluster} --port {port}"   judge a real qcc
  qcc-lab run --all --target-profile qcc-lab --target-cmd "qcc-lab proxy start --config {config} --cluster {cluster} --port {port} --home {home} --constants {profile}"`)
    .action(async (scenarios: string[], flags: RunFlags) => {
      process.exitCode = await runCommand(scenarios, flags)
    })
}
