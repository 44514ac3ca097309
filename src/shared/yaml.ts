/** YAML parsing with problems worded the same way for scenarios and proxy configs. */
import { LineCounter, parseDocument } from 'yaml'

export type Located = { readonly line: number; readonly col: number }

/**
 * Parses one YAML document (duplicate keys are errors). Returns the value and `locate`, which finds
 * where a field path (`['variants', 0, 'expect', 1]`) was written (the nearest written ancestor when the
 * field itself is missing); or one line per problem: `line L, column C: invalid YAML: <what>`.
 */
export function parseYaml(text: string):
  | { readonly ok: true; readonly value: unknown; readonly locate: (path: ReadonlyArray<string | number>) => Located | undefined }
  | { readonly ok: false; readonly problems: string[] } {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter })
  if (doc.errors.length === 0) {
    const locate = (path: ReadonlyArray<string | number>): Located | undefined => {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined
        if (node && typeof node === 'object' && Array.isArray(node.range)) return lineCounter.linePos(node.range[0])
      }
      return undefined
    }
    return { ok: true, value: doc.toJS(), locate }
  }
  return {
    ok: false,
    problems: doc.errors.map((e) => {
      const pos = e.linePos?.[0]
      return `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}invalid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`
    }),
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
