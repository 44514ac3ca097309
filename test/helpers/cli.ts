/**
 * Runs the qcc-lab CLI as a separate process, as a user's CI would (`runCli`), or, for command lines that
 * start nothing (bad input; compare, doctor, lint, schema, list), inside this process (`runCliInProcess`):
 * the same command line, a few milliseconds instead of a Node start (~0.25-0.6 CPU-s each). A file that
 * uses it runs a sample in a real child too and wants the same answer (malformed-input, compare,
 * authoring, doctor-inputs).
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const bin = fileURLToPath(new URL('../../bin/qcc-lab.js', import.meta.url))

/** `node bin/qcc-lab.js …` in a shell command (for --target-cmd), quoted. */
export const qccLabCommand = `"${process.execPath}" "${bin}"`

export interface CliResult { readonly code: number; readonly stdout: string; readonly stderr: string }

export interface CliOptions { readonly timeoutMs?: number; readonly env?: Record<string, string> }

/** Without colour; killed (SIGKILL, code -1) when it outlives `timeoutMs`, so a hang fails the test instead of stalling it. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      timeout: options.timeoutMs ?? 240_000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
    })
  })
}

/** In-process runs share process.stdout, process.stderr, process.env and process.exitCode: one at a time. */
let inProcessQueue: Promise<unknown> = Promise.resolve()

/**
 * The command line run by the CLI's own `runCommand` (src/cli/main.ts; bin/qcc-lab.js calls it through
 * `main`) inside this process, as `runCli` runs it in a child: the same environment (NO_COLOR=1 plus
 * `env`, set for the run and put back after), stdout and stderr captured as a pipe would see them (not a
 * terminal), the exit code `main` returns. Only for command lines that start nothing that listens or runs
 * a timeline (a run would run in the test process, beside the test's own timers). Calls queue, one at a time. A run that
 * outlives `timeoutMs` is given up on with code -1, as a killed child would be. A read that blocks the
 * thread (a FIFO opened synchronously) cannot be given up on: give such inputs to `runCli`.
 * test/cli/malformed-input.test.ts checks that both runners answer alike.
 */
export function runCliInProcess(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const run = inProcessQueue.then(() => inProcess(args, options))
  inProcessQueue = run.catch(() => {})
  return run
}

type Write = typeof process.stdout.write

async function inProcess(args: readonly string[], options: CliOptions): Promise<CliResult> {
  const { runCommand } = await import('../../src/cli/main.ts')
  const env: Record<string, string> = { NO_COLOR: '1', ...options.env }
  const savedEnv = Object.keys(env).map((k) => [k, process.env[k]] as const)
  const savedExitCode = process.exitCode
  const captured = { stdout: [] as string[], stderr: [] as string[] }
  const streams = (['stdout', 'stderr'] as const).map((name) => {
    const stream = process[name]
    const saved = { write: Object.getOwnPropertyDescriptor(stream, 'write'), isTTY: Object.getOwnPropertyDescriptor(stream, 'isTTY') }
    stream.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): boolean => {
      captured[name].push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8'))
      const done = typeof encoding === 'function' ? encoding : cb
      if (done) process.nextTick(done)
      return true
    }) as Write
    // A child's stdout and stderr are pipes.
    Object.defineProperty(stream, 'isTTY', { value: false, configurable: true, writable: true })
    return { stream, saved }
  })
  Object.assign(process.env, env)
  const timeoutMs = options.timeoutMs ?? 240_000
  let timer: NodeJS.Timeout | undefined
  try {
    const code = await Promise.race([
      runCommand(args),
      new Promise<number>((resolve) => {
        timer = setTimeout(() => {
          captured.stderr.push(`\n(test helper: the in-process run did not end within ${timeoutMs} ms)\n`)
          resolve(-1)
        }, timeoutMs)
      }),
    ])
    return { code, stdout: captured.stdout.join(''), stderr: captured.stderr.join('') }
  } finally {
    clearTimeout(timer)
    for (const { stream, saved } of streams) {
      for (const key of ['write', 'isTTY'] as const) {
        const before = saved[key]
        if (before) Object.defineProperty(stream, key, before)
        else delete (stream as Partial<Record<typeof key, unknown>>)[key]
      }
    }
    for (const [k, v] of savedEnv) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
    process.exitCode = savedExitCode
  }
}

type Runner = (args: readonly string[]) => Promise<CliResult>

/**
 * Each command line answered twice: by a real child (all at once) and in this process (one after another),
 * for a test that holds the two to the same answers (a file whose other tests run in-process). `child` and
 * `inProcess` default to runCli and runCliInProcess with no options.
 */
export async function childAndInProcess(lines: ReadonlyArray<readonly string[]>, runners: { readonly child?: Runner; readonly inProcess?: Runner } = {}): Promise<{ readonly children: CliResult[]; readonly inProcess: CliResult[] }> {
  const children = await Promise.all(lines.map((args) => (runners.child ?? runCli)(args)))
  const inProcess: CliResult[] = []
  for (const args of lines) inProcess.push(await (runners.inProcess ?? runCliInProcess)(args))
  return { children, inProcess }
}

/** `{ "<scenario>/<variant>": verdict }` from a JSON run report. */
export function verdicts(report: { scenarios: Array<{ name: string; variants: Array<{ name: string; verdict: string }> }> }): Record<string, string> {
  return Object.fromEntries(report.scenarios.flatMap((s) => s.variants.map((v) => [`${s.name}/${v.name}`, v.verdict])))
}
