/**
 * Where qcc-lab's own files are, from a clone (sources run as .ts) or an installed package (built .js under
 * dist/): the folder holding its package.json, and the extension its modules carry. Bundled assets (scenarios/,
 * schemas/, bin/) are found from here, never by counting `../` from a module that moves when it is built.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'qcc-lab') return dir
      } catch {
        // not ours; keep walking up
      }
    }
    if (dirname(dir) === dir) throw new Error(`qcc-lab: no package.json named qcc-lab above ${from}`)
  }
}

/** The folder holding qcc-lab's package.json. */
export const packageRoot: string = findRoot(dirname(fileURLToPath(import.meta.url)))

/** `.ts` when running from sources, `.js` when running the build: for modules started as separate processes. */
export const moduleExtension: '.ts' | '.js' = import.meta.url.endsWith('.ts') ? '.ts' : '.js'

/** A file shipped with qcc-lab, by its path from the package root. */
export function packagePath(...parts: string[]): string {
  return join(packageRoot, ...parts)
}

/** The `qcc-lab` launcher that runs this same copy (a child such as `proxy start --detach` is started with it). */
export const launcherPath: string = packagePath('bin', 'qcc-lab.js')
