/** Facts about this machine and the libraries in use, recorded in every report. */
import { createRequire } from 'node:module'
import os from 'node:os'
import type { RunReport } from '../harness/report/types.ts'

const require = createRequire(import.meta.url)

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

export function qccLabVersion(): string {
  return (require('../../package.json') as { version: string }).version
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
