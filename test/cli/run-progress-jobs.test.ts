/**
 * The progress printer with several variants running at once (`qcc-lab run --jobs`): on a terminal one
 * live line naming them all, kept while any still runs and drawn again under a result printed meanwhile;
 * piped, every line names its variant (and its run, with --repeat), each variant with its own 5 s lines.
 */
import { describe, expect, it } from 'vitest'
import { progressHarness } from '../helpers/progress-harness.ts'
import type { RunEvent } from '../../src/harness/runner/run-scenario.ts'

const harness = progressHarness

const start = (scenario: string, variant: string, expectedMs = 0, repeat = 0): RunEvent => ({ type: 'variant-start', scenario, variant, repeat, expectedMs })
const progress = (scenario: string, variant: string, done: number, repeat = 0): RunEvent => ({ type: 'progress', scenario, variant, repeat, done, total: 40 })
const end = (scenario: string, variant: string, durationMs: number, repeat = 0): RunEvent => ({ type: 'variant-end', scenario, variant, repeat, durationMs })
const clear = '\r\u001b[2K'

describe('progress with several variants at once, on a terminal', () => {
  it('names every running variant on the live line, the oldest in full, each scenario once in a row', () => {
    const h = harness(true, 200)
    h.printer.onEvent(start('stale-keepalive', 'contract'))
    h.printer.onEvent(start('stale-keepalive', 'naive-keepalive'))
    h.printer.onEvent(start('seed-502-chain', 'tuned-default'))
    h.printer.onEvent(progress('stale-keepalive', 'contract', 12))
    h.printer.onEvent(progress('stale-keepalive', 'naive-keepalive', 8))
    h.advance(2_000)
    expect(h.take().at(-1)).toBe(`${clear}  3 running: stale-keepalive › contract 12/40 requests, 2 s so far · naive-keepalive 8/40 · seed-502-chain › tuned-default started`)
    expect(h.active()).toBe(1) // one timer for the live line, however many run
  })

  it('keeps the live line while any variant still runs, and clears it after the last', () => {
    const h = harness(true, 120)
    h.printer.onEvent(start('stale-keepalive', 'contract'))
    h.printer.onEvent(start('stale-keepalive', 'force-close'))
    h.take()
    h.printer.onEvent(end('stale-keepalive', 'contract', 1_400))
    expect(h.take()).toEqual([`${clear}  stale-keepalive › force-close started, 0 s so far`])
    h.printer.onEvent(end('stale-keepalive', 'force-close', 1_400))
    expect(h.take()).toEqual([clear])
    expect(h.active()).toBe(0)
  })

  it('prints a result above the live line and draws the line again under it', () => {
    const h = harness(true, 120)
    const out: string[] = []
    h.printer.onEvent(start('slow-stream', 'contract'))
    h.take()
    h.printer.above(() => { out.push('PASS stale-keepalive …') })
    expect(out).toEqual(['PASS stale-keepalive …'])
    expect(h.take()).toEqual([clear, `${clear}  slow-stream › contract started, 0 s so far`])
    h.printer.onEvent(end('slow-stream', 'contract', 3_600))
    h.take()
    // Nothing running: the result alone.
    h.printer.above(() => { out.push('PASS slow-stream …') })
    expect(h.take()).toEqual([])
  })

  it('tells two runs of one variant apart (--repeat) and ends the one that ended', () => {
    const h = harness(true, 120)
    h.printer.onEvent(start('stale-keepalive', 'contract', 0, 0))
    h.printer.onEvent(start('stale-keepalive', 'contract', 0, 1))
    h.printer.onEvent(progress('stale-keepalive', 'contract', 5, 1))
    expect(h.take().at(-1)).toBe(`${clear}  2 running: stale-keepalive › contract started, 0 s so far · contract (run 2) 5/40`)
    h.printer.onEvent(end('stale-keepalive', 'contract', 1_400, 0))
    expect(h.take()).toEqual([`${clear}  stale-keepalive › contract (run 2) 5/40 requests, 0 s so far`])
  })

  it('stop() mid-run clears the line and cancels every timer', () => {
    const h = harness(true, 80)
    h.printer.onEvent(start('a', 'x'))
    h.printer.onEvent(start('b', 'y'))
    h.take()
    h.printer.stop()
    expect(h.take()).toEqual([clear])
    expect(h.active()).toBe(0)
  })
})

describe('progress with several variants at once, piped', () => {
  it('gives each long variant its own start, 5 s and end lines, each naming it, never a control code', () => {
    const h = harness(false)
    h.printer.onEvent(start('breaker-recovery', 'default', 31_000))
    h.advance(2_000)
    h.printer.onEvent(start('upstream-timeout-504', 'qcc-timeouts', 0))
    h.printer.onEvent(progress('breaker-recovery', 'default', 5))
    expect(h.take()).toEqual(['  running breaker-recovery › default: its timeline takes at least 31 s\n'])
    h.advance(5_000)
    expect(h.take()).toEqual(['  … breaker-recovery › default 5/40 requests, 5 s so far\n'])
    h.advance(7_000)
    expect(h.take()).toEqual(['  … upstream-timeout-504 › qcc-timeouts started, 5 s so far\n'])
    h.printer.onEvent(end('upstream-timeout-504', 'qcc-timeouts', 7_500))
    expect(h.take()).toEqual(['  ran upstream-timeout-504 › qcc-timeouts in 7.5 s\n'])
    h.advance(10_000)
    // Only the one still running has a line.
    expect(h.take()).toEqual(['  … breaker-recovery › default 5/40 requests, 10 s so far\n'])
    h.printer.onEvent(end('breaker-recovery', 'default', 31_000, 0))
    expect(h.take().join('')).not.toMatch(/[\r\u001b]/)
    expect(h.active()).toBe(0)
  })

  it('names the run of a repeated variant', () => {
    const h = harness(false)
    h.printer.onEvent(start('stale-keepalive', 'contract', 0, 2))
    h.printer.onEvent(end('stale-keepalive', 'contract', 1_400, 2))
    expect(h.take()).toEqual(['  ran stale-keepalive › contract (run 3) in 1.4 s\n'])
  })
})
