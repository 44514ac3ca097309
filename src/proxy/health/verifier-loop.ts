/**
 * The failure queue's verifier on its interval: every `intervalMs`, each queued endpoint is asked qcc's
 * verification-code prompt on a fresh connection of its own connector (its TLS setting and timeouts,
 * never a pooled socket the upstream may have closed), and let back only when it answers the code.
 */
import type { Cluster } from '../cluster.ts'
import type { ProxyLog } from '../log.ts'
import { verifyEndpoint } from './verifier.ts'

export interface VerifierLoop {
  /** Verifies every queued endpoint now (joins a round already running). */
  verifyNow(): Promise<void>
  /** Stops the timer and waits for a round under way. */
  stop(): Promise<void>
}

export function startVerifierLoop(cluster: Cluster, log: ProxyLog, options: {
  readonly enabled: boolean
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly model: string
  readonly random: () => number
  readonly acceptAny200: boolean
}): VerifierLoop {
  let timer: NodeJS.Timeout | undefined
  let round: Promise<void> | undefined
  let stopped = false

  const verifyQueued = async (): Promise<void> => {
    const queued = cluster.endpoints.filter((e) => cluster.queue.has(e.id))
    if (queued.length > 0) log.info('verify.start', `verifying ${queued.length} endpoint(s) in the failure queue`)
    for (const ep of queued) {
      if (stopped) return
      const client = ep.connector.fresh()
      const r = await verifyEndpoint(ep, {
        dispatcher: client, model: options.model, timeoutMs: options.timeoutMs,
        random: options.random, acceptAny200: options.acceptAny200,
      }).finally(() => ep.connector.release(client))
      cluster.queue.verified(ep.id, r.recovered)
      if (r.recovered) {
        cluster.recovered(ep, r.durationMs)
        log.info('verify.ok', `endpoint ${ep.id} recovered (${r.durationMs} ms): ${r.reason}`)
      } else {
        log.warn('verify.fail', `endpoint ${ep.id} still failing: ${r.reason}`)
      }
    }
  }
  const verifyNow = (): Promise<void> => {
    round ??= verifyQueued().finally(() => { round = undefined })
    return round
  }
  const schedule = (): void => {
    if (!options.enabled || stopped) return
    timer = setTimeout(() => { void verifyNow().finally(schedule) }, options.intervalMs)
    timer.unref()
  }
  schedule()
  return {
    verifyNow,
    async stop() {
      stopped = true
      clearTimeout(timer)
      await round
    },
  }
}
