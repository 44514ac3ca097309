/** `qcc-lab schema <scenario|proxy-config>`: the JSON Schema of a file you write, for an editor. */
import { Argument, type Command } from 'commander'
import { jsonSchemaNames, jsonSchemaText, jsonSchemas, type JsonSchemaName } from '../../harness/scenario/json-schema.ts'
import { checkOutputs, writeOutput } from '../output.ts'

export async function schemaCommand(name: JsonSchemaName, flags: { out?: string }): Promise<number> {
  const target = flags.out ?? '-'
  checkOutputs([{ flag: '--out', target }])
  await writeOutput(target, jsonSchemaText(name))
  return 0
}

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('Print the JSON Schema of a scenario file or of a qcc-lab proxy config, for editor completion and hover docs.')
    .addArgument(new Argument('<name>', 'which schema').choices(jsonSchemaNames))
    .option('-o, --out <file>', 'write it to a file instead of stdout')
    .addHelpText('after', `
The same schemas ship in the package as ${jsonSchemaNames.map((n) => `schemas/${jsonSchemas[n].file}`).join(' and ')}.
Point a YAML file at one with a first line (yaml-language-server, VS Code's YAML extension):

  # yaml-language-server: $schema=../schemas/scenario.schema.json

Examples:
  qcc-lab schema scenario --out scenario.schema.json
  qcc-lab schema proxy-config > proxy-config.schema.json`)
    .action(async (name: JsonSchemaName, flags: { out?: string }) => {
      process.exitCode = await schemaCommand(name, flags)
    })
}
