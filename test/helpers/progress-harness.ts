/** `run`'s progress printer on a stream that records what was written, its repeating timers driven by hand on a fake clock. */
import { progressPrinter } from '../../src/cli/commands/run.ts'

export function progressHarness(isTTY: boolean, columns?: number) {
  const chunks: string[] = []
  let now = 0
  const timers: Array<{ fn: () => void; ms: number; next: number; cancelled: boolean }> = []
  const printer = progressPrinter({ write: (t: string) => chunks.push(t), isTTY, columns }, {
    now: () => now,
    every: (fn, ms) => {
      const t = { fn, ms, next: now + ms, cancelled: false }
      timers.push(t)
      return () => { t.cancelled = true }
    },
  })
  /** Moves the clock to `to` ms, firing each timer that falls due on the way, in order. */
  const advance = (to: number): void => {
    for (;;) {
      const due = timers.filter((t) => !t.cancelled && t.next <= to).sort((a, b) => a.next - b.next)[0]
      if (!due) break
      now = due.next
      due.next += due.ms
      due.fn()
    }
    now = to
  }
  const take = (): string[] => chunks.splice(0)
  return { printer, advance, take, active: () => timers.filter((t) => !t.cancelled).length }
}
