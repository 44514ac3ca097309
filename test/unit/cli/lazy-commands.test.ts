/**
 * main.ts loads a command's module only when its name comes first on the command line. The table that maps
 * names to modules must stay true: a name whose module does not register it would be an unknown command
 * on the lazy path only, and a command missing from the table would load every module on each start.
 */
import { describe, expect, it } from 'vitest'
import { buildProgram, commandNames } from '../../../src/cli/main.ts'

describe('lazily loaded commands', () => {
  it('the full program has exactly the commands of the table, in its order', async () => {
    const all = await buildProgram()
    expect(all.commands.map((c) => c.name())).toEqual(commandNames)
  })

  it.each(commandNames.map((name) => [name]))('`%s` first loads a program that has it', async (name) => {
    const program = await buildProgram([name, '--help'])
    expect(program.commands.map((c) => c.name())).toContain(name)
    expect(program.commands.length).toBeLessThan(commandNames.length)
  })

  it.each([[['--help']], [['help', 'run']], [['--version']], [['prxy']], [[]]])('%j loads every command (help lists them, a typo gets a suggestion)', async (argv: string[]) => {
    const program = await buildProgram(argv)
    expect(program.commands.map((c) => c.name())).toEqual(commandNames)
  })
})
