/**
 * The qcc-lab command line. The only place that sets exit codes:
 * 0 every expectation held · 1 an expectation failed · 2 bad input or an internal error.
 */
import { Command, CommanderError } from 'commander'
import { QccLabError } from '../shared/errors.ts'
import { qccLabVersion } from './environment.ts'

type Register = (program: Command) => void

/**
 * Every command's module, in the order `--help` lists them, loaded only when needed: a command line that
 * names a command loads that module alone (with what it imports), anything else (`--help`, `--version`,
 * `help run`, a mistyped name that commander should suggest a fix for) loads them all. One Node start
 * with every module costs ~0.35 CPU-s; `proxy start` needs about half of them (no msw, no selfsigned).
 */
const commandModules: readonly { readonly names: readonly string[]; readonly load: () => Promise<Register> }[] = [
  { names: ['run'], load: async () => (await import('./commands/run.ts')).registerRun },
  { names: ['list'], load: async () => (await import('./commands/list.ts')).registerList },
  { names: ['explain'], load: async () => (await import('./commands/explain.ts')).registerExplain },
  { names: ['proxy'], load: async () => (await import('./commands/proxy.ts')).registerProxy },
  { names: ['upstream'], load: async () => (await import('./commands/upstream.ts')).registerUpstream },
  { names: ['bench', 'compare'], load: async () => (await import('./commands/bench.ts')).registerBench },
  { names: ['lint'], load: async () => (await import('./commands/lint.ts')).registerLint },
  { names: ['schema'], load: async () => (await import('./commands/schema.ts')).registerSchema },
  { names: ['doctor'], load: async () => (await import('./commands/doctor.ts')).registerDoctor },
  { names: ['report'], load: async () => (await import('./commands/report.ts')).registerReport },
  { names: ['probe'], load: async () => (await import('./commands/probe.ts')).registerProbe },
]

/** Every command name the table knows (test/unit/cli/lazy-commands.test.ts holds it to the full program). */
export const commandNames: readonly string[] = commandModules.flatMap((m) => m.names)

/**
 * The program with the commands `argv` needs: only the one its first word names, or all of them when the
 * first word is an option or not a command name (see `commandModules`). Without `argv`, all of them.
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command()
  program
    .name('qcc-lab')
    .description('Diagnostic and chaos harness for LLM API relay proxies (qcc): reproduce failures with misbehaving fake upstreams, gate CI on verdicts.')
    .version(qccLabVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) })
  const named = argv?.[0] === undefined ? undefined : commandModules.find((m) => m.names.includes(argv[0]!))
  for (const register of await Promise.all((named ? [named] : commandModules).map((m) => m.load()))) register(program)
  return program
}

/** `qcc-lab … | head`: the reader went away; that is the end of the output, not an error. */
function quietOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0)
    throw err
  })
}

export async function main(argv: readonly string[]): Promise<number> {
  quietOnEpipe(process.stdout)
  quietOnEpipe(process.stderr)
  return runCommand(argv)
}

/**
 * One command line, parsed and run, its exit code returned: `main` without the process-wide EPIPE
 * handlers, so that tests can run many command lines in one process (test/helpers/cli.ts).
 */
export async function runCommand(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(argv)
  process.exitCode = 0
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed.
      return err.exitCode === 0 ? 0 : 2
    }
    if (err instanceof QccLabError) {
      process.stderr.write(`qcc-lab: ${err.message}\n`)
      return 2
    }
    process.stderr.write(`qcc-lab: internal error: ${(err as Error)?.stack ?? String(err)}\nThis is a bug in qcc-lab; please report it with the command you ran.\n`)
    return 2
  }
}
