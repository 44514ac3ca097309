/**
 * One warm-up per process before the first variant's timeline: a throwaway fake upstream and bundled proxy
 * serve a few dozen requests (plain and streamed) through the workload client, so that the code every
 * timeline runs is compiled, and what loads lazily is loaded, before any timeline starts. Why: under a
 * parallel `npm test` the back-to-back requests of stale-keepalive sat idle up to 100-190 ms at the upstream
 * (race-close then acted from 130 ms, the known-idle expiry from 80 ms), most of those stalls in the first 500 ms
 * of a cold process that starts five variants at once. Nothing of it reaches a report: its upstream and
 * proxy are its own, closed before the first variant starts, and a variant collects only its own proxy's
 * events. A subscriber to the public `proxyChannels` sees its 50 requests, under proxy id
 * `qcc-lab-warm-up` (filter on `proxyId`). A failed warm-up is not an error: the variants run cold.
 */
import { startFakeUpstream } from '../../../fake-upstreams/index.ts'
import { startProxy } from '../../proxy/server.ts'
import { runWorkload, type WorkloadSpec } from '../workload/run-workload.ts'

const plain: WorkloadSpec = { requests: 40, concurrency: 2, stream: false, burst: 40, gapMs: 0, requestTimeoutMs: 5_000, maxDurationMs: 10_000 }
const streamed: WorkloadSpec = { ...plain, requests: 10, stream: true }

let warmed: Promise<void> | undefined

/** Resolves once this process is warm; the first call does the work, later ones share it. */
export function warmUp(): Promise<void> {
  warmed ??= run().catch(() => {})
  return warmed
}

async function run(): Promise<void> {
  const upstream = await startFakeUpstream({ name: 'qcc-lab-warm-up' })
  try {
    const proxy = await startProxy({
      port: 0,
      id: 'qcc-lab-warm-up',
      cluster: { name: 'qcc-lab-warm-up', endpoints: [{ baseUrl: upstream.url, apiKey: 'sk-qcc-lab-warm-up-0' }], connector: { profile: 'tuned-keepalive' } },
    })
    try {
      await runWorkload(plain, proxy.url, { requestIdPrefix: 'qcc-lab-warm-up' })
      await runWorkload(streamed, proxy.url, { requestIdPrefix: 'qcc-lab-warm-up-stream' })
    } finally {
      await proxy.close()
    }
  } finally {
    await upstream.close()
  }
}
