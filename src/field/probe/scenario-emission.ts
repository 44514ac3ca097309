/**
 * `--emit-scenario`: a scenario YAML whose fake upstream behaves like the measured relay, so the user can
 * replay it (`qcc-lab run <file>`) and see the recommended settings hold (pure: report → text).
 *
 * The relay becomes faults:
 * - an idle close at the measured timeout (FIN or RST) with the relay's own `Keep-Alive` header, or a
 *   close right after each answer for a relay that closes within a millisecond;
 * - the race: for a relay that closes on use, requests after its timeout are read and never answered
 *   (race-close); for one that closes idle connections itself, the network's share of the race, a
 *   request written less than one RTT (plus the resolution) before the close crosses the FIN, is
 *   modelled the same way, because the fake upstream sits on loopback and has no wire to cross.
 *
 * The workload pauses inside that window, so the old qcc connector (60 s, hint ignored) meets the race,
 * and the `recommended` variant runs the probe's idle expiry with no retry safety net and one attempt:
 * it passes only if the expiry alone keeps every request off a closing connection.
 * Scenario upstreams have no RTT or TLS setting: those are named in the file's header, for `qcc-lab bench`.
 * A relay without keep-alive, or one that kept every connection past --max-idle, has nothing to replay:
 * no scenario then, and the reason says why.
 */
import type { ProbeReport } from './report.ts'
import { parseKeepAliveHeader } from './response-parser.ts'

/**
 * How far the idle time the fake upstream sees may stray from the workload's pause (ms): the jitter
 * `qcc-lab lint` assumes (src/harness/scenario/lint.ts, measured on a 2-core machine). A pause within
 * this of an edge of the race window lands on either side of it from run to run.
 */
const JITTER_MS = 25
/** The modelled race window is at least two jitters wide, so a pause fits inside it with a jitter to spare each side. */
const MIN_WINDOW_MS = 2 * JITTER_MS

export type Emission = { readonly ok: true; readonly yaml: string; readonly name: string } | { readonly ok: false; readonly reason: string }

const q = (s: string): string => JSON.stringify(s)

/** A scenario name from the relay's host and port: lower-case letters, digits, `.`, `_`, `-`. */
export function scenarioName(url: string): string {
  const u = new URL(url)
  const host = `${u.hostname}${u.port === '' ? '' : `-${u.port}`}`.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '')
  return `probe-${host || 'relay'}`.slice(0, 80)
}

interface Relay {
  readonly faults: string[]
  readonly summary: string
  /** A pause between bursts that lands inside the race window, when there is one. */
  readonly gapMs?: number
}

/** The relay's Keep-Alive header as idle-close parameters. */
function headerParams(report: ProbeReport, idleMs: number): string[] {
  const timeoutS = parseKeepAliveHeader(report.header.header ?? undefined).timeoutS
  if (timeoutS === undefined) return ['keepAliveHeader: absent']
  if (Math.floor(idleMs / 1000) === timeoutS) return ['keepAliveHeader: honest']
  return ['keepAliveHeader: lying', `advertisedMs: ${Math.max(1, timeoutS * 1000)}   # "timeout=${timeoutS}", as the relay sends it`]
}

function closeMode(report: ProbeReport): 'fin' | 'rst' {
  return report.closes.kind === 'rst' ? 'rst' : 'fin'
}

function relayFaults(report: ProbeReport): Relay | { reason: string } {
  const idle = report.idle
  const mode = closeMode(report)
  const fault = (kind: string, params: string[], comment?: string): string =>
    `${comment ? `      # ${comment}\n` : ''}      - kind: ${kind}\n${params.map((p) => `        ${p}`).join('\n')}`
  if (idle.kind === 'no-keep-alive') return { reason: 'the relay answers with Connection: close, so no connection is ever reused: there is no keep-alive behaviour to replay' }
  if (idle.kind === 'failed') return { reason: `no idle connection could be timed (${idle.reason})` }
  if (idle.kind === 'none-seen') {
    // A timed close far past every pause races nothing (`qcc-lab lint` says so): there is no failure to replay.
    return { reason: `the relay kept every idle connection at least ${Math.round(idle.atLeastMs)} ms (--max-idle) and lost no request: there is no close to replay; raise --max-idle to look further` }
  }
  if (idle.kind === 'close-on-use') {
    const keepMs = Math.max(report.settings.maxIdleMs, Math.ceil(idle.lostFromMs) * 2)
    const afterMs = Math.round(idle.estimateMs)
    return {
      faults: [
        fault('race-close', [`afterIdleMs: ${afterMs}`, `mode: ${report.race.kind === 'close-on-use' && (report.race.how.rst ?? 0) > (report.race.how.fin ?? 0) ? 'rst' : 'fin'}`],
          `Measured: requests written after ${idle.lostFromMs} ms idle were read and never answered (answered up to ${idle.answeredUpToMs} ms).`),
        fault('idle-close', [`idleMs: ${keepMs}`, `mode: ${mode}`, ...headerParams(report, keepMs)], 'No close while idle was seen: the connection stays open until a request arrives.'),
      ],
      summary: `closes on use after ${afterMs} ms idle ± ${idle.resolutionMs} ms`,
      gapMs: afterMs + Math.max(JITTER_MS, Math.round(0.05 * afterMs)),
    }
  }
  // observed-close
  const idleMs = Math.round(idle.estimateMs)
  if (idleMs < 1) {
    const timeoutS = parseKeepAliveHeader(report.header.header ?? undefined).timeoutS
    return {
      faults: [fault('close-after-response', ['afterMs: 0', `mode: ${mode}`, `advertisedMs: ${Math.max(1, (timeoutS ?? 60) * 1000)}`],
        `Measured: the relay closes (${mode}) ${idle.estimateMs} ms after every answer${timeoutS === undefined ? ' (it sends no Keep-Alive header; the fake always sends one)' : ''}.`)],
      summary: `closes ${idle.estimateMs} ms after every answer`,
    }
  }
  const faults = [fault('idle-close', [`idleMs: ${idleMs}`, `mode: ${mode}`, ...headerParams(report, idleMs)], `Measured: idle close after ${idle.estimateMs} ms ± ${idle.resolutionMs} ms (${mode}).`)]
  const rtt = report.timings.rttMs
  const lead = Math.max(rtt, report.race.kind === 'observed-close' ? (report.race.furthestLostLeadMs ?? 0) : 0)
  const measuredWindow = Math.round(lead + idle.resolutionMs)
  // Widened to two jitters so a pause lands inside it every run: harsher than the relay, never kinder.
  const windowMs = Math.max(measuredWindow, MIN_WINDOW_MS)
  if (windowMs + JITTER_MS > idleMs) return { faults, summary: `idle close after ${idleMs} ms ± ${idle.resolutionMs} ms` }
  faults.push(fault('race-close', [`afterIdleMs: ${idleMs - windowMs}`, `mode: ${mode}`],
    `The race on the wire: a request written less than ${measuredWindow} ms (one RTT${lead > rtt ? ', or the furthest lead a request was lost at' : ''}, plus the resolution) before the close crosses the FIN${windowMs > measuredWindow ? `; widened to ${windowMs} ms so the pause below lands in it every run` : ''}.`))
  return { faults, summary: `idle close after ${idleMs} ms ± ${idle.resolutionMs} ms`, gapMs: Math.round(idleMs - (windowMs + JITTER_MS) / 2) }
}

export function emitScenario(report: ProbeReport): Emission {
  const relay = relayFaults(report)
  if ('reason' in relay) return { ok: false, reason: relay.reason }
  const rec = report.recommendation
  const name = scenarioName(report.target.url)
  const landable = relay.gapMs !== undefined
  // Inside the race window when there is one, else a short pause.
  const gapMs = relay.gapMs ?? Math.max(1, Math.min(100, Math.round((rec.idleExpiryMs ?? 100) / 2)))
  const bursts = Math.min(10, Math.max(3, Math.ceil(10_000 / gapMs) + 1))
  const burst = 4
  const requests = burst * bursts
  const t = report.timings
  const header = [
    `# Emitted by \`qcc-lab probe ${report.target.url}\` at ${report.startedAt}: a fake relay that behaves like the measured one.`,
    `# Measured: ${relay.summary}; Keep-Alive ${report.header.header === null ? 'absent' : q(report.header.header)} (${report.header.verdict}${report.header.direction ? `, ${report.header.direction}` : ''}); closes with ${report.closes.kind}; request cap: ${report.requestCap.kind}.`,
    `# Not modelled (scenario upstreams have no such setting): the RTT (${t.rttMs} ms)${report.target.protocol === 'https' ? ` and TLS (${t.tlsFullMs?.median ?? '?'} ms handshake)` : ''}; bench those with \`qcc-lab bench --rtt ${Math.round(t.rttMs)}\`.`,
    ...(report.requestCap.kind === 'closes-after' || report.requestCap.kind === 'loses-next' ? [`# Not modelled: the relay's request cap of ${report.requestCap.cap} per connection (no fault replays it yet).`] : []),
    `# Replay it: qcc-lab run <this file>`,
  ]
  const variants: string[] = [
    `  - name: contract
    description: what any relay proxy must do against this relay
    expect:
      - name: no client-visible failures
        check: failures.total == 0
      - name: no request answered twice
        check: upstream.duplicates == 0`,
  ]
  if (landable) {
    variants.push(`  - name: naive-keepalive
    description: qcc's old connector (idle 60 s, hint ignored, no retry) writes into the closing connection
    connector: naive-keepalive
    proxy: { attempts: { max: 1 } }
    expect:
      - name: reproduces stale-socket attempts
        check: attempts.staleSocket >= 1
      - name: the client sees the failure
        check: failures.total >= 1`)
  } else {
    variants.push(`  - name: naive-keepalive
    description: qcc's old connector (idle 60 s, hint ignored, no retry); this relay leaves no race window to land in
    connector: naive-keepalive
    proxy: { attempts: { max: 1 } }
    expect:
      - name: the connection is reused between requests
        check: upstream.connections < requests`)
  }
  variants.push(`  - name: force-close
    description: a new connection per request${rec.forceClose.costPerRequestMs === null ? '' : ` (costs ${rec.forceClose.costPerRequestMs} ms per request on the real relay)`}
    connector: force-close
    proxy: { attempts: { max: 1 } }
    expect:
      - name: no client-visible failures
        check: failures.total == 0
      - name: one upstream connection per request
        check: upstream.connections == requests`)
  if (rec.idleExpiryMs !== null) {
    variants.push(`  - name: recommended
    description: the probe's idle expiry (${rec.idleExpiryMs} ms), no retry safety net, one attempt
    connector:
      profile: tuned-keepalive
      idleTimeoutMs: ${rec.idleExpiryMs}
      maxIdleTimeoutMs: ${rec.idleExpiryMs}
      honourKeepAliveHint: false
      retryStaleOnFreshConnection: false
    proxy: { attempts: { max: 1 } }
    expect:
      - name: no client-visible failures
        check: failures.total == 0
      - name: no stale-socket attempts at all
        check: attempts.staleSocket == 0
      - name: reuse kept within bursts
        check: upstream.connections < requests`)
  }
  const yaml = `${header.join('\n')}
name: ${name}
description: >-
  Replays the relay probed at ${report.target.url}: ${relay.summary}. The pause between bursts
  (${gapMs} ms) is ${landable ? 'inside the window in which a request crosses the close' : 'short: this relay leaves no race window to land in'}.
rootCause: >-
  ${rec.basis}. Recommended idle expiry: ${rec.idleExpiryMs === null ? 'none (force-close)' : `${rec.idleExpiryMs} ms`}.
seed: 1

upstreams:
  - name: relay
    faults:
${relay.faults.join('\n')}

workload:
  requests: ${requests}
  concurrency: 1
  stream: false
  pacing:
    burst: ${burst}
    gapMs: ${gapMs}

variants:
${variants.join('\n\n')}
`
  return { ok: true, yaml, name }
}
