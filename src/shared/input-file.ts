/**
 * Reads an input file — a scenario, a proxy config, qcc's cache.json or endpoint_groups.json, a target
 * profile, a bench report — without letting the file decide how the process ends:
 *
 * - regular files only: a FIFO would block the read forever, a directory or a device is never what was
 *   meant. It is checked with `stat` before the file is opened, opened with `O_NONBLOCK` (so a file
 *   swapped for a FIFO in between cannot block either) and checked again on the open descriptor;
 * - at most `maxBytes`: a 50 MB YAML list exhausts the heap long before validation could say anything,
 *   so the size is checked before reading, and reading stops one byte past the limit if the file grew.
 *
 * A refusal is returned as one sentence that names what is wrong and what to do; the caller puts its
 * file name in front and throws its own error (exit 2).
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs'

const KiB = 1024
const MiB = 1024 * KiB

/** Size limits per kind of input; real files are a few kilobytes (scenarios, configs) or megabytes (reports). */
export const inputLimits = {
  /** YAML is costly to parse (about 1 s and 200 MB of heap per MiB of short list items). */
  yaml: 1 * MiB,
  /** JSON configs: qcc's cache.json and endpoint_groups.json, a qcc-lab config written as JSON. */
  json: 8 * MiB,
  /** Bench reports (`bench --json`): the full matrix with every round is well under 1 MiB. */
  report: 64 * MiB,
} as const

export type InputFileRefusal = 'missing' | 'not-a-file' | 'too-big' | 'unreadable'

export type InputFile =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly reason: InputFileRefusal; readonly problem: string }

/** `1.5 MiB`, `12.0 KiB`, `300 bytes`. */
export function formatBytes(n: number): string {
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`
  if (n >= KiB) return `${(n / KiB).toFixed(1)} KiB`
  return `${n} byte${n === 1 ? '' : 's'}`
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory'
  if (st.isFIFO()) return 'a named pipe (FIFO)'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device'
  return 'not a regular file'
}

/**
 * The file's text (UTF-8, a leading byte-order mark dropped), or why it was refused. `what` names the
 * expected content in the fix, e.g. `scenario YAML file` or `bench report (qcc-lab bench --json)`.
 */
export function readInputFile(file: string, options: { readonly maxBytes: number; readonly what: string }): InputFile {
  const { maxBytes, what } = options
  const refuse = (reason: InputFileRefusal, problem: string): InputFile => ({ ok: false, reason, problem })
  const notAFile = (st: Stats): InputFile => refuse('not-a-file', `is ${kindOf(st)}, not a regular file. Give the path of a ${what}.`)
  const tooBig = (size: string): InputFile => refuse('too-big', `is ${size}; a ${what} is at most ${formatBytes(maxBytes)}. Check that this is the right file.`)
  const failed = (err: unknown): InputFile => {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return refuse('missing', 'cannot read the file: it does not exist. Check the path.')
    if (code === 'ENOTDIR') return refuse('missing', 'cannot read the file: a part of its path is not a directory. Check the path.')
    if (code === 'EACCES' || code === 'EPERM') return refuse('unreadable', `cannot read the file: permission denied (${code}). Check its permissions.`)
    return refuse('unreadable', `cannot read the file: ${(err as Error).message}.`)
  }

  let st: Stats
  try {
    st = statSync(file)
  } catch (err) {
    return failed(err)
  }
  if (!st.isFile()) return notAFile(st)
  if (st.size > maxBytes) return tooBig(formatBytes(st.size))

  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  } catch (err) {
    return failed(err)
  }
  try {
    const opened = fstatSync(fd)
    if (!opened.isFile()) return notAFile(opened)
    if (opened.size > maxBytes) return tooBig(formatBytes(opened.size))
    // Read to the end (a file may be longer than stat said, e.g. under /proc, or growing), one byte past
    // the limit at most.
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(opened.size - total, 64 * KiB), maxBytes + 1 - total))
      const n = readSync(fd, chunk, 0, chunk.length, null)
      if (n === 0) break
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n))
      total += n
      if (total > maxBytes) return tooBig(`larger than ${formatBytes(maxBytes)} (it grew while being read)`)
    }
    const text = Buffer.concat(chunks, total).toString('utf8')
    return { ok: true, text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text }
  } catch (err) {
    return failed(err)
  } finally {
    closeSync(fd)
  }
}
