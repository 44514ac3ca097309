/**
 * The probe against a fake upstream whose idle close, RTT and races are known, and the checks its
 * estimates must pass. Tolerances follow from the probe's method, never from this machine's speed:
 * - the bound, max(one RTT, 5 %), on the estimate's error;
 * - the probe's own claim: the true timeout lies within estimate ± resolution, and that resolution is
 *   itself within the bound (the narrowing aims for half of it; stalls of this machine are left out or
 *   counted into it).
 * Used by test/field/probe-relay*.test.ts: three files so that their timelines (5 s idle closes, 1 s
 * races) run at once, each in its own process.
 */
import { expect } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { startFakeUpstream, type FaultSpec } from '../../fake-upstreams/index.ts'
import { selfSignedCertificate } from '../../src/shared/self-signed.ts'
import { resolveTarget } from '../../src/field/probe/target.ts'
import { runProbe, type ProbeOptions } from '../../src/field/probe/run-probe.ts'
import type { ProbeReport } from '../../src/field/probe/report.ts'

export const RTT = 20

/** Waits (bounded) until the upstream has no connection left open: the probe leaked none. */
export async function noConnectionsLeft(up: { openConnections(): number }): Promise<number> {
  for (let i = 0; i < 100 && up.openConnections() > 0; i++) await sleep(20)
  return up.openConnections()
}

export async function probeFake(faults: FaultSpec[], options: { tls?: boolean; rttMs?: number; probe?: Partial<ProbeOptions> } = {}): Promise<ProbeReport> {
  await using up = await startFakeUpstream({ faults, networkRttMs: options.rttMs ?? RTT, tls: options.tls ? await selfSignedCertificate() : undefined })
  const report = await runProbe({ target: resolveTarget(up.url, { insecure: true }), maxRequests: 20, ...options.probe })
  expect(await noConnectionsLeft(up)).toBe(0)
  return report
}

/** The estimate is within max(RTT, 5 %) of the fake's timeout, within its own resolution, and that resolution is within the bound too. */
export function expectFound(report: ProbeReport, kind: 'observed-close' | 'close-on-use', truthMs: number): void {
  const idle = report.idle
  expect(idle.kind).toBe(kind)
  if (idle.kind !== 'observed-close' && idle.kind !== 'close-on-use') return
  const bound = Math.max(RTT, 0.05 * truthMs)
  expect(Math.abs(idle.estimateMs - truthMs)).toBeLessThanOrEqual(bound)
  // (1e-9: the difference of two decimals in floating point, e.g. 1002.1 - 1000 = 2.1000000000000227.)
  expect(Math.abs(idle.estimateMs - truthMs)).toBeLessThanOrEqual(idle.resolutionMs + 1e-9)
  expect(idle.resolutionMs).toBeLessThanOrEqual(bound)
}

/** Force-close costs this many RTTs: the measured cost, rounded to whole RTTs of the injected one. */
export const rtts = (costMs: number): number => Math.round(costMs / RTT)

