/**
 * Target mode: the system under test is an external proxy process. The runner writes a qcc-format
 * cache.json whose cluster points at the fake upstreams — at `{home}/cache.json` and at
 * `{home}/.fastcc/cache.json`, so `HOME={home} qcc proxy start --cluster {cluster} --port {port}` needs
 * no wrapper — starts the command with `{config} {cluster} {port} {home}` (and any extra placeholders)
 * filled in, waits for its port, and talks to it only over HTTP.
 *
 * Stopping: the command runs under `sh -c` in its own process group. stop() sends SIGTERM to the whole
 * group, waits until no process of the group is left (or `stopTimeoutMs` passes), then SIGKILLs the
 * group — whether or not the `sh` wrapper itself is still there. A process that leaves the group on
 * its own (setsid, daemonising) is out of reach.
 */
import { spawn } from 'node:child_process'
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { realClock, type Clock } from '../../shared/clock.ts'
import { QccLabError, UsageError } from '../../shared/errors.ts'
import { closest } from '../gate/expectation.ts'
import { portForChild } from '../../shared/ports.ts'
import { endpointId } from '../../proxy/config.ts'

export interface TargetEndpoint {
  readonly baseUrl: string
  readonly apiKey: string
  readonly priority?: number
  readonly weight?: number
  /** The upstream's name; names its plain qcc profile (default `endpoint-<n>`, 1-based). */
  readonly name?: string
}

/**
 * How the cache.json is laid out:
 * - `qcc`: as qcc's CLI leaves it after `qcc init`, one `qcc add <name>` per endpoint and
 *   `qcc endpoint add <cluster>`; `settings.default_profile` is the first plain profile, so qcc's
 *   fallback (spec §3.2) goes to the first upstream.
 * - `null-default`: the same with `settings.default_profile: null` — no fallback at all.
 * - `cluster-default`: just the cluster, and it is the default profile (qcc-lab's original file).
 */
export type QccLayout = 'qcc' | 'null-default' | 'cluster-default'
export const qccLayouts: readonly QccLayout[] = ['qcc', 'null-default', 'cluster-default']

/** How stop() ended the target: it had already exited, SIGTERM was enough, or SIGKILL was needed. */
export type TargetEnded = 'exited' | 'terminated' | 'killed'

export interface StartTargetOptions {
  /** A shell command; `{config} {cluster} {port} {home}` and `placeholders` are filled in shell-quoted. */
  readonly command: string
  readonly cluster: string
  readonly endpoints: readonly TargetEndpoint[]
  /** Default `qcc`. */
  readonly layout?: QccLayout
  /** Extra `{name}` placeholders, e.g. `{ profile: 'relay-a' }`. They may not reuse a built-in name. */
  readonly placeholders?: Readonly<Record<string, string>>
  /** How long the port may take to open. Default 20 s. */
  readonly startTimeoutMs?: number
  /** How long stop() waits after SIGTERM before SIGKILL. Default 10 s. */
  readonly stopTimeoutMs?: number
  /** The clock that `stopTimeoutMs` runs on (see {@link stopProcessGroup}). Default the real one; a test's virtual
   *  one tells that SIGKILL came at `stopTimeoutMs`, not at the 10 s default, without measuring wall time. */
  readonly stopClock?: Clock
  /** Added to (or, with undefined, removed from) the environment. The child gets NO_COLOR=1 and the
   *  caller's HOME; write `HOME={home}` in the command to point qcc at the written config. */
  readonly env?: Readonly<Record<string, string | undefined>>
}

export interface TargetStopResult {
  readonly ended: TargetEnded
  /** Set with `keepHome`: the kept folder (cache.json, .fastcc/, target.log). */
  readonly home?: string
}

export interface TargetProcess {
  readonly url: string
  /** A fresh 0700 folder: `{home}` in the command. */
  readonly home: string
  /** `{home}/cache.json`: `{config}` in the command (a copy is at `{home}/.fastcc/cache.json`). */
  readonly configFile: string
  /** The command's stdout and stderr. */
  readonly logFile: string
  /** The process group id (the `sh -c` wrapper's pid). */
  readonly pgid: number
  /** `/__qcc__/stats` if the target answers it. */
  stats(): Promise<unknown | undefined>
  /** Idempotent; a second call returns the first call's result. */
  stop(options?: { readonly keepHome?: boolean }): Promise<TargetStopResult>
  /** The target's own output so far (still available after stop()). */
  log(): string
}

/** Python's `datetime.now().isoformat()`: local time, microseconds, no offset. */
function pythonIsoNow(d: Date = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`
}

/** qcc-lab's original file: one cluster profile that is also the default. */
function clusterDefaultCache(cluster: string, endpoints: readonly TargetEndpoint[]): unknown {
  const eps = endpoints.map((e) => ({
    base_url: e.baseUrl, api_key: e.apiKey, weight: e.weight ?? 100, priority: e.priority ?? 1,
    enabled: true, max_failures: 3, timeout: 30, metadata: {},
  }))
  return {
    user_id: 'local:qcc-lab',
    settings: { default_profile: cluster, proxy_model_mode: 'passthrough' },
    profiles: { [cluster]: { name: cluster, description: 'qcc-lab target-mode cluster', priority: 'primary', enabled: true, endpoints: eps, base_url: eps[0]?.base_url, api_key: eps[0]?.api_key } },
  }
}

/** Plain-profile names: the upstream's name, unique and distinct from the cluster's. */
function profileNames(cluster: string, endpoints: readonly TargetEndpoint[]): string[] {
  const used = new Set([cluster])
  return endpoints.map((e, i) => {
    const base = e.name && e.name.length > 0 ? e.name : `endpoint-${i + 1}`
    let name = base
    for (let n = 2; used.has(name); n++) name = `${base}-${n}`
    used.add(name)
    return name
  })
}

/**
 * A qcc `cache.json` for `cluster` over `endpoints`, in key order and with the fields qcc's own
 * writers (`ConfigProfile.to_dict`, `Endpoint.to_dict`, spec §1.2) produce. See {@link QccLayout}.
 */
export function qccCacheFor(cluster: string, endpoints: readonly TargetEndpoint[], layout: QccLayout = 'qcc'): string {
  if (layout === 'cluster-default') return `${JSON.stringify(clusterDefaultCache(cluster, endpoints), null, 2)}\n`
  const now = pythonIsoNow()
  const names = profileNames(cluster, endpoints)
  const profiles: Record<string, unknown> = {}
  endpoints.forEach((e, i) => {
    const name = names[i]!
    profiles[name] = {
      name, description: `qcc-lab upstream ${name}`, priority: 'primary', enabled: true,
      created_at: now, last_used: null, base_url: e.baseUrl, api_key: e.apiKey,
    }
  })
  const eps = endpoints.map((e, i) => ({
    id: endpointId(e.baseUrl, e.apiKey), base_url: e.baseUrl, api_key: e.apiKey,
    weight: 100, priority: e.priority ?? 1, enabled: true, max_failures: 3, timeout: 30,
    source_profile: names[i]!,
    metadata: { source_description: `qcc-lab upstream ${names[i]!}`, imported_at: now },
    created_at: now,
  }))
  const primaries = eps.filter((e) => e.priority === 1).length
  const secondaries = eps.length - primaries
  profiles[cluster] = {
    name: cluster,
    description: `Endpoint 集群 - ${primaries} 主节点${secondaries > 0 ? ` + ${secondaries} 副节点` : ''}`,
    priority: 'primary', enabled: true, created_at: now, last_used: null,
    // to_dict writes `endpoints` only when there are some, and then base_url/api_key of the first.
    ...(eps.length > 0 ? { endpoints: eps, base_url: eps[0]!.base_url, api_key: eps[0]!.api_key } : { base_url: '', api_key: '' }),
  }
  const cache = {
    user_id: 'local:qcc-lab',
    settings: {
      // `qcc add` makes the first profile the default; before any, `qcc init` leaves null.
      default_profile: layout === 'qcc' ? (names[0] ?? null) : null,
      auto_sync: false,
      encryption_enabled: false,
      storage_backend_type: 'local',
      storage_initialized: true,
      test_model: 'claude-3-5-haiku-20241022',
      proxy_model_mode: 'passthrough',
      proxy_model_override: 'claude-3-5-sonnet-20241022',
    },
    profiles,
  }
  return `${JSON.stringify(cache, null, 2)}\n`
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`
const placeholderName = /^[A-Za-z_][A-Za-z0-9_-]*$/
const builtIns = ['config', 'cluster', 'port', 'home'] as const

/**
 * Checks a target command before anything starts: every `{name}` must be one the run fills in (a typo is
 * exit 2 with the nearest name), and none may sit inside quotes (values are filled in shell-quoted
 * already: `"{home}/x"` would put the quotes into the path).
 */
export function checkTargetCommand(template: string, known: readonly string[]): void {
  for (const m of template.matchAll(/\{([A-Za-z_][A-Za-z0-9_-]*)\}/g)) {
    const name = m[1]!
    if (!known.includes(name)) {
      const near = closest(name, known)
      throw new UsageError(`--target-cmd: unknown placeholder {${name}}${near ? `; did you mean {${near}}?` : ''} (placeholders: ${known.map((k) => `{${k}}`).join(' ')})`)
    }
  }
  for (const quoted of template.matchAll(/"[^"]*"|'[^']*'/g)) {
    const inside = /\{([A-Za-z_][A-Za-z0-9_-]*)\}/.exec(quoted[0])
    if (inside) throw new UsageError(`--target-cmd: {${inside[1]}} is inside quotes (${quoted[0]}); placeholders are filled in shell-quoted already, so write it without quotes (e.g. --config {config}, or {home}/.fastcc/cache.json).`)
  }
}

/** Every target this process started and has not stopped yet: stopped by {@link stopAllTargets} on Ctrl-C. */
const live = new Set<TargetProcess>()

/** Stops every target still running (SIGTERM, then SIGKILL to its group) and removes its home. */
export async function stopAllTargets(): Promise<void> {
  await Promise.allSettled([...live].map((t) => t.stop()))
}

/** A target that did not come up: its home (config, its own output) is kept for a look. */
export class TargetStartError extends QccLabError {
  readonly home: string
  readonly output: string
  constructor(message: string, home: string, output: string) {
    super('TARGET_FAILED', message)
    this.name = 'TargetStartError'
    this.home = home
    this.output = output
  }
}

/** Fills every `{name}` that `values` has, shell-quoted; any other `{name}` is left as it is. */
export function fillCommand(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_-]*)\}/g, (m, key: string) => {
    const v = Object.hasOwn(values, key) ? values[key] : undefined
    return typeof v === 'string' ? quote(v) : m
  })
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/** Is this /proc/<pid>/stat of a member of `pgid` that still runs? Returns the state too. */
function statOf(file: string): { state: string; pgrp: number } | undefined {
  let stat: string
  try { stat = readFileSync(file, 'utf8') } catch { return undefined }
  // pid (comm) state ppid pgrp …; comm may contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { state: fields[0] ?? '', pgrp: Number(fields[2]) }
}
const dead = (state: string): boolean => state === 'Z' || state === 'X' || state === 'x'

/** Has process `pid` any thread left that is not dead? A multi-threaded process (node) whose main
 *  thread has exited shows `Z` while its other threads still run and hold its sockets open. */
function anyThreadLive(pid: string): boolean {
  let tasks: string[]
  try { tasks = readdirSync(`/proc/${pid}/task`) } catch { return false }
  return tasks.some((tid) => {
    const s = statOf(`/proc/${pid}/task/${tid}/stat`)
    return s !== undefined && !dead(s.state)
  })
}

/** Does any process of group `pgid` still exist? Zombies, which only wait to be reaped (by PID 1 for
 *  orphans, which can take seconds), do not count. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
  // kill(2) also reaches zombies; where /proc exists, ask whether a live member is left.
  if (process.platform !== 'linux' || !existsSync('/proc/self/stat')) return true
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const s = statOf(`/proc/${entry}/stat`)
    if (s?.pgrp === pgid && (!dead(s.state) || anyThreadLive(entry))) return true
  }
  return false
}

async function waitGroupGone(pgid: number, timeoutMs: number, clock: Clock): Promise<boolean> {
  const deadline = clock.now() + timeoutMs
  for (;;) {
    if (!groupAlive(pgid)) return true
    if (clock.now() >= deadline) return false
    await clock.sleep(Math.min(25, Math.max(1, deadline - clock.now())))
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pgid, signal) } catch { /* ESRCH: nothing left */ }
}

/** How long the group may take to disappear after SIGKILL before stop() gives up. */
const killWaitMs = 5_000

/**
 * SIGTERM to the group, wait up to `stopTimeoutMs` on `clock`, then SIGKILL and wait again (bounded).
 *
 * Only the SIGTERM grace period runs on `clock`. The wait after SIGKILL always runs on the real clock:
 * it is a bound against a kernel that does not remove the group, not a deadline anyone tests, and on a
 * virtual clock (which races ahead, one real event-loop turn per step) it could give up on a killed
 * process that a loaded machine has not torn down yet. So a virtual clock reads, when this returns
 * 'killed', exactly the instant SIGKILL was sent.
 */
export async function stopProcessGroup(pgid: number, stopTimeoutMs: number, clock: Clock = realClock): Promise<TargetEnded> {
  const wasAlive = groupAlive(pgid)
  signalGroup(pgid, 'SIGTERM')
  if (!wasAlive) return 'exited'
  if (await waitGroupGone(pgid, stopTimeoutMs, clock)) return 'terminated'
  signalGroup(pgid, 'SIGKILL')
  if (await waitGroupGone(pgid, killWaitMs, realClock)) return 'killed'
  throw new QccLabError('TARGET_FAILED', `The target proxy's process group ${pgid} is still alive ${killWaitMs} ms after SIGKILL.`)
}

export async function startTargetProcess(options: StartTargetOptions): Promise<TargetProcess> {
  const { command, cluster, endpoints } = options
  const extra = options.placeholders ?? {}
  for (const key of Object.keys(extra)) {
    if (!placeholderName.test(key)) throw new UsageError(`Target placeholder "{${key}}" is not a valid name (letters, digits, _ and -).`)
    if ((builtIns as readonly string[]).includes(key)) throw new UsageError(`Target placeholder "{${key}}" is built in; pick another name.`)
  }
  const startTimeoutMs = options.startTimeoutMs ?? 20_000
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000

  const home = mkdtempSync(path.join(tmpdir(), 'qcc-lab-target-'))
  const configFile = path.join(home, 'cache.json')
  const logFile = path.join(home, 'target.log')
  let child: ReturnType<typeof spawn>
  let port: number
  try {
    const text = qccCacheFor(cluster, endpoints, options.layout ?? 'qcc')
    const fastcc = path.join(home, '.fastcc')
    mkdirSync(fastcc, { mode: 0o700 })
    chmodSync(fastcc, 0o700)
    for (const f of [configFile, path.join(fastcc, 'cache.json')]) {
      writeFileSync(f, text, { mode: 0o600 })
      chmodSync(f, 0o600)
    }
    port = await portForChild()
    const fd = openSync(logFile, 'a')
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
      for (const [k, v] of Object.entries(options.env ?? {})) {
        if (v === undefined) delete env[k]
        else env[k] = v
      }
      child = spawn('sh', ['-c', fillCommand(command, { ...extra, config: configFile, cluster, port: String(port), home })], {
        detached: true, stdio: ['ignore', fd, fd], env,
      })
    } finally {
      closeSync(fd) // the child has its own copy
    }
  } catch (err) {
    rmSync(home, { recursive: true, force: true })
    throw err
  }
  let exitCode: number | null = null
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => { exitCode = code ?? (signal ? 128 : 1); resolve() }))
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined))
    child.once('error', resolve)
  })
  if (spawnError || child.pid === undefined) {
    rmSync(home, { recursive: true, force: true })
    throw new QccLabError('TARGET_FAILED', `Failed to start the target proxy (${spawnError?.message ?? 'no pid'}). Command: ${command}`)
  }
  const pgid = child.pid

  const url = `http://127.0.0.1:${port}`
  const handle: TargetProcess = {
    url, home, configFile, logFile, pgid,
    async stats() {
      try {
        const res = await request(`${url}/__qcc__/stats`, { signal: AbortSignal.timeout(2_000) })
        const body = await res.body.text()
        return res.statusCode === 200 ? JSON.parse(body) : undefined
      } catch {
        return undefined
      }
    },
    stop: (o) => stop(o),
    log: () => log(),
  }
  live.add(handle)
  let finalLog: string | undefined
  const log = (): string => {
    if (finalLog !== undefined) return finalLog
    try { return readFileSync(logFile, 'utf8') } catch { return '' }
  }
  let stopping: Promise<TargetStopResult> | undefined
  const stop = (stopOptions: { readonly keepHome?: boolean } = {}): Promise<TargetStopResult> => {
    stopping ??= (async () => {
      try {
        const ended = await stopProcessGroup(pgid, stopTimeoutMs, options.stopClock)
        // The wrapper is gone with its group; let Node see its exit (bounded, it is near-instant).
        await Promise.race([exited, sleep(1_000, undefined, { ref: false })])
        return ended
      } finally {
        finalLog = log()
        live.delete(handle)
        if (!stopOptions.keepHome) rmSync(home, { recursive: true, force: true })
      }
    })().then((ended) => (stopOptions.keepHome ? { ended, home } : { ended }))
    return stopping
  }

  const deadline = Date.now() + startTimeoutMs
  while (!(await canConnect(port))) {
    // A wrapper may exit once it has put the proxy in the background: only a gone group is a failure.
    const gone = exitCode !== null && !groupAlive(pgid)
    if (gone || Date.now() > deadline) {
      const why = gone ? `it exited with code ${exitCode}` : `port ${port} did not open within ${startTimeoutMs} ms`
      const output = log().trim().split('\n').slice(-8).join('\n')
      await stop({ keepHome: true })
      throw new TargetStartError(`Failed to start the target proxy (${why}). Command: ${command}\n${output}`, home, output)
    }
    await sleep(50)
  }
  return handle
}
