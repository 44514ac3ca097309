/** Finds a scenario by name (in the bundled `scenarios/` folder) or by path, and parses it. */
import { readdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { ScenarioError, UsageError } from '../../shared/errors.ts'
import { inputLimits, readInputFile } from '../../shared/input-file.ts'
import { packagePath } from '../../shared/package-root.ts'
import { parseScenario } from './parse.ts'
import type { Scenario } from './schema.ts'

/** The bundled scenarios folder (`<package>/scenarios`). */
export const bundledScenarioDir = `${packagePath('scenarios')}${path.sep}`

export async function listBundledScenarios(): Promise<string[]> {
  const files = await readdir(bundledScenarioDir).catch(() => [] as string[])
  return files.filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).map((f) => f.replace(/\.ya?ml$/, '')).sort()
}

/** Resolves `nameOrPath` to a file: an existing path wins, else `scenarios/<name>.yaml`. */
export async function resolveScenarioFile(nameOrPath: string): Promise<string> {
  if (existsSync(nameOrPath)) return nameOrPath
  if (!nameOrPath.includes('/') && !nameOrPath.includes('\\')) {
    for (const ext of ['.yaml', '.yml']) {
      const candidate = path.join(bundledScenarioDir, `${nameOrPath}${ext}`)
      if (existsSync(candidate)) return candidate
    }
  }
  const known = await listBundledScenarios()
  throw new UsageError(`Failed to find scenario "${nameOrPath}": no such file and no bundled scenario by that name. Bundled: ${known.join(', ') || '(none)'}.`)
}

export async function loadScenario(nameOrPath: string): Promise<Scenario> {
  const file = await resolveScenarioFile(nameOrPath)
  const shown = path.relative(process.cwd(), file) || file
  const named = shown.startsWith('..') ? file : shown
  // A FIFO or a directory is refused before it is opened; a huge file before it is read.
  const read = readInputFile(file, { maxBytes: inputLimits.yaml, what: 'scenario YAML file' })
  if (!read.ok) throw new ScenarioError(named, [read.problem])
  return parseScenario(read.text, named, path.basename(file).replace(/\.ya?ml$/, ''))
}
