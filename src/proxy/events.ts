/**
 * What the proxy tells the world, through node:diagnostics_channel (as undici does). The proxy never
 * imports a consumer; the harness, a test or an APM tool subscribes. Payloads are plain data.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import type { AttemptOutcome } from './outcome.ts'

/** One proxy→upstream attempt finished. */
export interface AttemptEvent {
  readonly proxyId: string
  readonly requestId: string
  /** 1-based, counting the stale-socket retry as its own attempt. */
  readonly attempt: number
  readonly endpointId: string
  readonly outcome: AttemptOutcome
  readonly status?: number
  /** The request was written onto a pooled connection that had carried an earlier request. */
  readonly reusedConnection: boolean
  /** This attempt is the connector's retry on a fresh connection after a stale socket. */
  readonly staleRetry: boolean
  readonly durationMs: number
  readonly errorCode?: string
  readonly errorMessage?: string
}

/** One client request finished (answered, or given up). */
export interface RequestEvent {
  readonly proxyId: string
  readonly requestId: string
  readonly method: string
  readonly path: string
  /** The status the client got (0 when the client went away first). */
  readonly status: number
  /** The outcome of the last attempt, or `ok`. */
  readonly outcome: AttemptOutcome | 'no-endpoint'
  readonly attempts: number
  readonly durationMs: number
}

export const proxyChannels = {
  attempt: diagnosticsChannel.channel('qcc-lab:proxy:attempt'),
  request: diagnosticsChannel.channel('qcc-lab:proxy:request'),
} as const

export function publishAttempt(event: AttemptEvent): void {
  if (proxyChannels.attempt.hasSubscribers) proxyChannels.attempt.publish(event)
}

export function publishRequest(event: RequestEvent): void {
  if (proxyChannels.request.hasSubscribers) proxyChannels.request.publish(event)
}
