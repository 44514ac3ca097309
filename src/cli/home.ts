/**
 * qcc-lab's home folder (`--home`, `QCC_LAB_HOME`, default `~/.qcc-lab`) and proxy pid files in it.
 *
 * A pid file proves whose it is before anything signals its pid: it records the process's start time as
 * Linux gives it (`/proc/<pid>/stat` field 22, clock ticks since boot), and the process must still be a
 * node process running qcc-lab's `proxy start`. Without /proc the command line from `ps` is checked.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export function homeDir(flag: string | undefined): string {
  const dir = flag ?? process.env.QCC_LAB_HOME ?? path.join(os.homedir(), '.qcc-lab')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  return dir
}

export interface PidRecord {
  readonly pid: number
  readonly host: string
  readonly port: number
  readonly url: string
  readonly start_time: string
  readonly cluster: string
  readonly config: string
  /** `/proc/<pid>/stat` field 22 (starttime, clock ticks since boot) where /proc exists. */
  readonly proc_starttime?: number
}

export const pidFile = (home: string, port: number): string => path.join(home, `proxy-${port}.pid`)

export function writePid(home: string, record: PidRecord): string {
  const file = pidFile(home, record.port)
  // Written whole, then renamed into place: a reader never sees half a pid file.
  const tmp = path.join(home, `.proxy-${record.port}.pid.${process.pid}.tmp`)
  writeFileSync(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 })
  renameSync(tmp, file)
  return file
}

export function readPid(file: string): PidRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as PidRecord
    // pid 0 and negative pids name process groups (kill(-1) is every process): never accept them.
    return Number.isSafeInteger(r.pid) && r.pid > 1 && typeof r.port === 'number' ? r : undefined
  } catch {
    return undefined
  }
}

/** Pid files in `home`, optionally for one port only. */
export function pidFiles(home: string, port?: number): string[] {
  if (port !== undefined) return [pidFile(home, port)]
  try {
    return readdirSync(home).filter((f) => /^proxy-\d+\.pid$/.test(f)).map((f) => path.join(home, f))
  } catch {
    return []
  }
}

const defaultProcRoot = '/proc'

/** `<procRoot>/<pid>/stat` field 22: when the process started, in clock ticks since boot. */
export function procStartTime(pid: number, procRoot = defaultProcRoot): number | undefined {
  return readStat(pid, procRoot)?.starttime
}

function readStat(pid: number, procRoot: string): { state: string; starttime: number } | undefined {
  let stat: string
  try {
    stat = readFileSync(path.join(procRoot, String(pid), 'stat'), 'utf8')
  } catch {
    return undefined
  }
  // Field 2 (comm) is in parentheses and may hold spaces and parentheses itself: fields 3… follow the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const starttime = Number(rest[19])
  return Number.isSafeInteger(starttime) ? { state: rest[0] ?? '', starttime } : undefined
}

/** A qcc-lab proxy's command line: node (any name node*), a qcc-lab script, then `proxy start`. */
export function isProxyCommandLine(argv: readonly string[]): boolean {
  if (argv.length < 4 || !/^node[\w.-]*$/i.test(path.basename(argv[0]!))) return false
  const script = argv.findIndex((a, i) => i > 0 && /qcc-lab/.test(path.basename(a)))
  if (script < 0) return false
  const proxy = argv.indexOf('proxy', script + 1)
  return proxy > 0 && argv[proxy + 1] === 'start'
}

/** The same test on `ps -o command=` output, where arguments are joined by spaces. */
function isProxyCommandText(command: string): boolean {
  return /^(\S*\/)?node[\w.-]*\s/i.test(command) && /(^|[\s/])[^\s/]*qcc-lab[^\s/]*\s(.*\s)?proxy\s+start(\s|$)/.test(command)
}

export type PidCheck =
  | { readonly status: 'ours' }
  | { readonly status: 'dead' }
  /** Alive, but not provably this proxy: never signal it. `reason` ends the sentence "pid N …". */
  | { readonly status: 'other'; readonly command: string; readonly reason: 'reused' | 'no-start-time' | 'uninspectable' }

const shown = (command: string): string => (command.length > 160 ? `${command.slice(0, 157)}...` : command)

/**
 * Is `rec.pid` still the process that wrote the pid file? Only `ours` may be signalled. `procRoot`
 * is for tests: a folder without `self/stat` means "no /proc here" and the `ps` fallback is used.
 */
export function checkPidRecord(rec: PidRecord, options: { readonly procRoot?: string } = {}): PidCheck {
  if (!isAlive(rec.pid)) return { status: 'dead' }
  const procRoot = options.procRoot ?? defaultProcRoot
  if (existsSync(path.join(procRoot, 'self', 'stat'))) {
    const stat = readStat(rec.pid, procRoot)
    let argv: string[] | undefined
    try {
      argv = readFileSync(path.join(procRoot, String(rec.pid), 'cmdline'), 'utf8').split('\0').filter((a, i, all) => a !== '' || i < all.length - 1)
    } catch { /* gone, or hidden from this user */ }
    if (!stat || argv === undefined) return isAlive(rec.pid) ? { status: 'other', command: `no readable ${procRoot}/${rec.pid}`, reason: 'uninspectable' } : { status: 'dead' }
    if (stat.state === 'Z' || stat.state === 'X') return { status: 'dead' }
    const command = shown(argv.join(' '))
    if (!isProxyCommandLine(argv)) return { status: 'other', command, reason: 'reused' }
    if (rec.proc_starttime === undefined) return { status: 'other', command, reason: 'no-start-time' }
    return stat.starttime === rec.proc_starttime ? { status: 'ours' } : { status: 'other', command, reason: 'reused' }
  }
  let command: string
  try {
    command = execFileSync('ps', ['-o', 'command=', '-p', String(rec.pid)], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch (err) {
    // ps exits 1 when there is no such process; anything else (no ps at all) proves nothing.
    if (!isAlive(rec.pid)) return { status: 'dead' }
    return { status: 'other', command: (err as { status?: number }).status === 1 ? 'ps does not list it' : `ps failed: ${(err as Error).message.split('\n')[0]}`, reason: 'uninspectable' }
  }
  if (command === '') return isAlive(rec.pid) ? { status: 'other', command: 'ps shows no command line', reason: 'uninspectable' } : { status: 'dead' }
  return isProxyCommandText(command) ? { status: 'ours' } : { status: 'other', command: shown(command), reason: 'reused' }
}

/** One line for a pid file that was not signalled because its pid is not provably this proxy. */
export function describeNotOurs(rec: PidRecord, check: Extract<PidCheck, { status: 'other' }>): string {
  const what = check.reason === 'reused'
    ? `is not this proxy any more (it is now \`${check.command}\`)`
    : check.reason === 'no-start-time'
      ? `cannot be proven to be this proxy: its pid file records no start time (it is \`${check.command}\`); it was not signalled`
      : `cannot be inspected (${check.command}); it was not signalled`
  return `port ${rec.port}: pid ${rec.pid} ${what}; removed the stale pid file`
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function removePid(file: string): void {
  rmSync(file, { force: true })
}
