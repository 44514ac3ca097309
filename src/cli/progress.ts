/** What the CLI's progress printers (run, probe) share: where they write and their clock, injectable in tests. */
import { performance } from 'node:perf_hooks'

/** Where progress goes (stderr), as far as a printer needs it. */
export interface ProgressStream {
  write(text: string): unknown
  readonly isTTY?: boolean
  readonly columns?: number
}

/** A repeating timer; returns its cancel. */
export type Every = (fn: () => void, ms: number) => () => void

export interface ProgressClock {
  readonly now?: () => number
  readonly every?: Every
}

/** The clock a printer runs on: the injected one, or performance.now() and an unref'd setInterval. */
export function progressClock(options: ProgressClock): { now: () => number; every: Every } {
  return {
    now: options.now ?? (() => performance.now()),
    every: options.every ?? ((fn, ms) => {
      const timer = setInterval(fn, ms).unref()
      return () => clearInterval(timer)
    }),
  }
}
