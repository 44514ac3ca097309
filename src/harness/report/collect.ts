/** Subscribes to one proxy's events for the length of a run. */
import { proxyChannels, type AttemptEvent, type RequestEvent } from '../../proxy/events.ts'

export interface Collector {
  readonly attempts: AttemptEvent[]
  readonly requests: RequestEvent[]
  stop(): void
}

export function collectProxyEvents(proxyId: string): Collector {
  const attempts: AttemptEvent[] = []
  const requests: RequestEvent[] = []
  const onAttempt = (m: unknown): void => {
    const e = m as AttemptEvent
    if (e.proxyId === proxyId) attempts.push(e)
  }
  const onRequest = (m: unknown): void => {
    const e = m as RequestEvent
    if (e.proxyId === proxyId) requests.push(e)
  }
  proxyChannels.attempt.subscribe(onAttempt)
  proxyChannels.request.subscribe(onRequest)
  return {
    attempts,
    requests,
    stop() {
      proxyChannels.attempt.unsubscribe(onAttempt)
      proxyChannels.request.unsubscribe(onRequest)
    },
  }
}
