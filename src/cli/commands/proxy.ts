/** `qcc-lab proxy start|stop|status`: run the bundled qcc proxy as a process, as qcc's users run theirs. */
import { spawn } from 'node:child_process'
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import { request } from 'undici'
import { startProxy } from '../../proxy/server.ts'
import { loadProxyConfig } from '../../proxy/config/load.ts'
import { isConnectorProfileName, connectorProfileNames } from '../../proxy/connector/profiles.ts'
import { QccLabError, UsageError } from '../../shared/errors.ts'
import { checkPidRecord, describeNotOurs, homeDir, pidFile, pidFiles, procStartTime, readPid, removePid, writePid, type PidRecord } from '../home.ts'
import { parseIntOption } from '../options.ts'
import { outputWidth } from '../environment.ts'
import { keep, wrap } from '../../harness/report/format-terminal.ts'
import { launcherPath } from '../../shared/package-root.ts'
import { waitUntilReady } from '../ready-wait.ts'
import { clusterWithConstants, loadTargetProfile } from '../../harness/runner/target-profile.ts'
import { setTimeout as sleep } from 'node:timers/promises'

interface StartFlags {
  readonly config: string
  readonly cluster: string
  readonly host?: string
  readonly port?: number
  readonly profile?: string
  readonly compat?: string[]
  readonly detach?: boolean
  readonly home?: string
  readonly logFile?: string
  readonly drainMs: number
  readonly readyMs: number
  readonly constants?: string
  readonly allowHost?: string[]
  readonly maxBodyBytes?: number
}

const bin = launcherPath

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

/** Does `url` answer `GET /__qcc__/stats` with 200 within `timeoutMs`? */
async function answersStats(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await request(`${url}/__qcc__/stats`, { signal: AbortSignal.timeout(Math.max(100, timeoutMs)), reset: true })
    await res.body.dump()
    return res.statusCode === 200
  } catch {
    return false
  }
}

/** The last lines the child printed (its output file from `offset` on, i.e. this child's only). */
function outputTail(file: string, offset: number): string {
  try {
    const text = readFileSync(file).subarray(offset).toString('utf8').trim()
    return text === '' ? '(it printed nothing)' : text.split('\n').slice(-20).join('\n')
  } catch (err) {
    return `(cannot read ${file}: ${(err as Error).message})`
  }
}

/**
 * Runs the proxy as a background process and reports "started" only once it is ready: its pid file
 * is written AND its port answers `GET /__qcc__/stats` with 200, within `--ready-ms`. A child that
 * died or never became ready is exit 2 with its own output; it is stopped, and its pid file removed.
 */
async function startDetached(flags: StartFlags, home: string, port: number): Promise<number> {
  const args = process.argv.slice(2).filter((a) => a !== '--detach' && a !== '-d')
  const out = path.join(home, `proxy-${port}.out`)
  const fd = openSync(out, 'a', 0o600)
  const offset = fstatSync(fd).size
  let child
  try {
    child = spawn(process.execPath, [bin, ...args], { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, QCC_LAB_HOME: home } })
  } finally {
    closeSync(fd)
  }
  child.unref()
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  child.once('exit', (code, signal) => { exit = { code, signal } })
  child.once('error', (err) => { exit ??= { code: null, signal: null }; process.stderr.write(`qcc-lab: cannot run ${process.execPath}: ${err.message}\n`) })
  const waitForExit = async (ms: number): Promise<boolean> => {
    const until = Date.now() + ms
    while (exit === undefined && Date.now() < until) await sleep(50)
    return exit !== undefined
  }

  // With --port 0 the real port is known only to the child: find its pid file by pid.
  const ready = await waitUntilReady(flags.readyMs, {
    find: () => pidFiles(home).map(readPid).find((r): r is PidRecord => r?.pid === child.pid),
    exited: () => exit !== undefined,
    answers: (rec, timeoutMs) => answersStats(rec.url, timeoutMs),
  })
  if (ready.kind === 'ready') {
    const rec = ready.record
    process.stdout.write(`qcc-lab proxy started in the background: pid ${rec.pid}, ${rec.url} (cluster ${rec.cluster})\n  logs: ${out}\n  stop: qcc-lab proxy stop --port ${rec.port}${flags.home ? ` --home ${flags.home}` : ''}\n`)
    return 0
  }

  let what: string
  const exited = (e: NonNullable<typeof exit>): string => (e.code !== null ? `exited with code ${e.code}` : e.signal ? `was killed by ${e.signal}` : 'could not be run')
  if (ready.kind === 'exited') {
    what = `pid ${child.pid ?? '?'} ${exit ? exited(exit) : 'exited'} before it answered GET /__qcc__/stats`
  } else {
    // Never ready: stop it. SIGCONT lets a stopped process act on the SIGTERM; SIGKILL if it will not drain.
    child.kill('SIGTERM')
    child.kill('SIGCONT')
    let how = 'stopped it'
    if (!(await waitForExit(5_000))) {
      child.kill('SIGKILL')
      how = (await waitForExit(2_000)) ? 'killed it (SIGKILL; it ignored SIGTERM for 5 s)' : 'it survived SIGKILL'
    }
    what = `pid ${child.pid} did not answer GET /__qcc__/stats within ${ready.readyMs / 1000} s; ${how}`
  }
  // A child that died or was killed leaves its pid file behind.
  for (const file of pidFiles(home)) {
    const r = readPid(file)
    if (r && r.pid === child.pid && checkPidRecord(r).status !== 'ours') removePid(file)
  }
  process.stderr.write(`qcc-lab: Failed to start the proxy in the background: ${what}. Its output (${out}):\n${outputTail(out, offset)}\n`)
  return 2
}

/** The first existing ancestor of `file` that is not a folder (why opening it said ENOTDIR). */
function notAFolder(file: string): string {
  for (let p = path.dirname(file); p !== path.dirname(p); p = path.dirname(p)) {
    try {
      if (!statSync(p).isDirectory()) return p
    } catch { /* missing or itself under a non-folder: look further up */ }
  }
  return path.dirname(file)
}

/**
 * Opens the proxy log for append before anything listens, so that a log it cannot write is exit 2
 * with the reason and the fix, not a crash after the pid file was written.
 */
function checkLogFile(file: string, source: 'flag' | 'config' | 'default', config: string): void {
  let fd: number
  try {
    fd = openSync(file, 'a', 0o600)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const fix = source === 'flag' ? 'pick another file with --log-file'
      : source === 'config' ? `set logFile in ${config} (or --log-file) to a file you can write`
        : 'pick a file you can write with --log-file, or another --home'
    const Fix = fix[0]!.toUpperCase() + fix.slice(1)
    const [reason, hint] =
      code === 'ENOENT' ? [`its folder ${path.dirname(file)} does not exist`, `Create the folder, or ${fix}`]
        : code === 'EACCES' || code === 'EPERM' ? ['permission denied', Fix]
          : code === 'EROFS' ? ['the file system is read-only', Fix]
            : code === 'EISDIR' ? ['it is a folder', `Give a file in it, e.g. ${path.join(file, 'proxy.log')}, or ${fix}`]
              : code === 'ENOTDIR' ? [`${notAFolder(file)} is not a folder`, Fix]
                : code === 'ENOSPC' ? ['no space left on the device', `Free some space, or ${fix}`]
                  : [(err as Error).message.replace(/[.\s]+$/, ''), Fix]
    throw new QccLabError('LOG_FILE', `Failed to open the proxy log ${file}: ${reason}. ${hint}.`)
  }
  closeSync(fd)
}

export async function proxyStart(flags: StartFlags): Promise<number> {
  const loaded = loadProxyConfig(flags.config, flags.cluster)
  for (const w of loaded.warnings) process.stderr.write(`qcc-lab: warning: ${w}\n`)
  if (flags.host === undefined && loaded.host !== undefined && !isLoopback(loaded.host)) {
    throw new UsageError(`${flags.config}: host: "${loaded.host}" is not a loopback address; binding beyond this machine needs an explicit --host ${loaded.host} on the command line.`)
  }
  const host = flags.host ?? loaded.host ?? '127.0.0.1'
  const port = flags.port ?? loaded.port ?? 7860
  if (flags.profile !== undefined && !isConnectorProfileName(flags.profile)) {
    throw new UsageError(`--profile: unknown connector profile "${flags.profile}"; expected one of ${connectorProfileNames.join(', ')}.`)
  }
  const home = homeDir(flags.home)
  const existing = port === 0 ? undefined : readPid(pidFile(home, port))
  if (existing && existing.pid !== process.pid) {
    if (checkPidRecord(existing).status === 'ours') {
      throw new QccLabError('ALREADY_RUNNING', `Failed to start the proxy: a qcc-lab proxy already runs on port ${port} (pid ${existing.pid}, ${existing.url}); it was left alone. Stop it with \`qcc-lab proxy stop --port ${port}\` or pick another --port.`)
    }
    // Dead, or its pid now belongs to another process: the pid file is stale.
    removePid(pidFile(home, port))
  }
  const logFile = flags.logFile ?? loaded.logFile ?? path.join(home, 'proxy.log')
  checkLogFile(logFile, flags.logFile !== undefined ? 'flag' : loaded.logFile !== undefined ? 'config' : 'default', flags.config)
  if (!isLoopback(host)) {
    process.stderr.write(`qcc-lab: warning: listening on ${host}, not loopback: anyone who can reach this port can spend the cluster's API keys (the proxy has no authentication).\n`)
  }
  if (flags.detach) return startDetached(flags, home, port)

  const selected = {
    ...loaded.cluster,
    connector: flags.profile ? { profile: flags.profile as (typeof connectorProfileNames)[number] } : loaded.cluster.connector,
    compat: [...(loaded.cluster.compat ?? []), ...(flags.compat ?? [])],
  }
  // A target profile's constants (attempts, breaker, verifier, recovery, headers timeout), as declared.
  const cluster = flags.constants === undefined ? selected : { ...clusterWithConstants(selected, loadTargetProfile(flags.constants, '--constants').constants), compat: selected.compat }
  const allowedHosts = [...(loaded.allowedHosts ?? []), ...(flags.allowHost ?? [])]
  let proxy
  try {
    proxy = await startProxy({ host, port, cluster, logFile, ...(allowedHosts.length > 0 ? { allowedHosts } : {}), maxBodyBytes: flags.maxBodyBytes ?? loaded.maxBodyBytes })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new QccLabError('PORT_IN_USE', `Failed to start the proxy: ${host}:${port} is already in use by another process; it was left alone. Pick another --port.`)
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new QccLabError('BAD_HOST', `Failed to start the proxy: cannot listen on ${host} (${code}). Use an address of this machine, e.g. 127.0.0.1.`)
    throw err
  }
  const startTicks = procStartTime(process.pid)
  const record: PidRecord = {
    pid: process.pid, host, port: proxy.port, url: proxy.url, start_time: new Date().toISOString(), cluster: cluster.name, config: path.resolve(flags.config),
    ...(startTicks === undefined ? {} : { proc_starttime: startTicks }),
  }
  const file = writePid(home, record)
  const profiles = [...new Set(proxy.stats().endpoints.map((e) => e.connector_profile))].join('/')
  // Stop on a signal from before the line that says it listens: a supervisor may send one as soon as it reads it.
  const stopped = new Promise<void>((resolve) => {
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) {
        process.stderr.write(`qcc-lab: second ${signal}; exiting without draining\n`)
        removePid(file)
        process.exit(1)
      }
      stopping = true
      process.stdout.write(`qcc-lab proxy: ${signal}; draining in-flight requests (up to ${flags.drainMs} ms)…\n`)
      proxy.close(flags.drainMs).finally(() => {
        removePid(file)
        process.stdout.write('qcc-lab proxy: stopped\n')
        resolve()
      })
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  process.stdout.write(
    `qcc-lab proxy listening on ${proxy.url} (pid ${process.pid}; cluster ${cluster.name}: ${cluster.endpoints.length} endpoint(s), connector ${profiles}${cluster.compat.length > 0 ? `, compat ${cluster.compat.join(',')}` : ''})\n` +
      `  export ANTHROPIC_BASE_URL=${proxy.url}\n  export ANTHROPIC_API_KEY=proxy-managed\n` +
      `  stats: ${proxy.url}/__qcc__/stats · stop: Ctrl-C or qcc-lab proxy stop --port ${proxy.port}\n`,
  )

  await stopped
  return 0
}

export async function proxyStop(flags: { home?: string; port?: number }): Promise<number> {
  const home = homeDir(flags.home)
  const files = pidFiles(home, flags.port)
  let stopped = 0
  for (const file of files) {
    const rec = readPid(file)
    if (!rec) continue
    // Only a pid that is provably this proxy is ever signalled.
    const check = checkPidRecord(rec)
    if (check.status !== 'ours') {
      removePid(file)
      process.stdout.write(`${check.status === 'dead' ? `port ${rec.port}: not running (removed a stale pid file for pid ${rec.pid})` : describeNotOurs(rec, check)}\n`)
      continue
    }
    try {
      process.kill(rec.pid, 'SIGTERM')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw new QccLabError('STOP_FAILED', `port ${rec.port}: cannot signal pid ${rec.pid}: ${(err as Error).message}`)
      // It exited between the check and the signal.
    }
    const deadline = Date.now() + 20_000
    const stillOurs = (): boolean => checkPidRecord(rec).status === 'ours'
    while (stillOurs() && Date.now() < deadline) await sleep(50)
    if (stillOurs()) {
      process.stderr.write(`qcc-lab: port ${rec.port}: pid ${rec.pid} did not stop within 20 s of SIGTERM\n`)
      return 2
    }
    removePid(file)
    stopped++
    process.stdout.write(`port ${rec.port}: stopped pid ${rec.pid} (${rec.url})\n`)
  }
  if (stopped === 0 && files.every((f) => !readPid(f))) process.stdout.write(`no qcc-lab proxy is running${flags.port ? ` on port ${flags.port}` : ''} (home ${home})\n`)
  return 0
}

/** The part of `/__qcc__/stats` that `proxy status` prints; every field optional (an older proxy may lack one). */
interface StatusStats {
  readonly total_requests?: number
  readonly success_rate?: number
  readonly strategy?: string
  readonly failure_queue_size?: number
  readonly endpoints?: ReadonlyArray<{
    readonly id?: string
    readonly base_url?: string
    readonly api_key?: string
    readonly priority?: number
    readonly enabled?: boolean
    readonly tier?: string | null
    readonly health_status?: { readonly last_error?: string | null }
    readonly failure_queue_reason?: string | null
  }>
}

/**
 * One running proxy for a person: each endpoint by its URL and key ending (several keys may share a
 * relay's URL), its tier and priority; the id, which only config overrides and logs use, last.
 */
export function formatProxyStatus(r: PidRecord & { uptime_s: number; stats?: unknown }, width: number): string[] {
  const lines = wrap([r.url, `pid ${r.pid}`, `cluster ${r.cluster}`, `up ${r.uptime_s} s`].map(keep).join('  '), width, '', '  ')
  const s = r.stats as StatusStats | undefined
  if (s === undefined || s === null || typeof s !== 'object') return [...lines, '  (not answering /__qcc__/stats)']
  const n = s.total_requests ?? 0
  const head = [`${n} request${n === 1 ? '' : 's'}, ${s.success_rate ?? '?'}% succeeded`]
  if (s.strategy) head.push(`strategy ${s.strategy}`)
  if (s.failure_queue_size !== undefined) head.push(`failure queue ${s.failure_queue_size}`)
  lines.push(...wrap(head.map(keep).join('\u00a0· '), width, '  ', '    '))
  const endpoints = s.endpoints ?? []
  const state = (e: (typeof endpoints)[number]): string => (e.enabled === false ? 'disabled' : e.tier ?? 'unknown')
  const tierWidth = Math.max(0, ...endpoints.map((e) => state(e).length))
  for (const e of endpoints) {
    const parts = [e.base_url ?? '(no URL)', e.api_key ? keep(`key ${e.api_key}`) : undefined, e.priority !== undefined ? keep(`priority ${e.priority}`) : undefined, e.id ? keep(`(id ${e.id})`) : undefined]
    lines.push(...wrap(`${state(e).padEnd(tierWidth)}  ${parts.filter((p) => p !== undefined).join('  ')}`, width, '    ', `    ${' '.repeat(tierWidth + 2)}`))
    const why = e.failure_queue_reason ?? (state(e) !== 'healthy' ? e.health_status?.last_error : undefined)
    if (why) lines.push(...wrap(`${e.failure_queue_reason ? 'queued because' : 'last error'}: ${why}`, width, `    ${' '.repeat(tierWidth + 2)}`))
  }
  return lines
}

export async function proxyStatus(flags: { home?: string; port?: number; json?: boolean }): Promise<number> {
  const home = homeDir(flags.home)
  const running: Array<PidRecord & { uptime_s: number; stats?: unknown }> = []
  for (const file of pidFiles(home, flags.port)) {
    const rec = readPid(file)
    if (!rec) continue
    const check = checkPidRecord(rec)
    if (check.status !== 'ours') {
      // Reported on stderr: stdout may be --json.
      removePid(file)
      process.stderr.write(`${check.status === 'dead' ? `port ${rec.port}: not running (removed a stale pid file for pid ${rec.pid})` : describeNotOurs(rec, check)}\n`)
      continue
    }
    let stats: unknown
    try {
      const res = await request(`${rec.url}/__qcc__/stats`, { signal: AbortSignal.timeout(2_000) })
      stats = await res.body.json()
    } catch { /* running but not answering */ }
    running.push({ ...rec, uptime_s: Math.round((Date.now() - Date.parse(rec.start_time)) / 1000), stats })
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ running }, null, 2)}\n`)
  } else if (running.length === 0) {
    process.stdout.write(`no qcc-lab proxy is running${flags.port ? ` on port ${flags.port}` : ''} (home ${home})\n`)
  } else {
    const width = outputWidth(process.stdout)
    for (const r of running) process.stdout.write(`${formatProxyStatus(r, width).join('\n')}\n`)
  }
  return running.length > 0 ? 0 : 1
}

export function registerProxy(program: Command): void {
  const proxy = program.command('proxy').description('Run the bundled qcc proxy (qcc\'s behaviour, fixed by default; historical bugs via --compat).')
  proxy
    .command('start')
    .description('Start the proxy in the foreground (Ctrl-C drains and stops it), or in the background with --detach.')
    .requiredOption('-c, --config <file>', 'qcc\'s ~/.fastcc/cache.json, or a qcc-lab proxy config (YAML or JSON)')
    .requiredOption('--cluster <name>', 'the cluster (qcc profile with endpoints) to serve')
    .option('--host <address>', 'listen address (default 127.0.0.1; anything else prints a warning)')
    .option('--port <n>', 'listen port (default 7860, qcc\'s)', parseIntOption('--port', 0, 65_535))
    .option('--profile <connector>', `connector profile for every endpoint: ${connectorProfileNames.join(', ')}`)
    .option('--compat <name...>', 'historical qcc behaviours to replay (switches or presets; see `qcc-lab list`)')
    .option('-d, --detach', 'run in the background; the pid file goes under the home folder')
    .option('--home <dir>', 'where pid files and logs go (default $QCC_LAB_HOME or ~/.qcc-lab)')
    .option('--log-file <file>', 'append proxy log lines here (default <home>/proxy.log)')
    .option('--drain-ms <n>', 'on SIGINT/SIGTERM, wait this long for in-flight requests', parseIntOption('--drain-ms', 0, 600_000), 10_000)
    .option('--ready-ms <n>', 'with --detach, how long to wait for the background proxy to answer GET /__qcc__/stats', parseIntOption('--ready-ms', 100, 600_000), 15_000)
    .option('--allow-host <name...>', 'host names a request\'s Host (and a browser\'s Origin) may carry besides 127.0.0.1, localhost, ::1 and --host; "*" allows any (guards against DNS rebinding and web pages spending the keys)')
    .option('--max-body-bytes <n>', 'largest request body accepted; larger ones get 413 (default 33554432, 32 MiB)', parseIntOption('--max-body-bytes', 1, 2 ** 31))
    .option('--constants <file>', 'run with a target profile\'s constants (attempts, breaker, verifierIntervalMs, recoverMs, headersTimeoutMs), as `run --target-cmd … --constants {profile}` passes them')
    .action(async (flags: StartFlags) => { process.exitCode = await proxyStart(flags) })
  proxy
    .command('stop')
    .description('Stop background proxies started from this home folder (SIGTERM, then wait for the drain).')
    .option('--port <n>', 'only the proxy on this port', parseIntOption('--port', 1, 65_535))
    .option('--home <dir>', 'home folder (default $QCC_LAB_HOME or ~/.qcc-lab)')
    .action(async (flags: { home?: string; port?: number }) => { process.exitCode = await proxyStop(flags) })
  proxy
    .command('status')
    .description('Show running proxies with a summary of their stats; exit 0 if one runs, 1 if none.')
    .option('--port <n>', 'only the proxy on this port', parseIntOption('--port', 1, 65_535))
    .option('--home <dir>', 'home folder (default $QCC_LAB_HOME or ~/.qcc-lab)')
    .option('--json', 'machine-readable output')
    .action(async (flags: { home?: string; port?: number; json?: boolean }) => { process.exitCode = await proxyStatus(flags) })
}
