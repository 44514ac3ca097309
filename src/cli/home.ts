/** qcc-lab's home folder (`--home`, `QCC_LAB_HOME`, default `~/.qcc-lab`) and proxy pid files in it. */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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
}

export const pidFile = (home: string, port: number): string => path.join(home, `proxy-${port}.pid`)

export function writePid(home: string, record: PidRecord): string {
  const file = pidFile(home, record.port)
  writeFileSync(file, `${JSON.stringify(record)}\n`, { mode: 0o600 })
  return file
}

export function readPid(file: string): PidRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as PidRecord
    return typeof r.pid === 'number' && typeof r.port === 'number' ? r : undefined
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
