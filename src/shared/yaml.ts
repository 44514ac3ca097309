/** YAML parsing with problems worded the same way for scenarios and proxy configs. */
import { parseDocument } from 'yaml'

/**
 * Parses one YAML document (duplicate keys are errors). Returns the value, or one line per problem:
 * `line L, column C: invalid YAML: <what>`.
 */
export function parseYaml(text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problems: string[] } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length === 0) return { ok: true, value: doc.toJS() }
  return {
    ok: false,
    problems: doc.errors.map((e) => {
      const pos = e.linePos?.[0]
      return `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}invalid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`
    }),
  }
}
