/**
 * The doctor's report (`qcc-lab/doctor-report@1`): what was read, the seed's thresholds, the findings
 * and the verdict. A pure function of the log summary and the stats snapshot.
 */
import { findFindings, type Finding } from './findings.ts'
import type { LogSummary } from './log-scan.ts'
import type { StatsSnapshot } from './stats.ts'
import { checkThresholds, type ThresholdResult } from './thresholds.ts'
import { verdictOf, type DoctorVerdict } from './verdict.ts'

export const doctorReportSchema = 'qcc-lab/doctor-report@1'

/** A log as read: where from, and its summary. */
export interface LogSource {
  /** The path given, or `-` for stdin. */
  readonly file: string
  readonly bytes: number
  readonly gzip: boolean
  /** Lines longer than the reader keeps (64 KiB); only their start was read. */
  readonly truncatedLines: number
  readonly summary: LogSummary
}

export interface DoctorReport {
  readonly schema: typeof doctorReportSchema
  readonly verdict: DoctorVerdict
  readonly exitCode: 0 | 1
  readonly log: LogSource | null
  readonly stats: StatsSnapshot | null
  /** Empty without --stats. */
  readonly thresholds: readonly ThresholdResult[]
  readonly findings: readonly Finding[]
}

export function buildDoctorReport(input: { readonly log: LogSource | null; readonly stats: StatsSnapshot | null }): DoctorReport {
  const thresholds = input.stats ? checkThresholds(input.stats) : []
  const findings = findFindings({ log: input.log?.summary ?? null, stats: input.stats, thresholds })
  const { verdict, exitCode } = verdictOf(findings)
  return { schema: doctorReportSchema, verdict, exitCode, log: input.log, stats: input.stats, thresholds, findings }
}
