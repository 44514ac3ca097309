/** YAML parsing with problems worded the same way for scenarios and proxy configs. */
import { LineCounter, parseDocument } from 'yaml'
import { limitProblems } from './zod-issues.ts'

export type Located = { readonly line: number; readonly col: number }

/**
 * How many alias expansions (`*name`, weighted by the aliases inside what they expand to) a file may
 * have. A "billion laughs" file of nested aliases is a few hundred bytes and expands to more values than
 * memory holds; real scenarios and configs use a handful, if any.
 */
export const MAX_YAML_ALIASES = 100

/**
 * Parses one YAML document (duplicate keys are errors). Returns the value and `locate`, which finds
 * where a field path (`['variants', 0, 'expect', 1]`) was written (the nearest written ancestor when the
 * field itself is missing); or one line per problem: `line L, column C: invalid YAML: <what>`.
 */
export function parseYaml(text: string):
  | { readonly ok: true; readonly value: unknown; readonly locate: (path: ReadonlyArray<string | number>) => Located | undefined }
  | { readonly ok: false; readonly problems: string[] } {
  const lineCounter = new LineCounter()
  let doc: ReturnType<typeof parseDocument>
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter })
  } catch (err) {
    // The parser reports problems in doc.errors; this is for what it cannot (e.g. a stack overflow).
    return { ok: false, problems: [`invalid YAML: ${(err as Error).message}`] }
  }
  if (doc.errors.length === 0) {
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES })
    } catch (err) {
      const message = (err as Error).message
      return {
        ok: false,
        problems: [/excessive alias count/i.test(message)
          ? `invalid YAML: its aliases (*name) expand to more than ${MAX_YAML_ALIASES} values. Write the values out instead of nesting aliases.`
          : `invalid YAML: ${message}`],
      }
    }
    const locate = (path: ReadonlyArray<string | number>): Located | undefined => {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined
        if (node && typeof node === 'object' && Array.isArray(node.range)) return lineCounter.linePos(node.range[0])
      }
      return undefined
    }
    return { ok: true, value, locate }
  }
  return {
    ok: false,
    problems: limitProblems(doc.errors.map((e) => {
      const pos = e.linePos?.[0]
      const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '')
      const fix = e.code === 'DUPLICATE_KEY' ? 'Remove or rename the repeated key' : 'Fix the YAML syntax at that position'
      return `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}invalid YAML: ${what}. ${fix}.`
    })),
  }
}

/** `variants[0].expect[1].check` → `['variants', 0, 'expect', 1, 'check']`. */
export function fieldPath(text: string): Array<string | number> {
  const out: Array<string | number> = []
  for (const m of text.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!)
  return out
}

/**
 * Prefixes `line:column: ` to a problem that starts with a field path (`a.b[0].c: …`), when the
 * field (or its nearest written parent) can be found in the file.
 */
export function withPosition(problem: string, locate: (path: ReadonlyArray<string | number>) => Located | undefined): string {
  const m = /^([A-Za-z_][\w-]*(?:\[\d+\]|\.[\w-]+)*)(?=: )/.exec(problem)
  if (!m) return problem
  const pos = locate(fieldPath(m[1]!))
  return pos ? `${pos.line}:${pos.col}: ${problem}` : problem
}
