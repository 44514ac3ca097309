/**
 * The proxy's log: qcc's line format (`YYYY-MM-DD HH:MM:SS,mmm - logger - LEVEL - message`) with a
 * stable event name first in every message (`lb.degraded-fallback: …`) so runbooks can grep it.
 * Kept in a bounded ring for `/__qcc__/logs`, optionally appended to a file, and published on
 * `qcc-lab:proxy:log`. API keys are masked to their last 4 characters before anything is stored.
 * A log file that fails (cannot be opened, disk full) is reported once on stderr and then left alone:
 * the proxy keeps serving, and the lines stay in the ring.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { createWriteStream, type WriteStream } from 'node:fs'

export const logLevels = ['DEBUG', 'INFO', 'WARNING', 'ERROR'] as const
export type LogLevel = (typeof logLevels)[number]

export interface LogRecord {
  readonly proxyId: string
  readonly time: number
  readonly level: LogLevel
  readonly event: string
  readonly message: string
  readonly line: string
}

/** What the ring keeps per line; the formatted line is derived on read. */
type Kept = Omit<LogRecord, 'proxyId' | 'line'>

function lineOf(k: Kept): string {
  return `${formatTime(k.time)} - qcc-lab.proxy - ${k.level} - ${k.event}: ${k.message}`
}

export const logChannel = diagnosticsChannel.channel('qcc-lab:proxy:log')

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0')
}

/** Local time as qcc's Python logging prints it. */
export function formatTime(epochMs: number): string {
  const d = new Date(epochMs)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`
}

export interface ProxyLogOptions {
  readonly proxyId: string
  /** Append lines here too. */
  readonly file?: string
  /** Lines kept for /__qcc__/logs. */
  readonly capacity?: number
  /** Strings to mask wherever they appear (API keys). */
  readonly secrets: readonly string[]
  readonly clock: () => number
}

export class ProxyLog {
  readonly #records: Kept[] = []
  /** Index of the oldest record once the ring is full. */
  #next = 0
  readonly #capacity: number
  readonly #secrets: readonly string[]
  #stream: WriteStream | undefined
  readonly #options: ProxyLogOptions

  constructor(options: ProxyLogOptions) {
    this.#options = options
    this.#capacity = options.capacity ?? 5_000
    // Longest first, so a key that contains another is masked whole.
    this.#secrets = [...options.secrets].filter((s) => s.length >= 8).sort((a, b) => b.length - a.length)
    const stream = options.file ? createWriteStream(options.file, { flags: 'a', mode: 0o600 }) : undefined
    // The stream's errors are asynchronous (open, ENOSPC on a write): without a listener each one
    // would be an uncaught exception that kills the proxy. Report the first, stop writing the file.
    stream?.on('error', (err: Error) => {
      if (this.#stream !== stream) return
      this.#stream = undefined
      stream.destroy()
      process.stderr.write(`qcc-lab: warning: cannot write the proxy log ${options.file}: ${err.message}; log lines are kept in memory only (/__qcc__/logs)\n`)
    })
    this.#stream = stream
  }

  get file(): string | undefined {
    return this.#options.file
  }

  redact(text: string): string {
    let out = text
    for (const s of this.#secrets) if (out.includes(s)) out = out.split(s).join(`…${s.slice(-4)}`)
    return out
  }

  log(level: LogLevel, event: string, message: string): void {
    const kept: Kept = { time: this.#options.clock(), level, event, message: this.redact(message) }
    if (this.#records.length < this.#capacity) this.#records.push(kept)
    else {
      // A ring: overwrite the oldest instead of shifting the whole array on every line.
      this.#records[this.#next] = kept
      this.#next = (this.#next + 1) % this.#capacity
    }
    // The line is formatted only when something reads it: three lines per request were 4-6 % of the
    // proxy's CPU under load, for text that is usually never looked at.
    this.#stream?.write(`${lineOf(kept)}\n`)
    if (logChannel.hasSubscribers) logChannel.publish(this.#record(kept))
  }

  #record(k: Kept): LogRecord {
    return { proxyId: this.#options.proxyId, ...k, line: lineOf(k) }
  }

  debug(event: string, message: string): void { this.log('DEBUG', event, message) }
  info(event: string, message: string): void { this.log('INFO', event, message) }
  warn(event: string, message: string): void { this.log('WARNING', event, message) }
  error(event: string, message: string): void { this.log('ERROR', event, message) }

  /** Kept records, oldest first. */
  records(): readonly LogRecord[] {
    const ordered = this.#next === 0 ? this.#records : [...this.#records.slice(this.#next), ...this.#records.slice(0, this.#next)]
    return ordered.map((k) => this.#record(k))
  }

  async close(): Promise<void> {
    const s = this.#stream
    if (s) await new Promise<void>((resolve) => s.end(() => resolve()))
  }
}

/** `/__qcc__/logs?lines=&level=&grep=` as qcc answers it, over the in-memory lines. */
export function queryLogs(log: ProxyLog, params: URLSearchParams): { status: number; body: unknown } {
  const linesParam = params.get('lines') ?? '100'
  const level = (params.get('level') ?? 'ALL').toUpperCase()
  const grep = params.get('grep') ?? ''
  if (!/^\d+$/.test(linesParam)) return { status: 400, body: { error: `lines: expected a whole number (0 = all); got "${linesParam}"` } }
  if (level !== 'ALL' && !(logLevels as readonly string[]).includes(level)) {
    return { status: 400, body: { error: `level: expected ALL or one of ${logLevels.join(', ')}; got "${level}"` } }
  }
  const lines = Number(linesParam)
  const needle = grep.toLowerCase()
  const filtered = log.records()
    .filter((r) => level === 'ALL' || r.level === level)
    .map((r) => r.line)
    .filter((l) => needle === '' || l.toLowerCase().includes(needle))
  const shown = lines === 0 ? filtered : filtered.slice(-lines)
  return {
    status: 200,
    body: { logs: shown, total_lines: filtered.length, displayed_lines: shown.length, log_file: log.file ?? null, filters: { lines, level, grep } },
  }
}
