/**
 * Streams a proxy log through the scan: a file (plain or gzip, as logrotate leaves them), a FIFO
 * (`--log <(ssh host cat ~/.fastcc/proxy.log)`) or stdin (`-`). Memory stays bounded whatever the
 * size: 64 KiB chunks, lines cut at 64 KiB, the scan keeps counters only. Whatever makes the input
 * unusable (missing, a folder, binary, corrupt gzip, no log line at all) is a UsageError (exit 2).
 */
import { createReadStream, statSync, type Stats } from 'node:fs'
import { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { createGunzip } from 'node:zlib'
import { UsageError } from '../../shared/errors.ts'
import { createLogScan } from './log-scan.ts'
import type { LogSource } from './report.ts'

/** Characters kept of one line; the rest of a longer line is skipped (no log message is that long). */
export const maxLineChars = 64 * 1024
/** How much of the (decompressed) start is checked for NUL bytes. */
const sniffBytes = 64 * 1024

const fix = 'Give the text log qcc writes (~/.fastcc/proxy.log) or one from `qcc-lab proxy start --log-file <file>`.'

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device'
  return 'not a regular file'
}

function openError(file: string, err: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return new UsageError(`--log ${file}: cannot read the file: it does not exist. Check the path; qcc writes ~/.fastcc/proxy.log.`)
  if (code === 'ENOTDIR') return new UsageError(`--log ${file}: cannot read the file: a part of its path is not a folder. Check the path.`)
  if (code === 'EACCES' || code === 'EPERM') return new UsageError(`--log ${file}: cannot read the file: permission denied (${code}). Check its permissions.`)
  if (code === 'EISDIR') return new UsageError(`--log ${file}: is a folder, not a log file. ${fix}`)
  return new UsageError(`--log ${file}: cannot read the file: ${(err as Error).message}.`)
}

/** The source's byte stream, checked before it is opened. */
function open(file: string, stdin: NodeJS.ReadableStream & { isTTY?: boolean }): AsyncIterable<Buffer> {
  if (file === '-') {
    if (stdin.isTTY) throw new UsageError('--log -: stdin is a terminal; pipe a log in, e.g. `cat ~/.fastcc/proxy.log | qcc-lab doctor --log -`.')
    return stdin as AsyncIterable<Buffer>
  }
  let st: Stats
  try {
    st = statSync(file)
  } catch (err) {
    throw openError(file, err)
  }
  if (!st.isFile() && !st.isFIFO()) throw new UsageError(`--log ${file}: is ${kindOf(st)}, not a log file. ${fix}`)
  return createReadStream(file, { highWaterMark: 64 * 1024 })
}

/** Reads the whole source and returns its summary (see LogSummary). */
export async function readLog(file: string, options: { readonly stdin?: NodeJS.ReadableStream } = {}): Promise<LogSource> {
  const source = open(file, options.stdin ?? process.stdin)
  const scan = createLogScan()
  let bytes = 0
  let gzip = false
  let sniffed = 0
  let line = 0
  let truncatedLines = 0
  let carry = ''
  let dropping = false
  const decoder = new StringDecoder('utf8')

  const feed = (text: string): void => {
    let start = 0
    for (;;) {
      const nl = text.indexOf('\n', start)
      if (!dropping) {
        carry += nl === -1 ? text.slice(start) : text.slice(start, nl)
        if (carry.length > maxLineChars) {
          carry = carry.slice(0, maxLineChars)
          dropping = true
          truncatedLines++
        }
      }
      if (nl === -1) return
      scan.push(carry, ++line)
      carry = ''
      dropping = false
      start = nl + 1
    }
  }

  const take = (chunk: Buffer): void => {
    if (sniffed < sniffBytes) {
      const head = chunk.subarray(0, sniffBytes - sniffed)
      if (head.includes(0)) throw new UsageError(`--log ${file}: is a binary file (a NUL byte in its first ${sniffBytes / 1024} KiB${gzip ? ' after decompressing' : ''}), not a proxy log. ${fix}`)
      sniffed += head.length
    }
    feed(decoder.write(chunk))
  }

  try {
    const it = source[Symbol.asyncIterator]()
    const first = await it.next()
    if (!first.done) {
      const head = Buffer.from(first.value)
      bytes += head.length
      gzip = head[0] === 0x1f && head[1] === 0x8b
      if (gzip) {
        async function* raw(): AsyncGenerator<Buffer> {
          yield head
          for (let n = await it.next(); !n.done; n = await it.next()) {
            bytes += n.value.length
            yield n.value
          }
        }
        const gunzip = createGunzip()
        const input = Readable.from(raw())
        input.on('error', (err) => gunzip.destroy(err))
        input.pipe(gunzip)
        try {
          for await (const chunk of gunzip) take(chunk as Buffer)
        } catch (err) {
          if (err instanceof UsageError) throw err
          const code = (err as NodeJS.ErrnoException).code
          if (typeof code === 'string' && code.startsWith('Z_')) throw new UsageError(`--log ${file}: starts like a gzip file but cannot be decompressed (${(err as Error).message}). Decompress it yourself or give the plain log.`)
          throw err
        } finally {
          input.destroy()
          gunzip.destroy()
        }
      } else {
        take(head)
        for (let n = await it.next(); !n.done; n = await it.next()) {
          bytes += n.value.length
          take(n.value)
        }
      }
    }
  } catch (err) {
    if (err instanceof UsageError) throw err
    // A system error opening or reading the file (EACCES, EISDIR, EIO…).
    if (/^E[A-Z]+$/.test(String((err as NodeJS.ErrnoException).code))) throw openError(file, err)
    throw err
  }
  feed(decoder.end())
  if (carry !== '' || dropping) scan.push(carry, ++line)
  const summary = scan.finish()
  if (bytes === 0) throw new UsageError(`--log ${file}: is empty: there is nothing to read. ${fix}`)
  if (summary.records === 0) {
    throw new UsageError(`--log ${file}: no line is a proxy log line (\`YYYY-MM-DD HH:MM:SS,mmm - logger - LEVEL - message\`, as qcc and qcc-lab write them) in its ${summary.lines} line(s). ${fix}`)
  }
  return { file, bytes, gzip, truncatedLines, summary }
}
