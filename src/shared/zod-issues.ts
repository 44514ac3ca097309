import type { z } from 'zod'

function describeBound(issue: { origin?: unknown; minimum?: unknown; maximum?: unknown; inclusive?: boolean }, kind: 'min' | 'max'): string {
  const bound = kind === 'min' ? issue.minimum : issue.maximum
  const op = kind === 'min' ? (issue.inclusive ? '>=' : '>') : (issue.inclusive ? '<=' : '<')
  if (issue.origin === 'array') return `expected ${kind === 'min' ? 'at least' : 'at most'} ${String(bound)} item(s)`
  if (issue.origin === 'string') return `expected ${kind === 'min' ? 'at least' : 'at most'} ${String(bound)} character(s)`
  if (kind === 'min' && bound === 0 && !issue.inclusive) return 'expected a positive number'
  if (kind === 'min' && bound === 0 && issue.inclusive) return 'expected zero or a positive number'
  return `expected a number ${op} ${String(bound)}`
}

/** `a number`, `an object`, `a whole number`. */
function typeName(expected: string): string {
  if (expected === 'int') return 'a whole number'
  if (expected === 'record') return 'a mapping of names to entries ({ name: … })'
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`
}

/** A plain sentence for zod's default messages; custom messages pass through unchanged. */
function message(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (/received undefined$/.test(issue.message)) return `missing; expected ${typeName(issue.expected)}`
      if (!issue.message.startsWith('Invalid input')) return issue.message
      return `expected ${typeName(issue.expected)}, got ${/received (\w+)$/.exec(issue.message)?.[1] ?? 'something else'}`
    case 'too_small':
      return issue.message.startsWith('Too small') ? describeBound(issue, 'min') : issue.message
    case 'too_big':
      return issue.message.startsWith('Too big') ? describeBound(issue, 'max') : issue.message
    case 'invalid_value':
      return issue.message.startsWith('Invalid option') ? `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` : issue.message
    case 'invalid_format':
      return issue.message.startsWith('Invalid string') ? `does not match the expected format (${issue.format})` : issue.message
    default:
      return issue.message
  }
}

/** At most this many problems are listed; a file with thousands of them is usually the wrong file. */
export const MAX_LISTED_PROBLEMS = 50

/** The first `max` problems, and one line saying how many more there are. */
export function limitProblems(lines: readonly string[], max = MAX_LISTED_PROBLEMS): string[] {
  if (lines.length <= max) return [...lines]
  return [...lines.slice(0, max), `… and ${lines.length - max} more problem(s); fix the ones above first (or check that this is the right file)`]
}

/**
 * Formats zod issues as `<path>: <problem>` lines with `a.b[0].c` paths under `base`, so a bad field
 * is named the way the user wrote it, with what was expected. At most MAX_LISTED_PROBLEMS lines and a
 * count of the rest.
 */
export function formatZodIssues(error: z.ZodError, base: string): string[] {
  const lines: string[] = []
  for (const issue of error.issues) {
    let p = base
    for (const key of issue.path) p += typeof key === 'number' ? `[${key}]` : p === '' ? String(key) : `.${String(key)}`
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) lines.push(`${p === '' ? k : `${p}.${k}`}: unknown field; remove it or check its spelling`)
      continue
    }
    lines.push(`${p === '' ? '(root)' : p}: ${message(issue)}`)
  }
  return limitProblems(lines)
}
