/** `qcc-lab bench` and `qcc-lab compare`: connector benchmarks, and a comparison that gates changes. */
import path from 'node:path'
import type { Command } from 'commander'
import { checkOutputs, writeOutput, type ReportOutput } from '../output.ts'
import { runBench } from '../../bench/run-bench.ts'
import { nginxBinary, nginxInstallHint } from '../../bench/nginx.ts'
import { formatBenchMarkdown, formatBenchTerminal, formatComparison } from '../../bench/format.ts'
import { asBenchReport, compareReports, DEFAULT_CPU_THRESHOLD_PCT } from '../../bench/compare.ts'
import { QccLabError, UsageError } from '../../shared/errors.ts'
import { inputLimits, readInputFile } from '../../shared/input-file.ts'
import { parseIntListOption, parseIntOption } from '../options.ts'
import { benchAnchors, comparedFigures, defaultGateFigures, type BenchAnchor, type ComparedFigure } from '../../bench/types.ts'

interface BenchFlags {
  readonly quick?: boolean
  readonly json?: string
  readonly markdown?: string
  readonly html?: string
  readonly rtt?: number[]
  readonly concurrency?: number[]
  readonly rounds?: number
  readonly progress?: boolean
  readonly anchor?: string
  readonly pin?: boolean
}

export async function benchCommand(flags: BenchFlags): Promise<number> {
  const anchors = flags.anchor === undefined ? [] : flags.anchor.split(',').map((a) => a.trim())
  const unknownAnchor = anchors.filter((a) => !(benchAnchors as readonly string[]).includes(a))
  if (unknownAnchor.length > 0 || (flags.anchor !== undefined && anchors.length === 0)) {
    throw new UsageError(`--anchor takes ${benchAnchors.join(', ')} or both (comma-separated); got "${flags.anchor}".`)
  }
  if (anchors.includes('nginx') && !nginxBinary()) throw new UsageError(nginxInstallHint)
  // Before the run: a missing folder is exit 2 now, not after a minute of measuring.
  const outputs: ReportOutput[] = [
    ...(flags.json !== undefined ? [{ flag: '--json', target: flags.json }] : []),
    ...(flags.markdown !== undefined ? [{ flag: '--markdown', target: flags.markdown }] : []),
    ...(flags.html !== undefined ? [{ flag: '--html', target: flags.html }] : []),
  ]
  checkOutputs(outputs)
  // A report on stdout moves the table to stderr, so stdout stays parseable (as `run` does).
  const out = outputs.some((o) => o.target === '-') ? process.stderr : process.stdout
  const started = Date.now()
  const err = process.stderr
  let measuring: { at: number; done: number } | undefined
  let warmedUp = false
  const report = await runBench({
    quick: flags.quick === true,
    rttsMs: flags.rtt,
    concurrencies: flags.concurrency,
    rounds: flags.rounds,
    anchors: anchors as BenchAnchor[],
    pin: flags.pin === true,
    onProgress: flags.progress === false ? undefined : ({ phase, done, total, id }) => {
      if (phase === 'warm-up') {
        if (err.isTTY) err.write(`\r\u001b[2K  warming up ${Math.round(done / 1000)}/${Math.round(total / 1000)} s · ${id}`)
        else if (done >= total && !warmedUp) {
          warmedUp = true
          err.write(`  warmed up for ${Math.round((Date.now() - started) / 1000)} s\n`)
        }
        return
      }
      measuring ??= { at: Date.now(), done: done - 1 }
      const eta = Math.round(((Date.now() - measuring.at) / Math.max(1, done - measuring.done)) * (total - done) / 1000)
      if (err.isTTY) err.write(`\r\u001b[2K  measuring ${done}/${total} ${id} · ~${eta} s left`)
      else if (done % 10 === 0 || done === total) err.write(`  ${done}/${total} measured (~${eta} s left)\n`)
    },
  })
  if (err.isTTY && flags.progress !== false) err.write('\r\u001b[2K')
  out.write(`${formatBenchTerminal(report)}\n`)
  if (flags.json !== undefined) await writeOutput(flags.json, `${JSON.stringify(report, null, 2)}\n`)
  if (flags.markdown !== undefined) await writeOutput(flags.markdown, formatBenchMarkdown(report))
  if (flags.html !== undefined) await writeOutput(flags.html, await (await import('../../bench/html/bench-page.ts')).renderBenchHtml(report))
  return 0
}

/** A bench report file, validated; refused (exit 2, naming the file) when it is not a regular file, too big, not JSON or not a report. */
function readReport(file: string) {
  const read = readInputFile(file, { maxBytes: inputLimits.report, what: 'bench report (qcc-lab bench --json <file>)' })
  if (!read.ok) throw new QccLabError('BAD_REPORT', `${file}: ${read.problem}`)
  let data: unknown
  try {
    data = JSON.parse(read.text)
  } catch (err) {
    throw new QccLabError('BAD_REPORT', `${file}: invalid JSON: ${(err as Error).message}. Give a report written by \`qcc-lab bench --json <file>\`.`)
  }
  return asBenchReport(data, file)
}

interface CompareFlags {
  readonly threshold: string
  readonly cpuThreshold: string
  readonly gate?: string
  readonly verbose?: boolean
  /** `true` (bare `--json`) or `-`: stdout; else a file. */
  readonly json?: string | true
  readonly html?: string
  readonly intersection?: boolean
}

export async function compareCommand(base: string, head: string, flags: CompareFlags): Promise<number> {
  const threshold = Number(flags.threshold)
  if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1_000) throw new UsageError(`--threshold takes a percentage from 0 to 1000; got "${flags.threshold}".`)
  const cpuThreshold = Number(flags.cpuThreshold)
  if (!Number.isFinite(cpuThreshold) || cpuThreshold < 0 || cpuThreshold > 1_000) throw new UsageError(`--cpu-threshold takes a percentage from 0 to 1000; got "${flags.cpuThreshold}".`)
  const gate = flags.gate === undefined ? undefined : flags.gate.split(',').map((f) => f.trim())
  const unknown = gate?.filter((f) => !Object.hasOwn(comparedFigures, f)) ?? []
  if (unknown.length > 0 || gate?.length === 0) throw new UsageError(`--gate takes figures from ${Object.keys(comparedFigures).join(', ')}; got "${flags.gate}".`)
  const json = flags.json === true ? '-' : flags.json
  const outputs: ReportOutput[] = [
    ...(json !== undefined ? [{ flag: '--json', target: json }] : []),
    ...(flags.html !== undefined ? [{ flag: '--html', target: flags.html }] : []),
  ]
  checkOutputs(outputs)
  // `compare --json head.json …` read as a file to write would replace a report with the comparison.
  for (const o of outputs) {
    if (o.target !== '-' && [base, head].some((f) => path.resolve(f) === path.resolve(o.target))) {
      throw new UsageError(`${o.flag} ${o.target}: is one of the reports being compared; give the comparison its own file, or - for stdout.`)
    }
  }
  // Both files are checked before either is refused, so one run names every problem.
  const read = [base, head].map((file) => {
    try {
      return { report: readReport(file) }
    } catch (err) {
      if (err instanceof QccLabError) return { error: err }
      throw err
    }
  })
  const errors = read.flatMap((r) => (r.error ? [r.error.message] : []))
  // Line by line without repeats: the same file twice, or the hint under both, is said once.
  if (errors.length > 0) throw new QccLabError('BAD_REPORT', [...new Set(errors.join('\n').split('\n'))].join('\n'))
  const comparison = compareReports(read[0]!.report!, read[1]!.report!, threshold, gate as ComparedFigure[] | undefined, {
    intersection: flags.intersection === true,
    cpuThresholdPct: cpuThreshold,
    names: { base, head },
  })
  // A report on stdout moves the table to stderr, as `run` does.
  const out = outputs.some((o) => o.target === '-') ? process.stderr : process.stdout
  out.write(`${formatComparison(comparison, flags.verbose === true)}\n`)
  if (json !== undefined) await writeOutput(json, `${JSON.stringify(comparison, null, 2)}\n`)
  if (flags.html !== undefined) await writeOutput(flags.html, await (await import('../../bench/html/bench-page.ts')).renderCompareHtml(comparison))
  return comparison.regressions > 0 ? 1 : 0
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('Benchmark connector profiles (force-close, naive and tuned keep-alive) against direct, over HTTP/HTTPS, JSON/SSE, several concurrencies; upstreams and proxies run in two child processes, warmed up first, then measured in interleaved rounds.')
    .option('-q, --quick', 'a smaller matrix (concurrency 64 only, no simulated RTT), under a minute')
    .option('--json <file>', 'write the report (qcc-lab/bench-report@1) to a file, or - for stdout (the table then goes to stderr)')
    .option('--markdown <file>', 'write Markdown tables to a file, or - for stdout')
    .option('--html <file>', 'write a self-contained HTML report (req/s, p50/p99, first event, connections and handshakes per request, with the per-round spread) to a file, or - for stdout')
    .option('--rtt <ms,...>', 'simulated round-trip times (default: 0 with --quick, else 0,20)', parseIntListOption('--rtt', 0, 1_000))
    .option('--concurrency <n,...>', 'concurrencies (default: 64 with --quick, else 1,8,64)', parseIntListOption('--concurrency', 1, 512))
    .option('--rounds <n>', 'rounds per configuration (default 5)', parseIntOption('--rounds', 1, 20))
    .option('--anchor <names>', 'also measure references in the same rounds: node-floor (a bare Node relay, node:http in and one undici Pool out: the floor for a proxy on Node), nginx (on PATH, with an upstream keepalive pool: what C costs), or node-floor,nginx')
    .option('--pin', 'pin the client, upstream and proxy to fixed cores with taskset (noisier on 2 cores; see bench/README.md)')
    .option('--no-progress', 'no progress on stderr')
    .action(async (flags: BenchFlags) => { process.exitCode = await benchCommand(flags) })
  program
    .command('compare')
    .description('Compare two bench reports of the same configurations: exit 0 without a regression beyond the threshold and the measured noise, 1 with one, 2 on a bad file or reports of different configurations (see the exit codes below).')
    .argument('<base>', 'the baseline report (JSON)')
    .argument('<head>', 'the report to judge (JSON)')
    .option('-t, --threshold <pct>', 'smallest change of one configuration\'s figure that counts, in percent', '10')
    .option('--cpu-threshold <pct>', 'smallest change of the proxy\'s CPU per request over all its configurations that counts, in percent', String(DEFAULT_CPU_THRESHOLD_PCT))
    .option('-g, --gate <figures>', `figures whose regression fails the comparison (default ${defaultGateFigures.join(',')}; all: ${Object.keys(comparedFigures).join(',')})`)
    .option('-v, --verbose', 'show every figure, not only real changes')
    .option('--intersection', 'when the reports hold different configurations (a --quick one against a full one), compare only those both have and say how many were left out')
    .option('--json [file]', 'write the comparison (qcc-lab/compare-report@1, changes in percent) to a file, or to stdout with - or no file (the table then goes to stderr)')
    .option('--html <file>', 'write a self-contained HTML page of every change against its noise band, regressions marked, to a file, or - for stdout')
    .addHelpText('after', `
Exit codes:
  0  no gating figure of a proxy configuration got worse beyond --threshold and the noise, nor the
     proxy's CPU per request over all its configurations beyond --cpu-threshold and its noise
  1  at least one did (a regression)
  2  a file is unreadable or not a bench report (a run report, say), or the two reports measured
     different configurations, e.g. \`bench --quick\` against a full bench: compare says what differs;
     measure both the same way, or pass --intersection to compare the configurations both have

Examples:
  qcc-lab compare base.json head.json
  qcc-lab compare base.json head.json --threshold 5 --gate rps,p50
  qcc-lab compare quick.json full.json --intersection
  qcc-lab compare base.json head.json --json - | jq '.changes[] | select(.regression)'
  qcc-lab compare base.json head.json --html compare.html`)
    .action(async (base: string, head: string, flags: CompareFlags) => {
      process.exitCode = await compareCommand(base, head, flags)
    })
}
