/**
 * The qcc-lab command line. The only place that sets exit codes:
 * 0 every expectation held · 1 an expectation failed · 2 bad input or an internal error.
 */
import { Command, CommanderError } from 'commander'
import { QccLabError } from '../shared/errors.ts'
import { qccLabVersion } from './environment.ts'
import { registerRun } from './commands/run.ts'
import { registerList } from './commands/list.ts'
import { registerProxy } from './commands/proxy.ts'
import { registerUpstream } from './commands/upstream.ts'
import { registerExplain } from './commands/explain.ts'
import { registerBench } from './commands/bench.ts'
import { registerSchema } from './commands/schema.ts'
import { registerLint } from './commands/lint.ts'
import { registerDoctor } from './commands/doctor.ts'
import { registerReport } from './commands/report.ts'
import { registerProbe } from './commands/probe.ts'

export function buildProgram(): Command {
  const program = new Command()
  program
    .name('qcc-lab')
    .description('Diagnostic and chaos harness for LLM API relay proxies (qcc): reproduce failures with misbehaving fake upstreams, gate CI on verdicts.')
    .version(qccLabVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) })
  registerRun(program)
  registerList(program)
  registerExplain(program)
  registerProxy(program)
  registerUpstream(program)
  registerBench(program)
  registerLint(program)
  registerSchema(program)
  registerDoctor(program)
  registerReport(program)
  registerProbe(program)
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
  const program = buildProgram()
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
