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

/** One line without its proxy id and formatted text (those are derived on read). */
type Kept = Omit<LogRecord, 'proxyId' | 'line'>

/**
 * Bytes of a message the ring keeps in its byte arena; longer ones (and any that is not well-formed
 * UTF-16, which UTF-8 would not give back as it was) are kept as strings.
 */
const SLOT_BYTES = 256
const levelIndex: Readonly<Record<LogLevel, number>> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3 }

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

/**
 * The ring of kept lines is columns, not an object per line: times, levels and events in arrays, each
 * message's UTF-8 bytes in a fixed slot of one buffer. A line kept as objects lived long enough to be
 * promoted out of the young generation, and collecting 5 000 of them in turn was most of the proxy's
 * time in GC (measured: 4-7 % of its CPU under load, 2 % with nothing kept).
 */
export class ProxyLog {
  readonly #times: Float64Array
  readonly #levels: Uint8Array
  readonly #events: string[]
  /** Bytes of message `i` in the arena, or -1: the message is `#long[i]`. */
  readonly #lengths: Int32Array
  readonly #long: Array<string | undefined>
  readonly #arena: Buffer
  /** Lines kept. */
  #size = 0
  /** Slot of the next line: the oldest once the ring is full. */
  #next = 0
  readonly #capacity: number
  readonly #secrets: readonly string[]
  #stream: WriteStream | undefined
  readonly #options: ProxyLogOptions

  constructor(options: ProxyLogOptions) {
    this.#options = options
    this.#capacity = Math.max(1, options.capacity ?? 5_000)
    this.#times = new Float64Array(this.#capacity)
    this.#levels = new Uint8Array(this.#capacity)
    this.#events = new Array<string>(this.#capacity).fill('')
    this.#lengths = new Int32Array(this.#capacity)
    this.#long = new Array<string | undefined>(this.#capacity).fill(undefined)
    // Not zeroed: only the bytes a line wrote are ever read.
    this.#arena = Buffer.allocUnsafeSlow(this.#capacity * SLOT_BYTES)
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
    this.#keep(kept)
    // The line is formatted only when something reads it: three lines per request were 4-6 % of the
    // proxy's CPU under load, for text that is usually never looked at.
    this.#stream?.write(`${lineOf(kept)}\n`)
    if (logChannel.hasSubscribers) logChannel.publish(this.#record(kept))
  }

  #keep(k: Kept): void {
    const i = this.#next
    this.#times[i] = k.time
    this.#levels[i] = levelIndex[k.level]
    this.#events[i] = k.event
    const m = k.message
    if ((m.length <= SLOT_BYTES / 3 || (m.length <= SLOT_BYTES && Buffer.byteLength(m) <= SLOT_BYTES)) && (m as unknown as { isWellFormed(): boolean }).isWellFormed()) {
      this.#lengths[i] = this.#arena.write(m, i * SLOT_BYTES, SLOT_BYTES, 'utf8')
      if (this.#long[i] !== undefined) this.#long[i] = undefined
    } else {
      this.#lengths[i] = -1
      this.#long[i] = m
    }
    // A ring: once full, the next line overwrites the oldest.
    this.#next = i + 1 === this.#capacity ? 0 : i + 1
    if (this.#size < this.#capacity) this.#size++
  }

  /** Kept line `i`. */
  #kept(i: number): Kept {
    const length = this.#lengths[i]!
    const message = length < 0 ? this.#long[i]! : this.#arena.toString('utf8', i * SLOT_BYTES, i * SLOT_BYTES + length)
    return { time: this.#times[i]!, level: logLevels[this.#levels[i]!]!, event: this.#events[i]!, message }
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
    const full = this.#size === this.#capacity
    const out: LogRecord[] = []
    for (let n = 0; n < this.#size; n++) {
      const i = full ? (this.#next + n) % this.#capacity : n
      out.push(this.#record(this.#kept(i)))
    }
    return out
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
