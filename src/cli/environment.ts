/** Facts about this machine and the libraries in use, recorded in every report. */
import { createRequire } from 'node:module'
import os from 'node:os'
import type { RunReport } from '../harness/report/types.ts'
import { packagePath } from '../shared/package-root.ts'

const require = createRequire(import.meta.url)

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

export function qccLabVersion(): string {
  return (require(packagePath('package.json')) as { version: string }).version
}

export function environment(): RunReport['environment'] {
  return {
    node: process.versions.node,
    undici: packageVersion('undici'),
    undiciBundled: process.versions.undici ?? 'unknown',
    qccLab: qccLabVersion(),
    platform: process.platform,
    arch: process.arch,
    cpus: os.availableParallelism(),
  }
}

/** Colour only on a terminal, never under NO_COLOR (https://no-color.org); FORCE_COLOR forces it. */
export function useColor(stream: NodeJS.WriteStream, flag: boolean | undefined): boolean {
  if (flag === false) return false
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false
  return stream.isTTY === true
}

/**
 * The columns human output is laid out for: `COLUMNS` when set (as most tools read it), else the
 * terminal's width, else 80 (a pipe, a CI log). Never below 40.
 */
export function outputWidth(stream: { readonly isTTY?: boolean; readonly columns?: number }): number {
  const env = Number(process.env.COLUMNS)
  if (Number.isInteger(env) && env > 0) return Math.max(40, env)
  if (stream.isTTY === true && (stream.columns ?? 0) > 0) return Math.max(40, stream.columns!)
  return 80
}
