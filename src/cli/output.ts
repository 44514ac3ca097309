/**
 * Report files a command writes: `-` means stdout (at most one report may take it), every other path is
 * checked before the run starts (its folder exists and is writable) and written atomically (a temporary
 * file in the same folder, then renamed), so a CI job never finds a half-written or missing report after
 * a long run.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs'
import { rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { UsageError } from '../shared/errors.ts'

/** A file name to suggest when a report flag was given a folder. */
const exampleName: Readonly<Record<string, string>> = { '--json': 'report.json', '--junit': 'junit.xml', '--markdown': 'summary.md', '--html': 'report.html', '--out': 'scenario.schema.json' }

export interface ReportOutput {
  readonly flag: string
  readonly target: string
}

/** Checks every output before anything runs; throws a UsageError naming the flag and the fix. */
export function checkOutputs(outputs: readonly ReportOutput[]): void {
  const toStdout = outputs.filter((o) => o.target === '-')
  if (toStdout.length > 1) throw new UsageError(`${toStdout.map((o) => o.flag).join(' and ')} both write to stdout (-); give one of them a file.`)
  const seen = new Map<string, string>()
  for (const o of outputs) {
    if (o.target === '-') continue
    const file = path.resolve(o.target)
    const other = seen.get(file)
    if (other) throw new UsageError(`${other} and ${o.flag} both write ${o.target}; give each its own file.`)
    seen.set(file, o.flag)
    if (existsSync(file) && statSync(file).isDirectory()) throw new UsageError(`${o.flag} ${o.target}: is a folder; give a file path, e.g. ${path.join(o.target, exampleName[o.flag] ?? 'report.json')}.`)
    const dir = path.dirname(file)
    if (!existsSync(dir)) throw new UsageError(`${o.flag} ${o.target}: the folder ${path.dirname(o.target)} does not exist; create it first (mkdir -p ${path.dirname(o.target)}).`)
    try {
      accessSync(dir, constants.W_OK)
    } catch {
      throw new UsageError(`${o.flag} ${o.target}: the folder ${path.dirname(o.target)} is not writable; pick another path.`)
    }
  }
}

/** Writes one report: to stdout for `-`, else atomically. */
export async function writeOutput(target: string, text: string): Promise<void> {
  if (target === '-') {
    process.stdout.write(text)
    return
  }
  const tmp = path.join(path.dirname(path.resolve(target)), `.${path.basename(target)}.${process.pid}.tmp`)
  try {
    await writeFile(tmp, text)
    await rename(tmp, target)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}
