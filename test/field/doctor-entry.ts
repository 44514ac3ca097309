/**
 * The qcc-lab CLI with `doctor` in it, for the doctor's tests: src/cli/main.ts itself as soon as it
 * registers the command; until then its program with registerDoctor added and main's exit codes
 * (0/1 from the command, 2 for usage errors, no stack trace).
 */
import { CommanderError } from 'commander'
import { buildProgram, main } from '../../src/cli/main.ts'
import { registerDoctor } from '../../src/cli/commands/doctor.ts'
import { QccLabError } from '../../src/shared/errors.ts'

const argv = process.argv.slice(2)
const program = buildProgram()
if (program.commands.some((c) => c.name() === 'doctor')) {
  process.exitCode = await main(argv)
} else {
  registerDoctor(program)
  process.exitCode = 0
  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2
    else if (err instanceof QccLabError) {
      process.stderr.write(`qcc-lab: ${err.message}\n`)
      process.exitCode = 2
    } else {
      process.stderr.write(`qcc-lab: internal error: ${(err as Error)?.stack ?? String(err)}\n`)
      process.exitCode = 2
    }
  }
}
