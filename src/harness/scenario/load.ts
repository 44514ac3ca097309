/** Finds a scenario by name (in the bundled `scenarios/` folder) or by path, and parses it. */
import { readFile, readdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ScenarioError, UsageError } from '../../shared/errors.ts'
import { parseScenario } from './parse.ts'
import type { Scenario } from './schema.ts'

/** The bundled scenarios folder (`<package>/scenarios`). */
export const bundledScenarioDir = fileURLToPath(new URL('../../../scenarios/', import.meta.url))

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
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ScenarioError(shown, [`cannot read the file: ${(err as Error).message}`], { cause: err })
  }
  return parseScenario(text, shown.startsWith('..') ? file : shown, path.basename(file).replace(/\.ya?ml$/, ''))
}
