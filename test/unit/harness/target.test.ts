/** Target mode: the cache.json layouts, placeholders, and stopping a target that does not want to stop. */
import { afterEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { checkTargetCommand, fillCommand, groupAlive, qccCacheFor, startTargetProcess, stopProcessGroup, TargetStartError, type TargetProcess } from '../../../src/harness/runner/target.ts'
import type { Clock } from '../../../src/shared/clock.ts'
import { endpointId } from '../../../src/proxy/config.ts'

const node = JSON.stringify(process.execPath)
/** A node listener on {port} that prints `ready` and, with `ignoreTerm`, shrugs SIGTERM off. */
const listener = (ignoreTerm: boolean): string =>
  `${node} -e ${JSON.stringify(`${ignoreTerm ? "process.on('SIGTERM', () => console.log('ignoring SIGTERM'));" : ''}require('node:net').createServer((s) => s.end()).listen(Number(process.argv[1]), '127.0.0.1', () => console.log('ready'))`)}`

const endpoints = [
  { name: 'relay-a', baseUrl: 'http://127.0.0.1:1', apiKey: 'sk-a', priority: 1 },
  { name: 'relay-b', baseUrl: 'http://127.0.0.1:2', apiKey: 'sk-b', priority: 2 },
]

const started: TargetProcess[] = []
afterEach(async () => {
  // A failing test must not leave a listener behind.
  for (const t of started.splice(0)) await t.stop().catch(() => undefined)
})
async function start(command: string, extra: Partial<Parameters<typeof startTargetProcess>[0]> = {}): Promise<TargetProcess> {
  const t = await startTargetProcess({ command, cluster: 'lab', endpoints, startTimeoutMs: 10_000, ...extra })
  started.push(t)
  return t
}

function refused(url: string): Promise<boolean> {
  const { port } = new URL(url)
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: Number(port) })
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(true))
  })
}

/** The live members of a process group, read from /proc independently of target.ts: a process counts
 *  while any of its threads is not a zombie. Killed orphans stay zombies until PID 1 reaps them, and
 *  `kill(-pgid, 0)` still reaches those. */
function liveMembers(pgid: number): number[] {
  const stat = (file: string): string[] => {
    try {
      const text = readFileSync(file, 'utf8')
      return text.slice(text.lastIndexOf(')') + 2).split(' ')
    } catch { return [] }
  }
  const live = (state: string | undefined): boolean => state !== undefined && !['Z', 'X', 'x'].includes(state)
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(stat(`/proc/${entry}/stat`)[2]) !== pgid) continue
    let tasks: string[] = []
    try { tasks = readdirSync(`/proc/${entry}/task`) } catch { /* gone */ }
    if (tasks.some((tid) => live(stat(`/proc/${entry}/task/${tid}/stat`)[0]))) pids.push(Number(entry))
  }
  return pids
}
const linux = process.platform === 'linux'

/**
 * A virtual clock for stop's SIGTERM grace period (a Clock): it starts at 0 and `sleep(ms)` moves it on
 * by exactly `ms`, after one real 1 ms timer, so the event loop still turns (output is read, signals are
 * handled) but how fast the machine is decides nothing. Before each step it holds still (real 5 ms polls)
 * until `holdUntil()` is true, e.g. until the target has said it ignored SIGTERM, and it notes whether the
 * group was alive at that virtual instant. The wait after SIGKILL runs on the real clock (see
 * stopProcessGroup), so once stop() says 'killed', `now()` is the instant SIGKILL was sent.
 */
function virtualClock(alive: () => boolean, holdUntil: () => boolean = () => true): Clock & { readonly steps: Array<{ at: number; alive: boolean }> } {
  let now = 0
  const steps: Array<{ at: number; alive: boolean }> = []
  const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
  return {
    steps,
    now: () => now,
    async sleep(ms) {
      while (!holdUntil()) await realSleep(5)
      steps.push({ at: now, alive: alive() })
      now += ms
      await realSleep(1)
    },
  }
}

/** SIGKILL came at the 500 ms deadline on `clock`: not before (the group lived, and was waited on, at
 *  every instant before it), and not at the 10 s default. */
function expectKilledAt500(clock: ReturnType<typeof virtualClock>): void {
  expect(clock.now()).toBeGreaterThanOrEqual(500)
  expect(clock.now()).toBeLessThan(10_000)
  expect(clock.steps.length).toBeGreaterThan(0)
  expect(clock.steps.filter((s) => s.at >= 500 || !s.alive)).toEqual([])
}

describe('qccCacheFor', () => {
  it('qcc layout: one plain profile per endpoint, the first one the default, then the cluster built from them', () => {
    const cache = JSON.parse(qccCacheFor('lab', endpoints))
    expect(cache.user_id).toBe('local:qcc-lab')
    expect(Object.keys(cache.settings)).toEqual(['default_profile', 'auto_sync', 'encryption_enabled', 'storage_backend_type', 'storage_initialized', 'test_model', 'proxy_model_mode', 'proxy_model_override'])
    expect(cache.settings).toMatchObject({ default_profile: 'relay-a', auto_sync: false, encryption_enabled: false, storage_backend_type: 'local', storage_initialized: true, proxy_model_mode: 'passthrough' })
    expect(Object.keys(cache.profiles)).toEqual(['relay-a', 'relay-b', 'lab'])
    const a = cache.profiles['relay-a']
    expect(Object.keys(a)).toEqual(['name', 'description', 'priority', 'enabled', 'created_at', 'last_used', 'base_url', 'api_key'])
    expect(a).toMatchObject({ name: 'relay-a', priority: 'primary', enabled: true, last_used: null, base_url: 'http://127.0.0.1:1', api_key: 'sk-a' })
    expect(a.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/)
    const lab = cache.profiles.lab
    expect(Object.keys(lab)).toEqual(['name', 'description', 'priority', 'enabled', 'created_at', 'last_used', 'endpoints', 'base_url', 'api_key'])
    expect(lab.description).toBe('Endpoint 集群 - 1 主节点 + 1 副节点')
    expect([lab.base_url, lab.api_key]).toEqual(['http://127.0.0.1:1', 'sk-a'])
    expect(Object.keys(lab.endpoints[0])).toEqual(['id', 'base_url', 'api_key', 'weight', 'priority', 'enabled', 'max_failures', 'timeout', 'source_profile', 'metadata', 'created_at'])
    expect(lab.endpoints.map((e: any) => [e.id, e.priority, e.weight, e.max_failures, e.timeout, e.source_profile, e.metadata.source_description])).toEqual([
      [endpointId('http://127.0.0.1:1', 'sk-a'), 1, 100, 3, 30, 'relay-a', a.description],
      [endpointId('http://127.0.0.1:2', 'sk-b'), 2, 100, 3, 30, 'relay-b', cache.profiles['relay-b'].description],
    ])
  })

  it('null-default leaves default_profile null; cluster-default makes the cluster the default, alone', () => {
    const nul = JSON.parse(qccCacheFor('lab', endpoints, 'null-default'))
    expect(nul.settings.default_profile).toBeNull()
    expect(Object.keys(nul.profiles)).toEqual(['relay-a', 'relay-b', 'lab'])
    const own = JSON.parse(qccCacheFor('lab', endpoints, 'cluster-default'))
    expect(own.settings.default_profile).toBe('lab')
    expect(Object.keys(own.profiles)).toEqual(['lab'])
  })

  it('names plain profiles endpoint-<n> without a name, and never after the cluster or twice', () => {
    const cache = JSON.parse(qccCacheFor('lab', [
      { baseUrl: 'http://127.0.0.1:1', apiKey: 'k1' }, { name: 'lab', baseUrl: 'http://127.0.0.1:2', apiKey: 'k2' }, { name: 'lab', baseUrl: 'http://127.0.0.1:3', apiKey: 'k3' },
    ]))
    expect(Object.keys(cache.profiles)).toEqual(['endpoint-1', 'lab-2', 'lab-3', 'lab'])
    expect(cache.profiles.lab.description).toBe('Endpoint 集群 - 3 主节点')
  })
})

describe('fillCommand', () => {
  it('fills built-in and extra placeholders shell-quoted, leaves unknown ones and braces alone', () => {
    expect(fillCommand(`qcc proxy start --cluster {cluster} -p {profile} {nope} {} { port }`, { cluster: "it's", profile: 'relay-a' }))
      .toBe(`qcc proxy start --cluster 'it'\\''s' -p 'relay-a' {nope} {} { port }`)
  })
})

describe('checkTargetCommand', () => {
  const known = ['config', 'cluster', 'port', 'home', 'profile']
  it('refuses an unknown placeholder with the nearest name', () => {
    expect(() => checkTargetCommand('qcc proxy start --config {conifg} --port {port}', known)).toThrow(/unknown placeholder \{conifg\}; did you mean \{config\}\?/)
  })
  it('refuses a placeholder inside quotes, where the filled-in quotes would break it', () => {
    expect(() => checkTargetCommand('run --config "{home}/.fastcc/cache.json" --port {port}', known)).toThrow(/\{home\} is inside quotes/)
    expect(() => checkTargetCommand("run --config '{config}' --port {port}", known)).toThrow(/\{config\} is inside quotes/)
  })
  it('accepts the documented forms', () => {
    expect(() => checkTargetCommand('HOME={home} qcc proxy start --cluster {cluster} --port {port}', known)).not.toThrow()
    expect(() => checkTargetCommand('qcc-lab proxy start --config {config} --constants {profile} --port {port} --home {home}/x', known)).not.toThrow()
  })
})

describe('startTargetProcess', () => {
  it('writes the config at {home}/cache.json and {home}/.fastcc/cache.json (0600, dirs 0700), fills placeholders, keeps HOME', async () => {
    const t = await start(`set -- {config} {home} {profile}; echo "config=$1 home=$2 profile=$3 HOME=$HOME NO_COLOR=$NO_COLOR EXTRA=$EXTRA"; exec ${listener(false)} {port}`, {
      placeholders: { profile: 'relay a' }, env: { EXTRA: 'yes' },
    })
    expect(t.configFile).toBe(path.join(t.home, 'cache.json'))
    const copy = path.join(t.home, '.fastcc', 'cache.json')
    expect(readFileSync(copy, 'utf8')).toBe(readFileSync(t.configFile, 'utf8'))
    expect(JSON.parse(readFileSync(copy, 'utf8')).settings.default_profile).toBe('relay-a')
    expect(statSync(t.configFile).mode & 0o777).toBe(0o600)
    expect(statSync(copy).mode & 0o777).toBe(0o600)
    expect(statSync(path.dirname(copy)).mode & 0o777).toBe(0o700)
    expect(statSync(t.home).mode & 0o777).toBe(0o700)
    for (let i = 0; i < 100 && !t.log().includes('ready'); i++) await new Promise((r) => setTimeout(r, 20))
    expect(t.log()).toContain(`config=${t.configFile} home=${t.home} profile=relay a HOME=${process.env.HOME} NO_COLOR=1 EXTRA=yes`)
    const { ended, home } = await t.stop({ keepHome: true })
    expect(ended).toBe('terminated')
    expect(home).toBe(t.home)
    expect(existsSync(t.configFile)).toBe(true)
    expect(readFileSync(t.logFile, 'utf8')).toContain('ready')
    rmSync(t.home, { recursive: true, force: true })
  })

  it('removes the home without keepHome, keeps log() readable, and stop() twice is one stop', async () => {
    const t = await start(`exec ${listener(false)} {port}`)
    for (let i = 0; i < 100 && !t.log().includes('ready'); i++) await new Promise((r) => setTimeout(r, 20))
    const first = await t.stop()
    expect(first).toEqual({ ended: 'terminated' })
    expect(existsSync(t.home)).toBe(false)
    expect(t.log()).toContain('ready')
    expect(await t.stop()).toBe(first)
  })

  it('kills a target that ignores SIGTERM (the sh wrapper still running), at the stopTimeoutMs deadline', async () => {
    // sh stays (no exec): the group holds sh and a node that ignores SIGTERM. stop() waits on a virtual
    // clock that starts once the target has ignored SIGTERM: SIGKILL at virtual 500 ms, not the 10 s default.
    let t: TargetProcess | undefined
    const clock = virtualClock(() => t !== undefined && groupAlive(t.pgid), () => t?.log().includes('ignoring SIGTERM') === true)
    t = await start(`trap '' TERM; ${listener(true)} {port}; echo after`, { stopTimeoutMs: 500, stopClock: clock })
    for (let i = 0; i < 100 && !t.log().includes('ready'); i++) await new Promise((r) => setTimeout(r, 20))
    const { ended } = await t.stop()
    expect(ended).toBe('killed')
    expectKilledAt500(clock)
    expect(groupAlive(t.pgid)).toBe(false)
    if (linux) expect(liveMembers(t.pgid)).toEqual([])
    expect(await refused(t.url), t.log()).toBe(true)
    expect(t.log()).toContain('ignoring SIGTERM')
  })

  it('kills a listening grandchild that ignores SIGTERM after the sh wrapper exited right away', async () => {
    // The wrapper exits before the port opens; that is not a failed start while its group lives.
    const t = await start(`(sleep 0.3; exec ${listener(true)} {port}) & echo wrapper done`, { stopTimeoutMs: 500 })
    for (let i = 0; i < 100 && !t.log().includes('ready'); i++) await new Promise((r) => setTimeout(r, 20))
    expect(t.log()).toContain('wrapper done')
    // The wrapper is gone; its group is not.
    for (let i = 0; i < 100 && liveMembers(t.pgid).includes(t.pgid); i++) await new Promise((r) => setTimeout(r, 20))
    if (linux) expect(liveMembers(t.pgid)).not.toContain(t.pgid)
    if (linux) expect(liveMembers(t.pgid)).toHaveLength(1)
    expect(groupAlive(t.pgid)).toBe(true)
    // That SIGKILL comes at stopTimeoutMs, not the default, is the test above and stopProcessGroup's.
    const { ended } = await t.stop()
    expect(ended).toBe('killed')
    expect(groupAlive(t.pgid)).toBe(false)
    if (linux) expect(liveMembers(t.pgid)).toEqual([])
    expect(await refused(t.url), t.log()).toBe(true)
  })

  it('terminates a grandchild that honours SIGTERM after the wrapper exited', async () => {
    const t = await start(`${listener(false)} {port} & exit 0`)
    for (let i = 0; i < 100 && !t.log().includes('ready'); i++) await new Promise((r) => setTimeout(r, 20))
    const { ended } = await t.stop()
    expect(ended).toBe('terminated')
    expect(groupAlive(t.pgid)).toBe(false)
    expect(await refused(t.url), t.log()).toBe(true)
  })

  it("says 'exited' when the whole group was already gone", async () => {
    // Up long enough to be seen listening, then the listener and sh exit by themselves.
    const t = await start(`${node} -e ${JSON.stringify("const s = require('node:net').createServer().listen(Number(process.argv[1]), '127.0.0.1', () => setTimeout(() => s.close(), 200))")} {port}`)
    for (let i = 0; i < 200 && groupAlive(t.pgid); i++) await new Promise((r) => setTimeout(r, 20))
    expect((await t.stop()).ended).toBe('exited')
  })

  it('fails to start with the output when the command exits, keeping its home to look at, and rejects a built-in placeholder name', async () => {
    const err = await startTargetProcess({ command: 'echo broken {port}; exit 3', cluster: 'lab', endpoints }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TargetStartError)
    expect((err as Error).message).toMatch(/it exited with code 3\)[^]*broken/)
    const home = (err as TargetStartError).home
    expect(readFileSync(path.join(home, 'target.log'), 'utf8')).toMatch(/^broken \d+$/m)
    rmSync(home, { recursive: true, force: true })
    await expect(startTargetProcess({ command: 'true', cluster: 'lab', endpoints, placeholders: { port: '1' } })).rejects.toThrow(/"\{port\}" is built in/)
  })

})

describe('stopProcessGroup', () => {
  it('SIGKILLs a group that ignores SIGTERM at stopTimeoutMs on its clock: not before, not at the 10 s default', async () => {
    // A real process group (a detached node, its own group leader) that ignores SIGTERM.
    const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); setInterval(() => {}, 1_000); console.log('ready')"], {
      detached: true, stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout!.on('data', (c: Buffer) => { out += c.toString() })
    const pgid = child.pid!
    try {
      while (!out.includes('ready')) {
        expect(child.exitCode).toBeNull()
        await new Promise((r) => setTimeout(r, 10))
      }
      const clock = virtualClock(() => groupAlive(pgid), () => out.includes('ignoring SIGTERM'))
      expect(await stopProcessGroup(pgid, 500, clock)).toBe('killed')
      expectKilledAt500(clock)
      expect(groupAlive(pgid)).toBe(false)
      expect(child.signalCode ?? (await new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal))))).toBe('SIGKILL')
    } finally {
      try { process.kill(-pgid, 'SIGKILL') } catch { /* gone */ }
    }
  })
})
