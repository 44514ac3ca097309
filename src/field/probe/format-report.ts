/** The probe's report for a person: what was measured, then what to set (pure: report → text). */
import { wrap } from '../../harness/report/format-terminal.ts'
import { formatMs } from './idle-timeout.ts'
import type { ProbeReport } from './report.ts'

const LABEL = 15

function line(label: string, text: string, width: number): string {
  return wrap(text, width, `${label.padEnd(LABEL)}  `, ' '.repeat(LABEL + 2)).join('\n')
}

function idleText(r: ProbeReport): string {
  const i = r.idle
  const how = `${i.rounds} round${i.rounds === 1 ? '' : 's'}, ${i.connectionsUsed} connections`
  switch (i.kind) {
    case 'observed-close':
      return `${i.estimateMs} ms ± ${i.resolutionMs} ms (${i.discarded > 0 ? `${i.observations} of ${i.observations + i.discarded}` : i.observations} closes seen on idle connections, ${i.minObservedMs}–${i.maxObservedMs} ms; ${how})`
    case 'close-on-use':
      return `${i.estimateMs} ms ± ${i.resolutionMs} ms, found by outcome: no close while idle, but requests written after ${i.lostFromMs} ms idle were lost (answered up to ${i.answeredUpToMs} ms; ${how})`
    case 'none-seen':
      return `none seen: idle connections stayed open at least ${formatMs(i.atLeastMs)} (--max-idle ${formatMs(r.settings.maxIdleMs)}; ${how})`
    case 'no-keep-alive':
      return 'none: the relay answers with Connection: close, so no connection is kept'
    case 'failed':
      return `not measured: ${i.reason}`
  }
}

function raceText(r: ProbeReport): string {
  const x = r.race
  if (x.kind === 'skipped') return `not checked: ${x.reason}`
  if (x.kind === 'close-on-use') {
    const how = Object.entries(x.how).map(([k, n]) => `${n} ${k}`).join(', ')
    return `yes, every time: a request written after ${x.lostFromMs} ms idle is read and never answered (${how || 'lost'}); a client cannot tell whether it was processed`
  }
  const lead = x.closestAnsweredLeadMs === undefined ? '' : `; answered as close as ${x.closestAnsweredLeadMs} ms before the close`
  const lost = x.lost > 0 ? `${x.lost} of ${x.sent} sent up to ${x.windowMs} ms before the close were lost (the furthest ${x.furthestLostLeadMs} ms ahead)` : `${x.sent} requests sent up to ${x.windowMs} ms before the close: all answered`
  return `${lost}${lead}. On the wire, a request written less than one RTT (${x.networkWindowMs} ms) before the close always crosses it`
}

function capText(r: ProbeReport): string {
  const c = r.requestCap
  if (c.kind === 'skipped' || c.kind === 'unknown') return c.detail
  if (c.kind === 'none') return `none up to ${c.tried} requests per connection`
  if (c.kind === 'no-keep-alive') return c.detail
  if (c.cap === 1) return `the relay ends every connection after one answer: ${c.detail}`
  return `${c.cap} requests per connection: ${c.detail}`
}

function timingsText(r: ProbeReport): string {
  const t = r.timings
  const parts = [`TCP connect ${t.tcpConnectMs.median} ms`]
  if (t.tlsFullMs) parts.push(`TLS handshake ${t.tlsFullMs.median} ms full${t.tlsResumedMs ? `, ${t.tlsResumedMs.median} ms resumed` : t.tlsResumption === 'refused' ? ' (the relay refused resumption)' : ''}`)
  if (t.reuseMeasured) parts.push(`RTT ${t.rttMs} ms (a request on a warm connection)`, `first request on a new connection ${t.firstRequestMs.median} ms, on a reused one ${t.reusedRequestMs.median} ms (medians of ${t.samples})`)
  else parts.push(`first request on a new connection ${t.firstRequestMs.median} ms (median of ${t.samples}); no connection could be reused, so the RTT shown elsewhere is the TCP connect time`)
  return parts.join(' · ')
}

export function formatProbeReport(r: ProbeReport, options: { readonly width?: number } = {}): string {
  const width = options.width ?? 80
  const rec = r.recommendation
  const out: string[] = []
  out.push(...wrap(`qcc-lab probe ${r.target.url} · ${r.target.request} · ${(r.durationMs / 1000).toFixed(1)} s`, width))
  out.push('')
  out.push(line('idle timeout', idleText(r), width))
  const h = r.header
  out.push(line('Keep-Alive', h.header === null ? `absent — ${h.detail}` : `"${h.header}": ${h.verdict}${h.direction ? ` (${h.direction})` : ''} — ${h.detail}`, width))
  const c = r.closes
  out.push(line('close', c.kind === 'none' ? 'the relay closed no connection' : `${c.kind.toUpperCase()} (${[c.fin ? `${c.fin} FIN` : '', c.rst ? `${c.rst} RST` : '', c.silent ? `${c.silent} silent` : ''].filter(Boolean).join(', ')})`, width))
  out.push(line('request cap', capText(r), width))
  out.push(line('race', raceText(r), width))
  out.push(line('timings', timingsText(r), width))
  out.push('')
  out.push('Recommendation')
  if (rec.idleExpiryMs !== null) {
    const m = rec.margin
    const parts = m ? [m.resolutionMs > 0 ? `resolution ${m.resolutionMs}` : '', m.rttMs > 0 ? `RTT ${m.rttMs}` : '', `slack ${m.slackMs}`].filter(Boolean).join(' + ') : ''
    out.push(line('  idle expiry', `${rec.idleExpiryMs} ms${m ? ` (margin ${m.totalMs} ms: ${parts})` : ''}: ${rec.basis}`, width))
  } else {
    out.push(line('  idle expiry', `none: ${rec.basis}`, width))
  }
  out.push(line('  undici', rec.undici.text, width))
  out.push(line('  aiohttp (qcc)', rec.aiohttp.text, width))
  out.push(line('  qcc-lab proxy', rec.qccLab.text, width))
  const f = rec.forceClose
  const needed = f.neededUndici && f.neededAiohttp ? 'needed' : f.neededAiohttp ? 'needed with aiohttp (qcc), not with undici' : f.neededUndici ? 'needed with undici' : 'not needed'
  out.push(line('  force-close', `${needed}${f.reasons.length > 0 ? ` (${f.reasons.join('; ')})` : ''}; ${f.detail}`, width))
  out.push(line('  defaults', rec.defaults.map((d) => `${d.safe === null ? '?' : d.safe ? '✓' : '✗'} ${d.client}: ${d.why}`).join(' · '), width))
  if (r.notes.length > 0) {
    out.push('')
    for (const n of r.notes) out.push(...wrap(n, width, '• ', '  '))
  }
  out.push(...wrap(`this machine's event-loop delay while probing: p99 ${r.clientLagMs.p99} ms, max ${r.clientLagMs.max} ms`, width, '', ''))
  return `${out.join('\n')}\n`
}
