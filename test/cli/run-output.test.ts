/**
 * What `qcc-lab run` prints for a person: progress on stderr (a live line on a terminal; piped, a line
 * when a long variant starts, every 5 s while it runs, also through pauses when no request completes,
 * and when it ends), a report that fits 80 columns when piped (or `COLUMNS`), and `--repeat` counts
 * that say what they count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { progressHarness } from '../helpers/progress-harness.ts'
import type { RunEvent } from '../../src/harness/runner/run-scenario.ts'
import { runCli } from '../helpers/cli.ts'
import { raceCloseScenario } from '../helpers/race-scenario.ts'

const plain = (text: string): string => text.replace(/\u001b\[[0-9;]*m/g, '')

const harness = progressHarness

const start = (expectedMs: number): RunEvent => ({ type: 'variant-start', scenario: 'breaker-recovery', variant: 'tuned-keepalive-known-idle', repeat: 0, expectedMs })
const progress = (done: number): RunEvent => ({ type: 'progress', scenario: 'breaker-recovery', variant: 'tuned-keepalive-known-idle', repeat: 0, done, total: 10 })
const end = (durationMs: number): RunEvent => ({ type: 'variant-end', scenario: 'breaker-recovery', variant: 'tuned-keepalive-known-idle', repeat: 0, durationMs })

describe('progress lines', () => {
  it('piped: a line when a long variant starts, one every 5 s even while no request completes, one at the end', () => {
    const h = harness(false)
    h.printer.onEvent(start(31_000))
    // Wrapped to 80 columns, the width of a pipe.
    expect(h.take()).toEqual(['  running breaker-recovery › tuned-keepalive-known-idle: its timeline takes\n    at least 31 s\n'])
    h.printer.onEvent(progress(5))
    expect(h.take()).toEqual([]) // counted, printed with the next line
    h.advance(4_999)
    expect(h.take()).toEqual([])
    h.advance(5_000)
    expect(h.take()).toEqual(['  … breaker-recovery › tuned-keepalive-known-idle 5/10 requests, 5 s so far\n'])
    // A 30 s pause: no request completes, a line every 5 s all the same.
    h.advance(30_000)
    expect(h.take()).toHaveLength(5)
    h.printer.onEvent(end(31_250))
    expect(h.take()).toEqual(['  ran breaker-recovery › tuned-keepalive-known-idle in 31.3 s\n'])
    expect(h.active()).toBe(0)
    h.advance(60_000)
    expect(h.take()).toEqual([])
  })

  it('piped: a quick variant prints only its end line, and never a terminal control code', () => {
    const h = harness(false)
    h.printer.onEvent(start(0))
    h.printer.onEvent(progress(10))
    h.advance(1_400)
    h.printer.onEvent(end(1_400))
    const out = h.take()
    expect(out).toEqual(['  ran breaker-recovery › tuned-keepalive-known-idle in 1.4 s\n'])
    expect(out.join('')).not.toMatch(/[\r\u001b]/)
  })

  it('on a terminal: one live line, redrawn every second and cut to the width, cleared at the end', () => {
    const h = harness(true, 40)
    h.printer.onEvent(start(31_000))
    const [notice, first] = h.take()
    // The long-timeline notice stays (it ends with a newline), wrapped to the width.
    expect(notice).toBe('\r\u001b[2K  breaker-recovery ›\n    tuned-keepalive-known-idle: its\n    timeline takes at least 31 s\n')
    h.printer.onEvent(progress(3))
    h.advance(2_000)
    const live = [first!, ...h.take()]
    expect(live).toHaveLength(4) // drawn at the start, on progress, and at 1 s and 2 s
    for (const l of live) {
      expect(l.startsWith('\r\u001b[2K')).toBe(true)
      expect(l.slice(5)).not.toMatch(/\n/)
      expect(plain(l.slice(5)).length).toBeLessThan(40)
    }
    expect(live.at(-1)).toBe('\r\u001b[2K  breaker-recovery › tuned-keepalive-k…')
    h.printer.onEvent(end(2_000))
    expect(h.take()).toEqual(['\r\u001b[2K'])
    expect(h.active()).toBe(0)
  })

  it('stop() mid-variant (the run threw) cancels the timer and clears the live line', () => {
    const h = harness(true, 80)
    h.printer.onEvent(start(0))
    h.take()
    h.printer.stop()
    expect(h.take()).toEqual(['\r\u001b[2K'])
    expect(h.active()).toBe(0)
  })

  it('on a wide terminal the live line says the requests done and the seconds so far', () => {
    const h = harness(true, 120)
    h.printer.onEvent(start(0))
    h.printer.onEvent(progress(3))
    h.advance(1_000)
    expect(h.take().at(-1)).toBe('\r\u001b[2K  breaker-recovery › tuned-keepalive-known-idle 3/10 requests, 1 s so far')
  })
})

let dir: string
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-run-output-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('qcc-lab run, piped', () => {
  it('prints a progress line during a 6 s pause, and a report that fits 80 columns', async () => {
    // Two requests 6 s apart: the 5 s line falls inside the pause, when no request completes (the
    // second one starts after it), so it says 0 or 1 of 2 done.
    const file = path.join(dir, 'slow.yaml')
    await writeFile(file, `
description: two requests with a long pause
upstreams:
  - name: relay
workload:
  requests: 2
  pacing: { burst: 1, gapMs: 6000 }
variants:
  - name: paused-requests-with-a-long-name
    connector: tuned-keepalive
    expect: ["failures.total == 0"]
`)
    const r = await runCli(['run', file], { timeoutMs: 60_000, env: { COLUMNS: '' } })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/^ {2}running slow › paused-requests-with-a-long-name: its timeline takes\n {4}at least 6 s$/m)
    expect(r.stderr).toMatch(/^ {2}… slow › paused-requests-with-a-long-name [01]\/2 requests, \d+ s so far$/m)
    expect(r.stderr).toMatch(/^ {2}ran slow › paused-requests-with-a-long-name in \d+\.\d s$/m)
    expect(r.stderr).not.toMatch(/[\r\u001b]/)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines.filter((l) => [...l].length > 80)).toEqual([])
    expect(r.stdout).toMatch(/^✓ {2}paused-requests-with-a-long-name /m)
    expect(r.stdout).toMatch(/^ {4}✓ failures\.total == 0 \(expected == 0, got 0\)$/m)
  })

  it('lays out for COLUMNS, and labels the --repeat counts as runs held', async () => {
    const file = path.join(dir, 'repeat.yaml')
    await writeFile(file, raceCloseScenario('a relay that closes every reused connection as a request arrives', [
      { name: 'naive', connector: 'naive-keepalive', expect: ['attempts.staleSocket >= 1', 'failures.total == 0'] },
      { name: 'tuned', connector: 'tuned-keepalive', expect: ['failures.total == 0'] },
    ]))
    const r = await runCli(['run', file, '--repeat', '2', '--no-progress'], { timeoutMs: 60_000, env: { COLUMNS: '200' } })
    expect(r.code).toBe(1)
    // A failed run's table is printed, full width.
    expect(r.stdout).toMatch(/^ +variant +requests +attempts +stale-socket +client failures +upstream recv +upstream conns +req\/conn +retries +p50 ms +p99 ms$/m)
    expect(r.stdout.split('\n').filter((l) => [...l].length > 200)).toEqual([])
    expect(r.stdout).toMatch(/^ {2}✓ repeat\/naive: fail in every run; 3 client failures in every run\n {6}held 2\/2 runs: attempts\.staleSocket >= 1\n {6}held 0\/2 runs: failures\.total == 0$/m)
    expect(r.stdout).toMatch(/^ {2}✓ repeat\/tuned: pass in every run; 0 client failures in every run\n {6}all 1 expectation held in 2\/2 runs$/m)
  })
})
