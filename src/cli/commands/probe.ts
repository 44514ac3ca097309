/** `qcc-lab probe <base-url>`: measure a real relay's keep-alive behaviour and say what to set. */
import { InvalidArgumentError, Option, type Command } from 'commander'
import { parseScenario } from '../../harness/scenario/parse.ts'
import { truncate, wrap } from '../../harness/report/format-terminal.ts'
import { formatProbeReport } from '../../field/probe/format-report.ts'
import type { ProbeReport } from '../../field/probe/report.ts'
import { ProbeAbortedError, probeDefaults, runProbe, type ProbeProgress } from '../../field/probe/run-probe.ts'
import { emitScenario } from '../../field/probe/scenario-emission.ts'
import { requestKinds, resolveTarget, type RequestKind } from '../../field/probe/target.ts'
import { UsageError } from '../../shared/errors.ts'
import { environment, outputWidth } from '../environment.ts'
import { parseIntOption } from '../options.ts'
import { checkOutputs, writeOutput } from '../output.ts'
import { progressClock, type ProgressClock, type ProgressStream } from '../progress.ts'

export interface ProbeFlags {
  readonly keyEnv?: string
  readonly request: RequestKind
  readonly allowCompletion?: boolean
  readonly model?: string
  readonly maxIdle: number
  readonly connections: number
  readonly maxRequests: number
  readonly timeout: number
  readonly insecure?: boolean
  readonly json?: string
  readonly emitScenario?: string
  readonly progress?: boolean
}

/** Seconds, decimals allowed (`0.5`), from `min` to `max`. */
function parseSecondsOption(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(n >= min && n <= max)) {
      throw new InvalidArgumentError(`${flag} takes seconds from ${min} to ${max} (decimals allowed, e.g. 0.5); got "${value}".`)
    }
    return n
  }
}

/**
 * Progress while the probe waits out idle times: on a terminal one live line (the step, its count, how
 * long it may wait, the seconds so far) redrawn every second; piped, a line when a step or round starts
 * and one every 5 s while it runs. `now` and `every` are injected by tests.
 */
export function probeProgressPrinter(err: ProgressStream, options: ProgressClock = {}): { onProgress: (p: ProbeProgress) => void; stop: () => void } {
  const { now, every } = progressClock(options)
  const width = outputWidth(err)
  const started = now()
  let step: ProbeProgress['step'] | undefined
  let message = ''
  let count = ''
  let side = ''
  let waitMs: number | undefined
  let stepStarted = started
  const seconds = (ms: number): number => Math.round(ms / 1000)
  const limit = (): string => (waitMs !== undefined && waitMs >= 2_000 ? ` · waits up to ${Math.ceil(waitMs / 1000)} s` : '')
  const status = (): string => `${message}${count}${limit()}${side} · ${seconds(now() - stepStarted)} s in this step, ${seconds(now() - started)} s in all`
  const live = (): void => {
    if (message !== '') err.write(`\r\u001b[2K${truncate(`  ${status()}`, width - 1)}`)
  }
  const print = (text: string): void => { err.write(`${wrap(text, width, '  ', '    ').join('\n')}\n`) }
  const cancel = every(err.isTTY ? live : () => { if (message !== '') print(`… ${status()}`) }, err.isTTY ? 1_000 : 5_000)
  const fraction = (p: ProbeProgress): string => (p.done !== undefined && p.total !== undefined ? ` (${p.done}/${p.total})` : '')
  return {
    onProgress(p) {
      if (p.step === 'cap') {
        // The request cap runs beside the idle search: a suffix, not a step of its own.
        side = ` · request cap ${p.done ?? 0}/${p.total ?? '?'}`
        if (err.isTTY) live()
        return
      }
      // A message without a count starts a step or a round; one with a count updates it.
      const fresh = p.step !== step || p.done === undefined || p.done === 0
      if (fresh) {
        step = p.step
        message = p.message
        waitMs = p.waitMs
        stepStarted = now()
      }
      count = fraction(p)
      if (err.isTTY) live()
      else if (fresh) print(`probe: ${p.message}${limit()}`)
    },
    stop() {
      cancel()
      if (err.isTTY) err.write('\r\u001b[2K')
    },
  }
}

function readKey(keyEnv: string | undefined): string | undefined {
  if (keyEnv === undefined) return undefined
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(keyEnv)) throw new UsageError(`--key-env "${keyEnv}": expected the name of an environment variable (e.g. ANTHROPIC_API_KEY), not its value.`)
  const value = process.env[keyEnv]
  if (value === undefined || value.trim() === '') throw new UsageError(`--key-env ${keyEnv}: the environment variable is not set or empty; export it first (export ${keyEnv}=…).`)
  return value.trim()
}

export async function probeCommand(baseUrl: string, flags: ProbeFlags, io: { readonly signal?: AbortSignal } = {}): Promise<{ code: number; report?: ProbeReport }> {
  const apiKey = readKey(flags.keyEnv)
  const target = resolveTarget(baseUrl, { request: flags.request, apiKey, allowCompletion: flags.allowCompletion, insecure: flags.insecure, model: flags.model })
  const outputs = [
    ...(flags.json !== undefined ? [{ flag: '--json', target: flags.json }] : []),
    ...(flags.emitScenario !== undefined ? [{ flag: '--emit-scenario', target: flags.emitScenario }] : []),
  ]
  checkOutputs(outputs)
  const toStdout = outputs.some((o) => o.target === '-')
  const human = toStdout ? process.stderr : process.stdout
  const printer = flags.progress !== false ? probeProgressPrinter(process.stderr) : undefined
  let report: ProbeReport
  try {
    report = await runProbe({
      target,
      keyEnv: flags.keyEnv,
      maxIdleMs: Math.round(flags.maxIdle * 1000),
      connections: flags.connections,
      maxRequests: flags.maxRequests,
      timeoutMs: flags.timeout,
      signal: io.signal,
      onProgress: printer?.onProgress,
      environment: environment(),
    })
  } finally {
    printer?.stop()
  }
  human.write(formatProbeReport(report, { width: outputWidth(human) }))
  if (flags.json !== undefined) await writeOutput(flags.json, `${JSON.stringify(report, null, 2)}\n`)
  if (flags.emitScenario !== undefined) {
    const emitted = emitScenario(report)
    if (!emitted.ok) {
      process.stderr.write(`qcc-lab: --emit-scenario ${flags.emitScenario}: not written: ${emitted.reason}.\n`)
    } else {
      // The file must load as `qcc-lab run` loads it; a problem here is a bug in the emitter, not the user's.
      parseScenario(emitted.yaml, flags.emitScenario, emitted.name)
      await writeOutput(flags.emitScenario, emitted.yaml)
      if (flags.emitScenario !== '-') process.stderr.write(`qcc-lab: wrote ${flags.emitScenario}; replay it with: qcc-lab run ${flags.emitScenario}\n`)
    }
  }
  return { code: 0, report }
}

export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description('Measure a relay\'s keep-alive behaviour (real idle timeout, Keep-Alive honesty, FIN/RST, request cap, close/request race, connect/TLS/RTT) and recommend undici and aiohttp settings, with what force-close would cost.')
    .argument('<base-url>', 'the relay\'s base URL, http:// or https:// (e.g. https://relay.example.com)')
    .option('--key-env <var>', 'environment variable holding the relay\'s API key (sent as x-api-key and Authorization: Bearer; never printed)')
    .addOption(new Option('--request <kind>', 'what each exchange sends: get (GET of the base path, no cost), count-tokens (POST /v1/messages/count_tokens, free), completion (a 1-token message: costs money)').choices([...requestKinds]).default('get'))
    .option('--allow-completion', 'confirm --request completion (real, paid 1-token messages)')
    .option('--model <name>', 'model named in count-tokens / completion bodies', undefined)
    .option('--max-idle <seconds>', 'longest idle time to try; bounds the run', parseSecondsOption('--max-idle', 0.05, 3600), probeDefaults.maxIdleMs / 1000)
    .option('--connections <n>', 'keep-alive connections open at once per round', parseIntOption('--connections', 4, 64), probeDefaults.connections)
    .option('--max-requests <n>', 'requests tried back to back on one connection to find a request cap (0 = skip)', parseIntOption('--max-requests', 0, 10_000), probeDefaults.maxRequests)
    .option('--timeout <ms>', 'time allowed for one connect or request', parseIntOption('--timeout', 100, 300_000), probeDefaults.timeoutMs)
    .option('--insecure', 'accept an untrusted TLS certificate (a self-signed test relay)')
    .option('--json <file>', 'write the report as JSON (qcc-lab/probe-report@1); - for stdout')
    .option('--emit-scenario <file>', 'write a scenario YAML whose fake upstream behaves like this relay (replay: qcc-lab run <file>); - for stdout')
    .option('--no-progress', 'no progress lines on stderr')
    .addHelpText('after', `
How it measures (raw sockets: it sees FIN vs RST and exact close times):
  1. timings: ${probeDefaults.samples} new connections (TCP connect, TLS full and resumed), one
     request on each new connection and one more on it reused: the RTT, and
     what force-close costs per request.
  2. idle timeout: --connections keep-alive connections at once, each left
     idle a different time (25 ms up to --max-idle), plus watchers. A relay
     that closes idle connections shows the moment: the median of the closes,
     ± the half-width of its 95 % interval. One that closes only when a
     request arrives is found by which requests are lost, then narrowed to
     half of max(1 RTT, 5 %). Closes timed while this machine stalled are
     left out.
  3. request cap: up to --max-requests back to back on one connection.
  4. race: requests sent just before the close: answered, or lost?
Then: the Keep-Alive header honest / lying / absent; idle expiries for undici
and aiohttp (qcc's keepalive_timeout) with their margin (resolution + RTT +
max(50 ms, 5 %)); whether force-close is needed, and what it costs.

Cost: --request get (the default) and count-tokens cost nothing; completion
sends paid 1-token messages and needs --allow-completion.
Time: about 2-5 x the relay's idle timeout, plus a few seconds (a 1 s relay:
under 10 s); a relay that keeps connections past --max-idle takes that long.
Ctrl-C stops at once and closes every connection.
Exit: 0 probed · 2 bad input, or the relay could not be reached.
JSON (--json): qcc-lab/probe-report@1.

Examples:
  qcc-lab probe https://relay.example.com
  qcc-lab probe https://relay.example.com --key-env RELAY_KEY \\
    --request count-tokens --max-idle 90
  qcc-lab probe http://127.0.0.1:9001 --emit-scenario relay.yaml
  qcc-lab run relay.yaml`)
    .action(async (baseUrl: string, flags: ProbeFlags) => {
      const ac = new AbortController()
      let caught: NodeJS.Signals | undefined
      const interrupted = (signal: NodeJS.Signals): void => {
        caught = signal
        process.stderr.write(`\nqcc-lab: ${signal}; closing every probe connection…\n`)
        ac.abort()
      }
      process.once('SIGINT', interrupted)
      process.once('SIGTERM', interrupted)
      try {
        process.exitCode = (await probeCommand(baseUrl, flags, { signal: ac.signal })).code
      } catch (err) {
        if (err instanceof ProbeAbortedError) {
          process.stderr.write('qcc-lab: probe interrupted; nothing reported.\n')
          process.exitCode = caught === 'SIGTERM' ? 143 : 130
          return
        }
        throw err
      } finally {
        process.off('SIGINT', interrupted)
        process.off('SIGTERM', interrupted)
      }
    })
}
