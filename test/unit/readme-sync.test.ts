/**
 * The README's code that is also a test stays the same as that test: the "From vitest: the test API"
 * example is test/unit/readme-example.test.ts (which imports from the source tree instead of 'qcc-lab').
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** The first ```ts block after a heading. */
function codeBlockAfter(heading: string): string {
  const at = readme.indexOf(`\n${heading}\n`)
  if (at < 0) throw new Error(`README.md has no heading "${heading}"`)
  const m = /\n```ts\n([\s\S]*?)\n```\n/.exec(readme.slice(at))
  if (!m) throw new Error(`README.md: no ts code block after "${heading}"`)
  return `${m[1]}\n`
}

describe('README.md', () => {
  it('shows the test API example exactly as test/unit/readme-example.test.ts runs it', () => {
    const test = readFileSync(new URL('./readme-example.test.ts', import.meta.url), 'utf8')
      .replace(/^\/\*\*[\s\S]*?\*\/\n/, '')
      .replace("from '../../src/index.ts'", "from 'qcc-lab'")
    expect(codeBlockAfter('## From vitest: the test API')).toBe(test)
  })
})
