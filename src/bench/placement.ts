/**
 * CPU placement for a bench run (`qcc-lab bench --pin`), off by default. Measured on the 2-core VM: one
 * proxy under continuous load pinned alone on a core ran at a steady ~10k req/s where unpinned runs
 * landed anywhere between ~4.7k and ~8k; but in the full bench, which cycles through configurations and
 * re-pins the upstream between direct and proxied ones, pinning made rounds noisier (spread 43-100 %
 * against 16-72 % unpinned, same quick matrix) and slower. `-a` also pins V8's and libuv's helper threads
 * to the role's cores, which on 2 cores puts GC beside the main thread. Worth trying with 4+ cores.
 * With it, each role has fixed cores:
 * - 2 cores: the load generator on cpu 0; the proxy under test (or nginx) alone on cpu 1; the upstream on
 *   cpu 1 when the client talks to it directly (so direct gets both cores: the machine's limit) and on
 *   cpu 0 beside the client when a proxy sits between them.
 * - 3 or more: client cpu 0, upstream cpu 1, proxy/nginx the rest.
 * - 1 core, or no `taskset` (util-linux): no pinning, and the report says so.
 */
import { execFileSync } from 'node:child_process'

export interface Placement {
  readonly client: string
  /** The upstream's cores when the client talks to it directly. */
  readonly upstreamDirect: string
  /** The upstream's cores when a proxy (or nginx) is between. */
  readonly upstreamProxied: string
  readonly proxy: string
}

/** Pure: which cores each role gets on a machine with `cores` cores; null when pinning cannot help. */
export function planPlacement(cores: number): Placement | null {
  if (!Number.isInteger(cores) || cores < 2) return null
  if (cores === 2) return { client: '0', upstreamDirect: '1', upstreamProxied: '0', proxy: '1' }
  return { client: '0', upstreamDirect: '1', upstreamProxied: '1', proxy: cores === 3 ? '2' : `2-${cores - 1}` }
}

export interface Pinner {
  /** What the report says: the plan, or why there is none. */
  readonly description: string
  readonly plan: Placement | null
  /** Pins every thread of `pid` to `cpus`; a no-op without a plan. Repeated calls with the same cpus are free. */
  pin(pid: number | undefined, cpus: string): void
  /** The prefix that starts a command pinned (`taskset -c <cpus>`), or [] without a plan. */
  prefix(cpus: string): string[]
  /** Gives this process its original cores back. */
  restore(): void
}

export function createPinner(cores: number, enabled: boolean): Pinner {
  const plan = enabled ? planPlacement(cores) : null
  const none = (why: string): Pinner => ({ description: `not pinned (${why})`, plan: null, pin() {}, prefix: () => [], restore() {} })
  if (!enabled) return none('use --pin to pin')
  if (!plan) return none(`${cores} core${cores === 1 ? '' : 's'}`)
  let original: string
  try {
    original = execFileSync('taskset', ['-c', '-p', String(process.pid)], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().split(':').pop()!.trim()
  } catch {
    return none('taskset not found; Debian: apt-get install util-linux')
  }
  const current = new Map<number, string>()
  const pin = (pid: number | undefined, cpus: string): void => {
    if (pid === undefined || current.get(pid) === cpus) return
    execFileSync('taskset', ['-a', '-c', '-p', cpus, String(pid)], { stdio: 'ignore' })
    current.set(pid, cpus)
  }
  return {
    description: `pinned with taskset: client cpu ${plan.client}, upstream cpu ${plan.upstreamDirect} (direct) / ${plan.upstreamProxied} (behind a proxy), proxy cpu ${plan.proxy}`,
    plan,
    pin,
    prefix: (cpus) => ['taskset', '-c', cpus],
    restore() {
      try {
        execFileSync('taskset', ['-a', '-c', '-p', original, String(process.pid)], { stdio: 'ignore' })
      } catch {
        // The process is about to finish the run anyway.
      }
    },
  }
}
