/**
 * One line of a proxy log, in the format qcc's Python logging writes (`%(asctime)s - %(name)s -
 * %(levelname)s - %(message)s`, spec §6.4) and qcc-lab's proxy copies (src/proxy/log.ts). Lines that do
 * not start with a timestamp (a Python traceback, a wrapped message) belong to the record above them.
 */

export const logLevels = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const
export type LogLevel = (typeof logLevels)[number]

/** Which proxy wrote the line: qcc-lab's proxy logs as `qcc-lab.proxy` with an event name first. */
export type LogDialect = 'qcc' | 'qcc-lab'

export interface LogRecord {
  /** 1-based line number in the file. */
  readonly line: number
  /**
   * The timestamp as milliseconds of the *naive* local time read as if it were UTC: both proxies log
   * local time without a zone, so this orders and buckets lines without guessing the zone.
   */
  readonly timeMs: number
  /** The timestamp as written, e.g. `2026-12-01 08:52:14,947`. */
  readonly time: string
  readonly logger: string
  readonly level: LogLevel
  readonly dialect: LogDialect
  /** qcc-lab only: the stable event name (`upstream.stale-socket`). */
  readonly event: string | null
  /** The message; for qcc-lab without its `event: ` prefix. */
  readonly message: string
}

const header = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}),(\d{3}) - (.+?) - (DEBUG|INFO|WARNING|ERROR|CRITICAL) - (.*)$/s
const labEvent = /^([a-z][\w-]*(?:\.[\w-]+)+): (.*)$/s

/** The logger name qcc-lab's proxy writes (src/proxy/log.ts). */
export const qccLabLogger = 'qcc-lab.proxy'

/** Parses one line (without its newline); null for a line that is not a record's first line. */
export function parseLogLine(text: string, line: number): LogRecord | null {
  const m = header.exec(text.endsWith('\r') ? text.slice(0, -1) : text)
  if (!m) return null
  const [, y, mo, d, h, mi, s, ms, logger, level, rest] = m as unknown as [string, string, string, string, string, string, string, string, string, LogLevel, string]
  const timeMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms))
  if (!Number.isFinite(timeMs) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return null
  const time = `${y}-${mo}-${d} ${h}:${mi}:${s},${ms}`
  if (logger === qccLabLogger) {
    const e = labEvent.exec(rest)
    return { line, timeMs, time, logger, level, dialect: 'qcc-lab', event: e ? e[1]! : null, message: e ? e[2]! : rest }
  }
  return { line, timeMs, time, logger, level, dialect: 'qcc', event: null, message: rest }
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0')
}

/** A naive time (see `LogRecord.timeMs`) as the logs write it, to the second: `2026-12-01 08:52:14`. */
export function formatNaiveTime(timeMs: number): string {
  const d = new Date(timeMs)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}
