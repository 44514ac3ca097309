/**
 * Target mode: the system under test is an external proxy process. The runner writes a qcc-format
 * cache.json whose cluster points at the fake upstreams, starts the command with `{config} {cluster}
 * {port} {home}` filled in, waits for its port, and afterwards stops it (SIGTERM to its process group,
 * then SIGKILL after 10 s). It talks to the proxy only over HTTP.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { request } from 'undici'
import { QccLabError } from '../../shared/errors.ts'
import { freePort } from '../../shared/ports.ts'

export interface TargetEndpoint {
  readonly baseUrl: string
  readonly apiKey: string
  readonly priority?: number
  readonly weight?: number
}

export interface RunningTarget {
  readonly url: string
  /** `/__qcc__/stats` if the target answers it. */
  stats(): Promise<unknown>
  stop(): Promise<void>
}

/** A qcc `cache.json` with one cluster profile, as qcc's own writer lays it out (spec §1.2). */
export function qccCacheFor(cluster: string, endpoints: readonly TargetEndpoint[]): string {
  const eps = endpoints.map((e) => ({
    base_url: e.baseUrl, api_key: e.apiKey, weight: e.weight ?? 100, priority: e.priority ?? 1,
    enabled: true, max_failures: 3, timeout: 30, metadata: {},
  }))
  return `${JSON.stringify({
    user_id: 'local:qcc-lab',
    settings: { default_profile: cluster, proxy_model_mode: 'passthrough' },
    profiles: { [cluster]: { name: cluster, description: 'qcc-lab target-mode cluster', priority: 'primary', enabled: true, endpoints: eps, base_url: eps[0]?.base_url, api_key: eps[0]?.api_key } },
  }, null, 2)}\n`
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/** Fills `{config} {cluster} {port} {home}` (shell-quoted). */
export function fillCommand(template: string, values: Record<'config' | 'cluster' | 'port' | 'home', string>): string {
  return template.replace(/\{(config|cluster|port|home)\}/g, (_m, key: keyof typeof values) => quote(values[key]))
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

export async function startTarget(command: string, cluster: string, endpoints: readonly TargetEndpoint[], options: { readonly startTimeoutMs?: number } = {}): Promise<RunningTarget> {
  const home = mkdtempSync(path.join(tmpdir(), 'qcc-lab-target-'))
  const config = path.join(home, 'cache.json')
  writeFileSync(config, qccCacheFor(cluster, endpoints), { mode: 0o600 })
  const port = await freePort()
  const log = path.join(home, 'target.log')
  const fd = openSync(log, 'a')
  const child = spawn('sh', ['-c', fillCommand(command, { config, cluster, port: String(port), home })], {
    detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, NO_COLOR: '1' },
  })
  let exitCode: number | null = null
  const exited = new Promise<void>((resolve) => child.once('exit', (code) => { exitCode = code ?? 1; resolve() }))
  const tail = (): string => readFileSync(log, 'utf8').trim().split('\n').slice(-8).join('\n')
  const kill = (signal: NodeJS.Signals): void => {
    try { if (child.pid) process.kill(-child.pid, signal) } catch { /* already gone */ }
  }
  const stop = async (): Promise<void> => {
    if (exitCode === null) {
      kill('SIGTERM')
      const timer = setTimeout(() => kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    rmSync(home, { recursive: true, force: true })
  }

  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000)
  while (!(await canConnect(port))) {
    if (exitCode !== null || Date.now() > deadline) {
      const why = exitCode !== null ? `it exited with code ${exitCode}` : `port ${port} did not open within ${options.startTimeoutMs ?? 20_000} ms`
      const output = tail()
      await stop()
      throw new QccLabError('TARGET_FAILED', `Failed to start the target proxy (${why}). Command: ${command}\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    async stats() {
      try {
        const res = await request(`${url}/__qcc__/stats`, { signal: AbortSignal.timeout(2_000) })
        const body = await res.body.text()
        return res.statusCode === 200 ? JSON.parse(body) : undefined
      } catch {
        return undefined
      }
    },
    stop,
  }
}
