/**
 * `qcc-lab doctor`: the seed's test plan (502-error-comprehensive-fix.md, 测试计划) as one command
 * against a running qcc or qcc-lab proxy: its log, its `/__qcc__/stats`, or both. Exit 0 healthy (or
 * warnings only), 1 when a finding means the failure is happening, 2 on bad input.
 */
import type { Command } from 'commander'
import { UsageError } from '../../shared/errors.ts'
import { fetchStats, statsUrl } from '../../field/doctor/fetch-stats.ts'
import { formatDoctorReport } from '../../field/doctor/format.ts'
import { readLog } from '../../field/doctor/read-log.ts'
import { buildDoctorReport } from '../../field/doctor/report.ts'
import { parseIntOption } from '../options.ts'
import { useColor } from '../environment.ts'

export interface DoctorFlags {
  readonly log?: string
  readonly stats?: string
  readonly timeout?: number
  readonly json?: boolean
  readonly color?: boolean
}

export async function doctorCommand(flags: DoctorFlags): Promise<number> {
  if (flags.log === undefined && flags.stats === undefined) {
    throw new UsageError('doctor needs --log <proxy.log>, --stats <url>, or both, e.g. `qcc-lab doctor --log ~/.fastcc/proxy.log --stats http://127.0.0.1:7860`.')
  }
  // Both inputs are read before anything is printed, so a bad one is exit 2 with nothing half-said; the
  // stats first: they take at most --timeout, a long log can take a while.
  if (flags.stats !== undefined) statsUrl(flags.stats)
  const stats = flags.stats === undefined ? null : await fetchStats(flags.stats, flags.timeout ?? 5_000)
  const log = flags.log === undefined ? null : await readLog(flags.log)
  const report = buildDoctorReport({ log, stats })
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  else process.stdout.write(formatDoctorReport(report, { color: useColor(process.stdout, flags.color) }))
  return report.exitCode
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('Run the seed\'s test plan against a running qcc (or qcc-lab) proxy: read its log and/or /__qcc__/stats, name each failure with its evidence, the scenario that replays it and the fix; exit 0 healthy, 1 failing, 2 on bad input.')
    .option('-l, --log <file>', 'the proxy\'s log: qcc\'s ~/.fastcc/proxy.log, a `qcc-lab proxy start --log-file` file, a .gz of either, or - for stdin')
    .option('-s, --stats <url>', 'the proxy\'s address (http://127.0.0.1:7860 reads /__qcc__/stats) or the full stats URL')
    .option('-t, --timeout <ms>', 'how long --stats may take to answer', parseIntOption('--timeout', 1, 600_000), 5_000)
    .option('--json', 'print the report as JSON (qcc-lab/doctor-report@1) instead of text')
    .option('--no-color', 'no colour (also: NO_COLOR=1, or output is not a terminal)')
    .addHelpText('after', `
What it checks (the seed's plan, 502-error-comprehensive-fix.md):
  log    stale keep-alive connections (aiohttp "Cannot write to closing transport", "Can not write
         request body", "Server disconnected"; undici "other side closed", ECONNRESET, EPIPE), balancer
         fallbacks (降级使用 / 极端降级), "All 0 endpoints failed" (尝试了 0 个 endpoint), failure-queue
         entries and recoveries, default-profile fallbacks, each with its first line and a timeline.
         Read as a stream: any size, plain or gzip; qcc's format and qcc-lab's (same line layout).
  stats  success_rate > 95, healthy_endpoints >= 1, avg_response_time < 2000 (ms). qcc serves no
         top-level success_rate or avg_response_time: they are derived from successful_requests /
         total_requests and from the endpoints' health_status (weighted by their requests).

Each finding says what it is, the evidence, the command that replays it with fake upstreams
(qcc-lab run <scenario>) and the setting or fix that removes it.

Exit codes: 0 healthy, or warnings only · 1 a finding means the failure is happening · 2 bad input
(no --log/--stats, a missing or binary file, a stats URL that does not answer qcc's JSON).

Examples:
  qcc-lab doctor --log ~/.fastcc/proxy.log
  qcc-lab doctor --stats http://127.0.0.1:7860
  qcc-lab doctor --log ~/.fastcc/proxy.log --stats http://127.0.0.1:7860 --json > doctor.json
  ssh host cat .fastcc/proxy.log | qcc-lab doctor --log -`)
    .action(async (flags: DoctorFlags) => {
      process.exitCode = await doctorCommand(flags)
    })
}
