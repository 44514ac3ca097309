/** Report outputs are refused before a run with a message that names the flag and a fix. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkOutputs } from '../../../src/cli/output.ts'

let dir: string
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-output-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('checkOutputs', () => {
  it.each([
    ['--json', 'report.json'],
    ['--junit', 'junit.xml'],
    ['--markdown', 'summary.md'],
    ['--html', 'report.html'],
    ['--out', 'scenario.schema.json'],
  ])('suggests a file name that fits %s when given a folder', (flag, name) => {
    expect(() => checkOutputs([{ flag, target: dir }])).toThrow(`${flag} ${dir}: is a folder; give a file path, e.g. ${path.join(dir, name)}.`)
  })

  it('refuses two outputs on stdout and a missing folder', () => {
    expect(() => checkOutputs([{ flag: '--json', target: '-' }, { flag: '--junit', target: '-' }])).toThrow('--json and --junit both write to stdout (-)')
    expect(() => checkOutputs([{ flag: '--junit', target: path.join(dir, 'no', 'j.xml') }])).toThrow(/the folder .* does not exist; create it first \(mkdir -p /)
  })
})
