/**
 * Lint for fault setups that cannot reproduce what they are written to show. A scenario that loads can
 * still replay nothing: the classic is an idle close with requests spaced past it. With undici >= 8.5
 * (and 7.28) a socket whose FIN already arrived is not reused (GHSA-35p6-xmwp-9g52: undici yields once
 * before writing onto an idle socket, so a queued FIN or RST is seen first), so only a close that *races*
 * the request fails, in a window under a millisecond. The race-close fault makes the race land every
 * time; these rules say when a setup leaves it to chance or rules it out (research: anchors.md §0.4 and
 * §4.5; fake-upstreams/faults/idle-close.ts, race-close.ts, close-after-response.ts).
 *
 * Pure: a loaded scenario and the undici version in, warnings out. The timing model it reasons with is
 * the fake upstream's own: a connection goes idle when a response ended; the first fault with an
 * `onIdle` hook (idle-close, close-after-response) owns its idle timer, else the server closes it after
 * DEFAULT_IDLE_MS; race-close acts on a reused connection idle for at least `afterIdleMs`. The workload
 * sends bursts back to back (idle about 1 ms) with `gap` ms between bursts.
 */
import { resolveFault, type ResolvedFault } from '../../../fake-upstreams/faults/index.ts'
import { DEFAULT_IDLE_MS } from '../../../fake-upstreams/server.ts'
import { resolveConnector, type ConnectorSettings } from '../../proxy/connector/profiles.ts'
import type { Expectation } from '../gate/expectation.ts'
import { bundledConstants, resolveDuration, resolveDurationsDeep, type ProxyConstants } from './constants.ts'
import type { Scenario } from './schema.ts'

/** The rules, each with the one-line title `qcc-lab lint` prints. */
export const lintRules = {
  'timed-close-cannot-race': 'a timed close (idle-close, close-after-response) that no request can race',
  'gap-outside-race-window': 'a race-close whose window [afterIdleMs, close) the workload\'s pause misses',
  'client-never-reuses': 'a variant that expects a stale socket, whose connector gives the connection up before the race',
  'fault-never-acts': 'a request fault whose probability or schedule never lets it act',
  'schedule-ignored': 'probability or a schedule on a fault that acts on idle connections, where they have no effect',
  'param-ignored': 'a fault parameter that the fault\'s other settings make meaningless (advertisedMs without a lying header)',
} as const

export type LintRule = keyof typeof lintRules

export interface LintWarning {
  readonly rule: LintRule
  readonly file: string
  /** The field the warning is about, as `upstreams[0].faults[1]` or `variants[2]`. */
  readonly path: string
  readonly upstream?: string
  /** `idle-close idleMs 300`: the fault as it acts in this run. */
  readonly fault?: string
  /** The variants it concerns (every variant for a setup-wide problem). */
  readonly variants: readonly string[]
  /** Expectations that ask for what this setup cannot produce (a stale socket), by variant. */
  readonly unmet: ReadonlyArray<{ readonly variant: string; readonly check: string }>
  /** What goes wrong, in a few words (the `lint:` line of `qcc-lab run`). */
  readonly summary: string
  /** Why it cannot reproduce, in one or two sentences. */
  readonly problem: string
  /** What to change. */
  readonly fix: string
}

export interface LintOptions {
  /** The npm undici the proxy runs on (`8.13.1`): whether it checks idle sockets before reuse. */
  readonly undiciVersion: string
}

/**
 * How far the idle an upstream sees may stray from the timeline (ms). Measured on the 2-core machine
 * (stale-keepalive, ledger idleBeforeMs): a request after a pause (150 ms then) arrives 1-5 ms late, back-to-back
 * requests sit idle 0.6-21 ms (the first, cold ones longest). A timer closer than this to an edge lands
 * on either side of it from run to run.
 */
export const jitterMs = 25

/**
 * The widest close-after-response delay that still races back-to-back traffic (ms): the window where a
 * pooling client writes its next request into a closing connection (research/aiohttp-closing-transport.md:
 * aiohttp failed 100, 71, 41, 16 of 200 requests at 0, 0.2, 0.8, 3 ms).
 */
export const closeWindowMs = 3

/** undici >= 8.5, or 7.28 in the 7 line, sees a FIN that already arrived before reusing a socket. */
export function validatesIdleSockets(undiciVersion: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(undiciVersion)
  if (!m) return true // unknown: assume the pinned undici 8, which does
  const major = Number(m[1])
  const minor = Number(m[2])
  return major > 8 || (major === 8 && minor >= 5) || (major === 7 && minor >= 28)
}

/** Metrics that can only be non-zero when a request met a stale pooled connection. */
const staleMetrics = ['attempts.staleSocket', 'attempts.retried', 'causes.stale-socket']

/** The expectation needs the metric to be at least 1. */
function needsOne(e: Expectation): boolean {
  if (e.operand.kind !== 'number') return false
  const v = e.operand.value
  return (e.op === '>=' && v >= 1) || (e.op === '>' && v >= 0) || (e.op === '==' && v >= 1) || (e.op === '!=' && v === 0)
}

/** A request fault acts only inside its schedule; these hooks are the ones the schedule gates. */
function actsOnRequests(f: ResolvedFault): boolean {
  return f.hooks.onRequest !== undefined || f.hooks.delayMs !== undefined || f.hooks.cutAfterEvents !== undefined
}

interface UpstreamFacts {
  readonly index: number
  readonly name: string
  readonly faults: ReadonlyArray<{ readonly path: string; readonly raw: Record<string, unknown>; readonly fault: ResolvedFault }>
  /** Who closes an idle connection, and after how long: the first fault with an idle hook, else the server. */
  readonly close: { readonly ms: number; readonly path?: string; readonly kind: 'idle-close' | 'close-after-response' | 'server default' }
  /** The first race-close that can act. */
  readonly race?: { readonly afterIdleMs: number; readonly path: string }
  /** What the Keep-Alive response header says (the first fault with an opinion, else Node's honest default). */
  readonly keepAlive: string | null
}

function upstreamFacts(s: Scenario, index: number, c: ProxyConstants, maxArrivals: number): UpstreamFacts {
  const u = s.upstreams[index]!
  const faults = u.faults.flatMap((spec, j) => {
    const path = `upstreams[${index}].faults[${j}]`
    const raw = resolveDurationsDeep(spec, c) as Record<string, unknown>
    const r = resolveFault(raw, path)
    return r.ok ? [{ path, raw, fault: r.fault }] : []
  })
  const idle = faults.find((f) => f.fault.hooks.onIdle !== undefined)
  const close: UpstreamFacts['close'] = idle?.fault.kind === 'idle-close'
    ? { ms: idle.fault.params.idleMs as number, path: idle.path, kind: 'idle-close' }
    : idle?.fault.kind === 'close-after-response'
    ? { ms: idle.fault.params.afterMs as number, path: idle.path, kind: 'close-after-response' }
    : { ms: DEFAULT_IDLE_MS, kind: 'server default' }
  const race = faults.find((f) => f.fault.kind === 'race-close' && canAct(f.fault, maxArrivals))
  let keepAlive: string | null = `timeout=${Math.floor(DEFAULT_IDLE_MS / 1000)}`
  for (const f of faults) {
    const v = f.fault.hooks.keepAliveHeader?.()
    if (v !== undefined) {
      keepAlive = v
      break
    }
  }
  return {
    index, name: u.name, faults, close, keepAlive,
    ...(race ? { race: { afterIdleMs: race.fault.params.afterIdleMs as number, path: race.path } } : {}),
  }
}

function canAct(f: ResolvedFault, maxArrivals: number): boolean {
  return f.schedule.probability > 0 && f.schedule.fromRequest <= maxArrivals
}

/**
 * How long the connector keeps an idle connection to this upstream (ms); 0 = it never reuses one. The
 * rule undici applies (create-connector.ts passes the profile's numbers to it): with a Keep-Alive hint,
 * `min(hint - keepAliveTimeoutThreshold, keepAliveMaxTimeout)`, and no reuse at all when that is <= 0;
 * without a hint (or a hint the profile ignores) `keepAliveTimeout`.
 */
export function idleExpiryMs(s: ConnectorSettings, keepAlive: string | null): number {
  if (!s.reuse) return 0
  const hint = keepAlive === null ? undefined : /timeout=(\d+)/.exec(keepAlive)?.[1]
  if (!s.honourKeepAliveHint || hint === undefined) return s.idleTimeoutMs
  return Math.max(0, Math.min(Number(hint) * 1000 - s.hintMarginMs, s.maxIdleTimeoutMs))
}

const ms = (n: number): string => `${Math.round(n)} ms`

/** The two idles the workload produces: back to back inside a burst, and the pause between bursts. */
interface Idles {
  /** A worker sends more than one request per burst, so a connection is reused about 1 ms after a response. */
  readonly backToBack: boolean
  /** The pause between bursts (ms), when there is more than one burst. */
  readonly gap?: number
}

function workloadIdles(s: Scenario, c: ProxyConstants): Idles {
  const w = s.workload
  const gap = resolveDuration(w.gap, c)
  const bursts = Math.ceil(w.requests / w.burst)
  return { backToBack: w.burst > w.concurrency, ...(bursts > 1 && gap > 0 ? { gap } : {}) }
}

/** How to write a pause of `gap` ms: as gapOfIdle when the close is upstreams[0]'s idle-close (what gapOfIdle reads). */
function pauseAdvice(gap: number, closeMs: number, u: UpstreamFacts): string {
  const ratio = Math.round((gap / closeMs) * 1000) / 1000
  return u.index === 0 && u.close.kind === 'idle-close' && Math.round(ratio * closeMs) === gap
    ? `the pause to gapMs: ${gap} (or gapOfIdle: ${ratio}) in workload.pacing`
    : `the pause to gapMs: ${gap} in workload.pacing`
}

/**
 * The race-close and pause that make a close at `closeMs` cross a request every run: the pause a margin
 * below the close (so the request comes just before the relay would close, as in production), and
 * race-close a margin below the pause. The margin is a tenth of the close, at least 4 × jitterMs.
 */
export function raceSuggestion(closeMs: number): { afterIdleMs: number; gapMs: number } | undefined {
  const margin = Math.max(4 * jitterMs, Math.round(closeMs / 10))
  const gapMs = closeMs - margin
  const afterIdleMs = gapMs - margin
  return afterIdleMs >= jitterMs ? { afterIdleMs, gapMs } : undefined
}

function raceAdvice(u: UpstreamFacts, closeMs: number): string {
  const s = raceSuggestion(closeMs)
  if (s === undefined) {
    return `a close after ${ms(closeMs)} leaves no room for a race that lands every run (timers and the proxy move a request by up to ${jitterMs} ms): model the relay's timeout at ${8 * jitterMs + jitterMs} ms or more, then add a race-close below the pause`
  }
  return `add \`- { kind: race-close, afterIdleMs: ${s.afterIdleMs} }\` to ${u.name}'s faults and set ${pauseAdvice(s.gapMs, closeMs, u)}, inside the race window [${s.afterIdleMs}, ${closeMs}) ms: each request after a pause then lands ${ms(closeMs - s.gapMs)} before the relay's close and race-close makes the close cross it, every run (as in scenarios/stale-keepalive.yaml)`
}

/** Setup-wide problems of one upstream: its close or its race-close can never meet a request. */
function raceProblems(u: UpstreamFacts, idles: Idles, validates: boolean, undici: string): Array<Omit<LintWarning, 'file' | 'variants' | 'unmet'>> {
  const out: Array<Omit<LintWarning, 'file' | 'variants' | 'unmet'>> = []
  const T = u.close.ms
  const closeName = u.close.kind === 'server default' ? `the upstream's own idle close (${ms(T)}, Node's default)` : `${u.close.kind} at ${ms(T)}`
  if (u.race) {
    const A = u.race.afterIdleMs
    const fault = `race-close afterIdleMs ${A}`
    const where = { path: u.race.path, upstream: u.name, fault }
    // The pause a margin below the close when that is inside the window, else its middle.
    const suggested = raceSuggestion(T)
    const pause = suggested && suggested.gapMs >= A + jitterMs ? suggested.gapMs : Math.round((A + T) / 2)
    const fixGap = T - A >= 2 * jitterMs
      ? `set ${pauseAdvice(pause, T, u)}, inside the race window [${A}, ${T}) ms`
      : suggested
      ? `the window [${A}, ${T}) ms is narrower than ${2 * jitterMs} ms: lower afterIdleMs to ${suggested.afterIdleMs} and set ${pauseAdvice(suggested.gapMs, T, u)}`
      : raceAdvice(u, T)
    if (A > 0 && A < jitterMs && idles.backToBack) {
      out.push({ rule: 'gap-outside-race-window', ...where, summary: 'afterIdleMs sits inside the jitter of back-to-back requests', problem: `back-to-back requests sit idle 1-${jitterMs - 4} ms, around afterIdleMs ${A}: which of them race differs from run to run.`, fix: `use afterIdleMs: 0 (every reused connection races) or at least ${jitterMs} (only requests after a pause race), and ${fixGap}` })
    } else if (A > 0 && idles.gap === undefined) {
      out.push({ rule: 'gap-outside-race-window', ...where, summary: 'race-close never acts: there is no pause', problem: `there is no pause between requests, so no reused connection sits idle ${ms(A)}: race-close never acts.`, fix: `add a pause inside [${A}, ${T}) ms, e.g. workload.pacing: { burst: 4, gapMs: ${pause} }` })
    } else if (A > 0 && idles.gap !== undefined && idles.gap < A) {
      out.push({ rule: 'gap-outside-race-window', ...where, summary: `race-close never acts: the ${ms(idles.gap)} pause is shorter than afterIdleMs`, problem: `the ${ms(idles.gap)} pause is shorter than afterIdleMs ${A}: no request comes after an idle that long, so race-close never acts.`, fix: fixGap })
    } else if (idles.gap !== undefined && idles.gap + jitterMs > T && validates) {
      const first = idles.gap > T + jitterMs ? `${closeName} comes first: its FIN arrives ${ms(idles.gap - T)} before the next request, undici ${undici} sees it before reusing the socket and opens a new connection, so race-close never sees a reused connection` : `the ${ms(idles.gap)} pause ends within ${jitterMs} ms of ${closeName}: whether the close or the request comes first differs from run to run`
      out.push({ rule: 'gap-outside-race-window', ...where, summary: idles.gap > T + jitterMs ? `the close at ${ms(T)} comes before race-close can act` : `the ${ms(idles.gap)} pause is at the edge of the race window`, problem: `${first}.`, fix: fixGap })
    }
    return out
  }
  if (u.close.kind === 'server default') return out
  const fault = `${u.close.kind} ${u.close.kind === 'idle-close' ? 'idleMs' : 'afterMs'} ${T}`
  const where = { path: u.close.path!, upstream: u.name, fault }
  if (u.close.kind === 'close-after-response' && T <= closeWindowMs) {
    if (!idles.backToBack) {
      out.push({ rule: 'timed-close-cannot-race', ...where, summary: 'no request is written right after a response, so this close races none', problem: `a close ${ms(T)} after each response races only a request written right after one (back to back), and every request here follows a pause or has a connection of its own (burst <= concurrency).`, fix: 'send requests back to back: drop workload.pacing or raise burst above concurrency (scenarios/closing-transport.yaml: 200 requests at concurrency 8, no pacing)' })
    }
    return out
  }
  const gap = idles.gap
  if (gap !== undefined && gap > T + jitterMs) {
    if (validates) out.push({ rule: 'timed-close-cannot-race', ...where, summary: `the ${ms(gap)} pause outlasts the close, so the FIN always comes first and nothing fails`, problem: `the ${ms(gap)} pause is longer than the close at ${ms(T)}: the FIN arrives ${ms(gap - T)} before the next request, and undici ${undici} sees a FIN that already arrived before reusing a socket and opens a new connection, so no request fails.`, fix: raceAdvice(u, T) })
  } else if (gap !== undefined && gap >= T - jitterMs) {
    out.push({ rule: 'timed-close-cannot-race', ...where, summary: `the ${ms(gap)} pause races the close only by chance`, problem: `the ${ms(gap)} pause ends within ${jitterMs} ms of the close at ${ms(T)}: timer jitter decides whether the FIN or the request comes first, and undici${validates ? ` ${undici}` : ''} fails the request only when the FIN lands in the instant between its idle check and the write. It reproduces by chance, not every run.`, fix: raceAdvice(u, T) })
  } else {
    const longest = gap !== undefined ? `the longest idle before a request is the ${ms(gap)} pause` : idles.backToBack ? 'requests come back to back (about 1 ms apart)' : 'no connection is reused'
    out.push({ rule: 'timed-close-cannot-race', ...where, summary: 'the close never fires while requests flow', problem: `${longest}, below the close at ${ms(T)}: the close fires only after the last request, never while one is on its way.`, fix: raceAdvice(u, T) })
  }
  return out
}

/** Can a race land on a connection this connector reuses? Undefined when it can; else why not. */
function whyNoReuse(s: ConnectorSettings, u: UpstreamFacts, idles: Idles, validates: boolean): string | undefined {
  const expiry = idleExpiryMs(s, u.keepAlive)
  if (expiry === 0) {
    return !s.reuse
      ? 'it never reuses a connection (Connection: close)'
      : `it does not reuse connections at all: the upstream's Keep-Alive: ${u.keepAlive} minus its ${s.hintMarginMs} ms margin leaves nothing`
  }
  const kept = (idle: number): boolean => idle + jitterMs < expiry
  const T = u.close.ms
  const landsAt: number[] = []
  if (u.race) {
    const A = u.race.afterIdleMs
    if (A === 0 && idles.backToBack) landsAt.push(1)
    if (idles.gap !== undefined && idles.gap >= A && idles.gap + jitterMs <= T) landsAt.push(idles.gap)
  } else if (u.close.kind === 'close-after-response' && T <= closeWindowMs && idles.backToBack) landsAt.push(1)
  else if (!validates && u.close.kind !== 'server default' && idles.gap !== undefined && idles.gap > T) landsAt.push(idles.gap)
  if (landsAt.length === 0 || landsAt.some(kept)) return undefined
  const source = !s.honourKeepAliveHint || u.keepAlive === null || !/timeout=\d+/.test(u.keepAlive)
    ? `its idleTimeoutMs ${expiry}`
    : `the upstream's Keep-Alive: ${u.keepAlive} minus its ${s.hintMarginMs} ms margin`
  return `it gives an idle connection up after ${ms(expiry)} (${source}), before the ${ms(Math.max(...landsAt))} idle at which the race lands, so that request goes out on a new connection`
}

/** Warnings for one scenario: setup-wide problems first, then per-variant ones; each once, with its variants. */
export function lintScenario(scenario: Scenario, options: LintOptions): LintWarning[] {
  const validates = validatesIdleSockets(options.undiciVersion)
  type Found = Omit<LintWarning, 'file' | 'variants' | 'unmet'>
  const found = new Map<string, { warning: Found; variants: string[]; unmet: Array<{ variant: string; check: string }> }>()
  const add = (w: Found, variant: string, unmet: readonly Expectation[] = []): void => {
    const key = `${w.rule}|${w.path}|${w.problem}`
    const entry = found.get(key) ?? { warning: w, variants: [], unmet: [] }
    found.set(key, entry)
    if (!entry.variants.includes(variant)) entry.variants.push(variant)
    entry.unmet.push(...unmet.map((e) => ({ variant, check: e.check })))
  }
  scenario.variants.forEach((v, vi) => {
    // Durations may follow the variant's constants, so each variant's timeline is checked on its own.
    const constants = bundledConstants(v.proxy, v.connector)
    const idles = workloadIdles(scenario, constants)
    // A request reaches an upstream at most once per attempt, plus one retry of a stale socket.
    const maxArrivals = scenario.workload.requests * (constants.attempts.max + 1)
    const settings = resolveConnector(v.connector).settings
    const needsStale = v.expect.filter((e) => staleMetrics.includes(e.metric) && needsOne(e))
    scenario.upstreams.forEach((_, i) => {
      const u = upstreamFacts(scenario, i, constants, maxArrivals)
      for (const f of u.faults) {
        const named = `${f.fault.kind}${f.raw.probability !== undefined ? ` probability ${String(f.raw.probability)}` : ''}`
        if (actsOnRequests(f.fault) && !canAct(f.fault, maxArrivals)) {
          const why = f.fault.schedule.probability === 0
            ? 'its probability is 0'
            : `it starts at request ${f.fault.schedule.fromRequest} and at most ${maxArrivals} requests reach ${u.name} (${scenario.workload.requests} requests × ${constants.attempts.max} attempts, plus a stale-socket retry)`
          add({ rule: 'fault-never-acts', path: f.path, upstream: u.name, fault: named, summary: 'the fault never acts', problem: `${f.fault.kind} never acts: ${why}.`, fix: 'lower fromRequest or raise probability (0-1), or remove the fault' }, v.name)
        }
        if (f.fault.kind === 'idle-close' && f.raw.advertisedMs !== undefined && (f.raw.keepAliveHeader ?? 'honest') !== 'lying') {
          const header = String(f.raw.keepAliveHeader ?? 'honest')
          add({ rule: 'param-ignored', path: f.path, upstream: u.name, fault: f.fault.kind, summary: `advertisedMs has no effect with keepAliveHeader: ${header}`, problem: `advertisedMs is what a lying Keep-Alive header advertises; with keepAliveHeader: ${header} ${header === 'absent' ? 'no header is sent' : 'the header tells the real idleMs'}, so the client never sees it.`, fix: `remove advertisedMs, or set keepAliveHeader: lying if the relay advertises a timeout it does not keep` }, v.name)
        }
        const scheduled = ['probability', 'fromRequest', 'untilRequest', 'cycle'].filter((k) => f.raw[k] !== undefined)
        if (!actsOnRequests(f.fault) && scheduled.length > 0) {
          add({ rule: 'schedule-ignored', path: f.path, upstream: u.name, fault: f.fault.kind, summary: `${scheduled.join(', ')} ${scheduled.length === 1 ? 'has' : 'have'} no effect here`, problem: `${scheduled.join(', ')} ${scheduled.length === 1 ? 'has' : 'have'} no effect on ${f.fault.kind}: it acts on every idle connection and every response header, not on requests.`, fix: `remove ${scheduled.join(', ')}; to make a close hit only some requests, use race-close, whose schedule counts requests` }, v.name)
        }
      }
      const setup = raceProblems(u, idles, validates, options.undiciVersion)
      for (const w of setup) add(w, v.name, needsStale)
      if (setup.length > 0 || needsStale.length === 0) return
      const hasRaceFault = u.race !== undefined || u.close.kind !== 'server default'
      const why = hasRaceFault ? whyNoReuse(settings, u, idles, validates) : undefined
      if (why !== undefined) {
        add({
          rule: 'client-never-reuses', path: `variants[${vi}]`, upstream: u.name, fault: u.race ? `race-close afterIdleMs ${u.race.afterIdleMs}` : `${u.close.kind} ${u.close.ms} ms`,
          summary: `variant ${v.name}'s connector never carries a pooled connection into the race, so it meets no stale socket`,
          problem: `variant ${v.name} expects ${needsStale.map((e) => e.check).join(', ')}, but with its connector (${v.connector.profile}) ${why}.`,
          // force-close never pools, whatever its timeouts: the way to reuse is another profile.
          fix: `expect ${needsStale[0]!.metric} == 0 if this variant shows the fix, or keep the connection longer than the pause (connector: { profile: ${v.connector.profile === 'force-close' ? 'tuned-keepalive' : v.connector.profile}, idleTimeoutMs: ${(idles.gap ?? 0) + 4 * jitterMs}, honourKeepAliveHint: false })`,
        }, v.name, needsStale)
      }
    })
  })
  return [...found.values()].map(({ warning, variants, unmet }) => ({ ...warning, file: scenario.file, variants, unmet }))
}

/** One line for the top of `qcc-lab run`: where, what, and where to read why and the fix. */
export function formatLintLine(w: LintWarning): string {
  return `${w.file}: ${w.upstream ? `${w.upstream} ` : ''}${w.fault ?? w.path}: ${w.summary} (${w.rule}; \`qcc-lab lint ${w.file}\` says why and how to fix it)`
}
