/**
 * One request's story in time, from the trace: what the client, the proxy and the upstream each did,
 * in order. The zoom under a timeline tells it for the first failure, so that a reader who has never
 * seen the bug can follow the moment it happens step by step.
 */
import type { VariantTrace } from '../types.ts'
import { ms } from '../../../shared/html/chart-style.ts'

export interface StoryStep {
  readonly atMs: number
  readonly text: string
  /** What came before the request itself (the connection's previous request): not part of the zoom. */
  readonly context?: true
}

export function failureStory(trace: VariantTrace, requestId: string): StoryStep[] {
  const steps: StoryStep[] = []
  const request = trace.requests.find((r) => r.id === requestId)
  if (request) steps.push({ atMs: request.startMs, text: `The client sends ${requestId} to the proxy.` })
  const names = new Map(trace.endpoints.map((e) => [e.id, e.upstream ?? e.id]))
  for (const u of trace.upstreams) {
    for (const a of u.arrivals) {
      if (a.requestId !== requestId) continue
      const connection = u.connections.find((c) => c.id === a.connectionId)
      if (a.index > 0) {
        const before = u.arrivals.filter((b) => b.connectionId === a.connectionId && b.index === a.index - 1)[0]
        if (before) {
          steps.push({
            atMs: before.endMs ?? before.atMs,
            text: `${u.name} finishes ${before.requestId} (request ${before.index + 1} on its connection #${a.connectionId}); the connection stays open, idle, in the proxy's pool.`,
            context: true,
          })
        }
      }
      steps.push({
        atMs: a.atMs,
        text: a.index > 0
          ? `${u.name} reads the head of ${requestId} on connection #${a.connectionId}, which the proxy reused after ${ms(a.idleMs)} idle.`
          : `${u.name} reads the head of ${requestId} on connection #${a.connectionId}, a new connection.`,
      })
      const close = connection?.serverClose
      const end = a.endMs ?? a.atMs
      if (close && close.atMs >= a.atMs - 0.05 && close.atMs <= end + 0.05) {
        const how = close.kind === 'fin' ? 'closes connection #' : 'resets connection #'
        steps.push({
          atMs: close.atMs,
          text: `${u.name} ${how}${a.connectionId} (${close.kind.toUpperCase()})${a.outcome === 'dropped' ? ` without answering ${requestId}` : a.outcome === 'cut' ? ' in the middle of its answer' : ''}${connection?.closedBy ? ` (${connection.closedBy.replace(/^fault:/, 'fault ')})` : ''}${a.outcome === 'dropped' ? ': its close and the request crossed' : ''}.`,
        })
      }
      if (a.outcome === 'answered') steps.push({ atMs: end, text: `${u.name} answers ${requestId}: HTTP ${a.status ?? '?'}.` })
      else if (a.outcome === 'cut') steps.push({ atMs: end, text: `${u.name}'s answer to ${requestId} is cut mid-response.` })
    }
  }
  for (const a of trace.attempts) {
    if (a.requestId !== requestId || a.endMs === undefined) continue
    const name = names.get(a.endpointId) ?? a.endpointId
    steps.push({
      atMs: a.endMs,
      text: `The proxy's attempt ${a.attempt} on ${name}${a.staleRetry ? ' (its retry on a fresh connection)' : ''} ends: ${a.outcome === 'ok' ? `ok, HTTP ${a.status ?? 200}` : `${a.outcome}${a.status !== undefined ? `, HTTP ${a.status}` : ''}`}${a.reused ? ', on a reused connection' : ''}${a.error ? ` ("${a.error}")` : ''}.`,
    })
  }
  if (request) {
    steps.push({
      atMs: request.startMs + request.latencyMs,
      text: request.failure === undefined
        ? `The client gets its answer${request.status !== undefined ? ` (HTTP ${request.status})` : ''}: the failure stayed inside the proxy.`
        : `The client gets the failure: ${request.failure}${request.status !== undefined && !request.failure.includes(String(request.status)) ? ` (HTTP ${request.status})` : ''}${request.cause ? `, caused by ${request.cause}` : ''}.`,
    })
  }
  // Stable: equal times keep the order above (the client, then the upstream, then the proxy).
  return steps.map((s, i) => ({ s, i })).sort((a, b) => a.s.atMs - b.s.atMs || a.i - b.i).map(({ s }) => s)
}

/**
 * What the timeline shows, in one or two sentences a reader can check against it: how many requests
 * the upstream dropped, after how long idle, whether the upstream's own close met them, and what became
 * of them; or that everything was answered.
 */
export function timelineCaption(trace: VariantTrace): string {
  const sent = trace.requests.filter((r) => !r.skipped)
  const failed = sent.filter((r) => r.failure !== undefined)
  const arrivals = trace.upstreams.flatMap((u) => u.arrivals.filter((a) => !a.probe).map((a) => ({ a, u })))
  const connections = trace.upstreams.reduce((n, u) => n + u.connections.length, 0)
  const dropped = arrivals.filter(({ a }) => a.outcome === 'dropped')
  const cut = arrivals.filter(({ a }) => a.outcome === 'cut')
  const lines: string[] = []
  if (dropped.length > 0) {
    const reused = dropped.filter(({ a }) => a.index > 0)
    const idles = reused.map(({ a }) => a.idleMs).sort((x, y) => x - y)
    const crossed = dropped.filter(({ a, u }) => {
      const close = u.connections.find((c) => c.id === a.connectionId)?.serverClose
      return close !== undefined && close.atMs >= a.atMs - 1 && close.atMs <= (a.endMs ?? a.atMs) + 1
    })
    const again = dropped.filter(({ a }) => arrivals.some(({ a: b }) => b.requestId === a.requestId && b.atMs > a.atMs))
    const range = idles.length === 0 ? '' : idles[0] === idles.at(-1) ? `${ms(idles[0]!)}` : `${ms(idles[0]!)} to ${ms(idles.at(-1)!)}`
    lines.push(`${dropped.length} request${dropped.length === 1 ? '' : 's'} reached the upstream and ${dropped.length === 1 ? 'was' : 'were'} dropped unanswered (red)${reused.length > 0 ? `; ${reused.length === dropped.length ? 'each' : `${reused.length}`} had been written onto a pooled connection that sat idle ${range}` : ''}${crossed.length > 0 ? `, and the upstream's own close of that connection (▼) came ${crossed.length === dropped.length ? 'with every one of them' : `with ${crossed.length} of them`}` : ''}.`)
    lines.push(again.length > 0
      ? `${again.length} of them ${again.length === 1 ? 'was' : 'were'} sent again (dashed line); the client saw ${failed.length} failure${failed.length === 1 ? '' : 's'} out of ${sent.length} requests.`
      : `None was sent again: the client saw ${failed.length} failure${failed.length === 1 ? '' : 's'} out of ${sent.length} requests.`)
  } else if (failed.length > 0) {
    lines.push(`The client saw ${failed.length} failure${failed.length === 1 ? '' : 's'} out of ${sent.length} requests${cut.length > 0 ? `; ${cut.length} answer${cut.length === 1 ? ' was' : 's were'} cut mid-response (purple)` : ''}${arrivals.length === 0 ? '; none reached an upstream' : ''}.`)
  } else {
    lines.push(`Every one of the ${sent.length} requests was answered; ${connections} upstream connection${connections === 1 ? '' : 's'} carried ${arrivals.length} request${arrivals.length === 1 ? '' : 's'}.`)
  }
  return lines.join(' ')
}
