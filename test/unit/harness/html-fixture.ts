/**
 * A run record shaped as the runner writes one for stale-keepalive, small enough to read: two requests
 * on connection #1, an idle gap, then r2 written onto it as the relay closes it (FIN, race-close).
 * `retried`: the tuned connector sends r2 again on a fresh connection #2 (the client never sees it);
 * otherwise the naive one gives up and the client gets a 502.
 */
import { resolveConnector } from '../../../src/proxy/connector/profiles.ts'
import { bundledConstants } from '../../../src/harness/scenario/constants.ts'
import { summarizeVariant } from '../../../src/harness/report/summarize.ts'
import { buildRunReport } from '../../../src/harness/report/build-report.ts'
import { summarizeScenario } from '../../../src/harness/report/summarize-scenario.ts'
import type { VariantRecord } from '../../../src/harness/runner/record.ts'
import type { RunReport, VariantReport } from '../../../src/harness/report/types.ts'
import type { AttemptEvent } from '../../../src/proxy/events.ts'

const attempt = (requestId: string, outcome: AttemptEvent['outcome'], atMs: number, over: Partial<AttemptEvent> = {}): AttemptEvent & { atMs: number } => ({
  proxyId: 'p', requestId, attempt: 1, endpointId: 'ep1', outcome, status: outcome === 'ok' ? 200 : undefined, reusedConnection: false, staleRetry: false, durationMs: 1, atMs, ...over,
})

export function staleRecord(options: { readonly retried: boolean; readonly name?: string } = { retried: false }): VariantRecord {
  const { retried } = options
  const profile = retried ? 'tuned-keepalive' : 'naive-keepalive'
  return {
    scenario: 'stale-keepalive', variant: options.name ?? profile, mode: 'bundled', connector: resolveConnector({ profile }), seed: 1, repeat: 0, durationMs: 160,
    contract: false,
    constants: bundledConstants({}, { profile }),
    workload: { requests: 4, concurrency: 1, stream: false, burst: 2, gapMs: 147, requestTimeoutMs: 10_000, maxDurationMs: 60_000 },
    // The workload's clock starts 1 ms into the variant, the upstream's 2 ms in.
    workloadOriginMs: 1,
    samples: [
      { index: 0, requestId: 'r0', startMs: 0, latencyMs: 2, status: 200, messageId: 'msg_relay-a_1_r0' },
      { index: 1, requestId: 'r1', startMs: 2, latencyMs: 2, status: 200, messageId: 'msg_relay-a_2_r1' },
      retried
        ? { index: 2, requestId: 'r2', startMs: 149, latencyMs: 6, status: 200, messageId: 'msg_relay-a_3_r2' }
        : { index: 2, requestId: 'r2', startMs: 149, latencyMs: 3, status: 502, errorBody: '{"error":"All 1 endpoints failed"}' },
      { index: 3, requestId: 'r3', startMs: 156, latencyMs: 2, status: 200, messageId: 'msg_relay-a_4_r3' },
    ],
    attempts: [
      attempt('r0', 'ok', 2.5),
      attempt('r1', 'ok', 4.5, { reusedConnection: true }),
      attempt('r2', 'stale-socket', 152.3, { reusedConnection: true, errorMessage: 'other side closed', durationMs: 2.2 }),
      ...(retried ? [attempt('r2', 'ok', 155, { attempt: 2, staleRetry: true, durationMs: 2.5 })] : []),
      attempt('r3', 'ok', 159),
    ],
    requests: [
      { proxyId: 'p', requestId: 'r0', method: 'POST', path: '/v1/messages', status: 200, outcome: 'ok', attempts: 1, durationMs: 1 },
      { proxyId: 'p', requestId: 'r1', method: 'POST', path: '/v1/messages', status: 200, outcome: 'ok', attempts: 1, durationMs: 1 },
      retried
        ? { proxyId: 'p', requestId: 'r2', method: 'POST', path: '/v1/messages', status: 200, outcome: 'ok', attempts: 2, durationMs: 5 }
        : { proxyId: 'p', requestId: 'r2', method: 'POST', path: '/v1/messages', status: 502, outcome: 'stale-socket', attempts: 1, durationMs: 2 },
      { proxyId: 'p', requestId: 'r3', method: 'POST', path: '/v1/messages', status: 200, outcome: 'ok', attempts: 1, durationMs: 1 },
    ],
    endpointStates: [
      { atMs: 0.5, endpointId: 'ep1', tier: 'healthy', breaker: 'closed', health: 'unknown', queued: false },
      ...(retried ? [] : [
        { atMs: 152.2, endpointId: 'ep1', tier: 'degraded', breaker: 'closed', health: 'degraded', queued: false },
        { atMs: 158.5, endpointId: 'ep1', tier: 'healthy', breaker: 'closed', health: 'healthy', queued: false },
      ]),
    ],
    upstreams: [{
      name: 'relay-a',
      url: 'http://127.0.0.1:9',
      originMs: 2,
      connections: [
        { id: 1, openedAtMs: 0, closedAtMs: 150.5, closedBy: 'fault:race-close', serverClose: { kind: 'fin', atMs: 148.4 }, requests: 3 },
        { id: 2, openedAtMs: 149.5, requests: retried ? 2 : 1 },
      ],
      entries: [
        { seq: 1, requestId: 'r0', connectionId: 1, indexOnConnection: 0, idleBeforeMs: 0.2, atMs: 0.2, endAtMs: 0.4, method: 'POST', path: '/v1/messages', outcome: 'answered', status: 200 },
        { seq: 2, requestId: 'r1', connectionId: 1, indexOnConnection: 1, idleBeforeMs: 1.6, atMs: 2, endAtMs: 2.4, method: 'POST', path: '/v1/messages', outcome: 'answered', status: 200 },
        { seq: 3, requestId: 'r2', connectionId: 1, indexOnConnection: 2, idleBeforeMs: 146, atMs: 148.4, endAtMs: 150.5, method: 'POST', path: '/v1/messages', outcome: 'dropped', fault: 'race-close' },
        ...(retried ? [{ seq: 4, requestId: 'r2', connectionId: 2, indexOnConnection: 0, idleBeforeMs: 0.1, atMs: 150.6, endAtMs: 152.8, method: 'POST', path: '/v1/messages', outcome: 'answered' as const, status: 200 }] : []),
        { seq: 5, requestId: 'r3', connectionId: 2, indexOnConnection: retried ? 1 : 0, idleBeforeMs: 0.2, atMs: 155.2, endAtMs: 156, method: 'POST', path: '/v1/messages', outcome: 'answered', status: 200 },
      ],
    }],
    proxyStats: { endpoints: [{ id: 'ep1', base_url: 'http://127.0.0.1:9' }], failure_queue_size: 0 },
  }
}

export function staleVariant(retried: boolean): VariantReport {
  return summarizeVariant(staleRecord({ retried }), [])
}

/** A run report of both variants, as `qcc-lab run --json` writes it. */
export function staleRunReport(): RunReport {
  const variants = [staleVariant(false), staleVariant(true)]
  return buildRunReport({
    scenarios: [summarizeScenario({ name: 'stale-keepalive', file: 'scenarios/stale-keepalive.yaml', description: 'a pooled connection closed under a request' }, variants, { seed: 1, repeat: 0, mode: 'bundled', bundledOnly: [] })],
    repeat: 1,
    startedAt: '2026-12-01T00:00:00.000Z',
    durationMs: 400,
    environment: { node: '24.21.0', undici: '8.13.1', undiciBundled: '7', qccLab: '0.1.0', platform: 'linux', arch: 'x64', cpus: 2 },
  })
}
