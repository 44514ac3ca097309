/**
 * The README's code that is also a test stays the same as that test: the "From vitest: the test API"
 * example is test/unit/readme-example.test.ts (which imports from the source tree instead of 'qcc-lab'), and
 * the "Writing a scenario" worked example is test/fixtures/scenarios/my-relay.yaml.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** The first ```<lang> block after a line that starts with `marker`. */
function codeBlockAfter(marker: string, lang = 'ts'): string {
  const at = readme.indexOf(`\n${marker}`)
  if (at < 0) throw new Error(`README.md has no line starting "${marker}"`)
  const m = new RegExp(`\\n\`\`\`${lang}\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(readme.slice(at))
  if (!m) throw new Error(`README.md: no ts code block after "${marker}"`)
  return `${m[1]}\n`
}

describe('README.md', () => {
  it('shows the test API example exactly as test/unit/readme-example.test.ts runs it', () => {
    const test = readFileSync(new URL('./readme-example.test.ts', import.meta.url), 'utf8')
      .replace(/^\/\*\*[\s\S]*?\*\/\n/, '')
      .replace("from '../../src/index.ts'", "from 'qcc-lab'")
    expect(codeBlockAfter('## From vitest: the test API\n')).toBe(test)
  })

  it("shows Writing a scenario's worked example exactly as test/fixtures/scenarios/my-relay.yaml (which the lint tests check)", () => {
    const fixture = readFileSync(new URL('../fixtures/scenarios/my-relay.yaml', import.meta.url), 'utf8')
      .replace('$schema=../../../schemas/scenario.schema.json', '$schema=./node_modules/qcc-lab/schemas/scenario.schema.json')
    expect(codeBlockAfter('**3. The file, with the fix applied**', 'yaml')).toBe(fixture)
  })
})
