/** `qcc-lab upstream start`: one fake Anthropic upstream in the foreground, with faults, for manual chaos. */
import type { Command } from 'commander'
import { startFakeUpstream, faultKinds, type FakeUpstream, type FaultSpec } from '../../../fake-upstreams/index.ts'
import { resolveFault } from '../../../fake-upstreams/faults/index.ts'
import { selfSignedCertificate } from '../../shared/self-signed.ts'
import { QccLabError, UsageError } from '../../shared/errors.ts'
import { parseIntOption } from '../options.ts'

/** `kind:key=value,key=value` → `{ kind, key: value… }`; numbers and booleans are typed. */
export function parseFaultFlag(text: string): Record<string, unknown> {
  const m = /^([a-z][a-z-]*)(?::(.*))?$/.exec(text)
  if (!m) throw new UsageError(`--fault "${text}": expected <kind>[:<key>=<value>,...], e.g. idle-close:idleMs=1000,mode=rst (kinds: ${faultKinds.join(', ')}).`)
  const fault: Record<string, unknown> = { kind: m[1] }
  for (const pair of (m[2] ?? '').split(',').filter(Boolean)) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new UsageError(`--fault "${text}": "${pair}" is not key=value.`)
    const key = pair.slice(0, eq)
    const raw = pair.slice(eq + 1)
    fault[key] = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw
  }
  return fault
}

/** Each `--fault` parsed and validated on its own, so that a problem names the spec the user typed. */
export function parseFaultFlags(specs: readonly string[]): FaultSpec[] {
  const faults = specs.map(parseFaultFlag)
  const problems: string[] = []
  faults.forEach((fault, i) => {
    // Validated at a marker path, which is then cut off: `@.idleMs: …` → `idleMs: …`.
    const r = resolveFault(fault, '@')
    if (!r.ok) problems.push(`--fault "${specs[i]}": ${r.issues.map((issue) => issue.replace(/^@\.?/, '')).join('; ')}`)
  })
  if (problems.length > 0) throw new UsageError(problems.join('\n'))
  return faults as FaultSpec[]
}

export async function upstreamStart(flags: { host: string; port: number; tls?: boolean; fault?: string[]; name: string; seed: number }): Promise<number> {
  const faults = parseFaultFlags(flags.fault ?? [])
  const tls = flags.tls ? await selfSignedCertificate() : undefined
  let up: FakeUpstream
  try {
    up = await startFakeUpstream({ name: flags.name, host: flags.host, port: flags.port, tls, faults, seed: flags.seed })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new QccLabError('PORT_IN_USE', `Failed to start the fake upstream: ${flags.host}:${flags.port} is already in use by another process; it was left alone. Pick another --port (0 = any free port).`)
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new QccLabError('BAD_HOST', `Failed to start the fake upstream: cannot listen on ${flags.host} (${code}). Use an address of this machine, e.g. 127.0.0.1.`)
    if (code === 'EACCES') throw new QccLabError('PORT_DENIED', `Failed to start the fake upstream: not allowed to listen on ${flags.host}:${flags.port} (EACCES; ports below 1024 need privileges). Pick another --port.`)
    throw err
  }
  // Stop on a signal from before the line that says it listens: a supervisor may send one as soon as it reads it.
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      up.close().finally(() => {
        const s = up.ledger.summary()
        process.stdout.write(`stopped: ${s.received} requests on ${s.connections} connections, ${s.answered} answered, ${s.dropped} dropped by faults\n`)
        resolve()
      })
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  process.stdout.write(`qcc-lab fake upstream "${flags.name}" listening on ${up.url}${tls ? ' (self-signed certificate)' : ''}${faults.length > 0 ? `; faults: ${(flags.fault ?? []).join(' ')}` : ''}\n`)
  await stopped
  return 0
}

export function registerUpstream(program: Command): void {
  const upstream = program.command('upstream').description('Fake Anthropic Messages API upstreams that misbehave on purpose.')
  upstream
    .command('start')
    .description('Run one fake upstream in the foreground and print its URL; Ctrl-C stops it and prints its ledger summary.')
    .option('--host <address>', 'listen address', '127.0.0.1')
    .option('--port <n>', 'listen port (0 = any free port)', parseIntOption('--port', 0, 65_535), 0)
    .option('--tls', 'serve HTTPS with a self-signed certificate made at start')
    .option('--fault <spec>', `a fault as kind:key=value,... (repeatable); kinds: ${faultKinds.join(', ')}`, (v: string, prev: string[] = []) => [...prev, v])
    .option('--name <name>', 'names message ids and generated request ids', 'upstream')
    .option('--seed <n>', 'seed for fault probabilities', parseIntOption('--seed', 0, 2 ** 32 - 1), 1)
    .addHelpText('after', '\nExample:\n  qcc-lab upstream start --port 9001 --fault idle-close:idleMs=1000,keepAliveHeader=lying --fault race-close:afterIdleMs=500')
    .action(async (flags: { host: string; port: number; tls?: boolean; fault?: string[]; name: string; seed: number }) => {
      process.exitCode = await upstreamStart(flags)
    })
}
