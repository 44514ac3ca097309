/** `qcc-lab report <report.json> --html out.html`: draw a run, bench or compare report made anywhere. */
import path from 'node:path'
import type { Command } from 'commander'
import { checkOutputs, writeOutput } from '../output.ts'
import { QccLabError, UsageError } from '../../shared/errors.ts'
import { inputLimits, readInputFile } from '../../shared/input-file.ts'

interface ReportFlags {
  readonly html?: string
}

export async function reportCommand(file: string, flags: ReportFlags): Promise<number> {
  if (flags.html === undefined) throw new UsageError('Give the page to write: qcc-lab report <report.json> --html <file> (or --html - for stdout).')
  checkOutputs([{ flag: '--html', target: flags.html }])
  if (flags.html !== '-' && path.resolve(flags.html) === path.resolve(file)) {
    throw new UsageError(`--html ${flags.html}: is the report being drawn; give the page its own file, e.g. ${file.replace(/\.json$/i, '')}.html.`)
  }
  const read = readInputFile(file, { maxBytes: inputLimits.report, what: 'qcc-lab JSON report (run, bench or compare --json)' })
  if (!read.ok) throw new QccLabError('BAD_REPORT', `${file}: ${read.problem}`)
  const { parseReportFile, renderReportHtml } = await import('../report-file.ts')
  await writeOutput(flags.html, await renderReportHtml(parseReportFile(read.text, file)))
  return 0
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('Draw a JSON report as a self-contained HTML page that opens offline: a run report (qcc-lab run --json), a bench report (bench --json) or a comparison (compare --json), made on this machine or anywhere else.')
    .argument('<report>', 'the JSON report')
    .option('--html <file>', 'write the HTML page to a file, or - for stdout')
    .addHelpText('after', `
Examples:
  qcc-lab report run.json --html run.html           connection timelines, latency CDFs, endpoint states, verdicts
  qcc-lab report bench.json --html bench.html       req/s, p50/p99, first event, connections per request, per round
  qcc-lab report compare.json --html compare.html   every change against its noise band, regressions marked`)
    .action(async (file: string, flags: ReportFlags) => {
      process.exitCode = await reportCommand(file, flags)
    })
}
