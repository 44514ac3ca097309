import type { z } from 'zod'

/**
 * Formats zod issues as `<path>: <message>` lines with `a.b[0].c` paths under `base`, so a bad field
 * is named the way the user wrote it.
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
    lines.push(`${p === '' ? '(root)' : p}: ${issue.message}`)
  }
  return lines
}
