/**
 * The shared input-file reader (src/shared/input-file.ts) every config, scenario, target profile and
 * report goes through, and YAML's alias limit (src/shared/yaml.ts). A FIFO is tested through the CLI
 * (test/cli/malformed-input.test.ts), in a child process with a timeout: a blocked read here would
 * block this worker for good.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { formatBytes, inputLimits, readInputFile } from '../../../../src/shared/input-file.ts'
import { MAX_YAML_ALIASES, parseYaml } from '../../../../src/shared/yaml.ts'
import { formatZodIssues, MAX_LISTED_PROBLEMS } from '../../../../src/shared/zod-issues.ts'
import { z } from 'zod'

let dir: string
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-input-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

const what = 'scenario YAML file'

describe('readInputFile', () => {
  it('reads a regular file as UTF-8 and drops a byte-order mark', async () => {
    const f = path.join(dir, 'bom.yaml')
    await writeFile(f, '\ufeffname: é\n')
    expect(readInputFile(f, { maxBytes: 100, what })).toEqual({ ok: true, text: 'name: é\n' })
  })

  it('refuses a missing file, a directory and a file over the limit, each with what to do', async () => {
    expect(readInputFile(path.join(dir, 'nope.yaml'), { maxBytes: 100, what })).toEqual({ ok: false, reason: 'missing', problem: 'cannot read the file: it does not exist. Check the path.' })
    const d = path.join(dir, 'folder.yaml')
    await mkdir(d)
    expect(readInputFile(d, { maxBytes: 100, what })).toEqual({ ok: false, reason: 'not-a-file', problem: 'is a directory, not a regular file. Give the path of a scenario YAML file.' })
    const big = path.join(dir, 'big.yaml')
    await truncate(big, 0).catch(() => writeFile(big, ''))
    await truncate(big, 3 * 1024 * 1024)
    expect(readInputFile(big, { maxBytes: inputLimits.yaml, what })).toEqual({ ok: false, reason: 'too-big', problem: 'is 3.0 MiB; a scenario YAML file is at most 1.0 MiB. Check that this is the right file.' })
    expect(readInputFile(path.join(big, 'below'), { maxBytes: 100, what })).toMatchObject({ ok: false, reason: 'missing' })
  })

  it('accepts a file of exactly the limit, and refuses one byte more', async () => {
    const f = path.join(dir, 'edge.yaml')
    await writeFile(f, 'x'.repeat(64))
    expect(readInputFile(f, { maxBytes: 64, what })).toMatchObject({ ok: true })
    await writeFile(f, 'x'.repeat(65))
    expect(readInputFile(f, { maxBytes: 64, what })).toMatchObject({ ok: false, reason: 'too-big' })
  })

  it.skipIf(!existsSync('/proc/self/status'))('reads to the end of a file whose stat size is 0 (/proc)', () => {
    const r = readInputFile('/proc/self/status', { maxBytes: 1024 * 1024, what })
    expect(r.ok && r.text.includes('Pid:')).toBe(true)
  })

  it.skipIf(!existsSync('/dev/null'))('refuses a device', () => {
    expect(readInputFile('/dev/null', { maxBytes: 100, what })).toMatchObject({ ok: false, reason: 'not-a-file', problem: 'is a device, not a regular file. Give the path of a scenario YAML file.' })
  })

  it('formats sizes', () => {
    expect([formatBytes(1), formatBytes(300), formatBytes(2048), formatBytes(5 * 1024 * 1024)]).toEqual(['1 byte', '300 bytes', '2.0 KiB', '5.0 MiB'])
  })
})

describe('parseYaml limits', () => {
  it('refuses an alias bomb without throwing', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x]']
    for (let i = 1; i < 10; i++) lines.push(`${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(9).fill(`*${'abcdefghij'[i - 1]}`).join(', ')}]`)
    const r = parseYaml(lines.join('\n'))
    expect(r).toEqual({ ok: false, problems: [`invalid YAML: its aliases (*name) expand to more than ${MAX_YAML_ALIASES} values. Write the values out instead of nesting aliases.`] })
  })

  it('still accepts a few aliases', () => {
    const r = parseYaml('base: &b { idleMs: 400 }\nfaults: [*b, *b, *b]\n')
    expect(r.ok && r.value).toEqual({ base: { idleMs: 400 }, faults: [{ idleMs: 400 }, { idleMs: 400 }, { idleMs: 400 }] })
  })

  it('reports an alias to a missing anchor as a YAML problem', () => {
    const r = parseYaml('a: *nowhere\n')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.problems[0]).toMatch(/invalid YAML/)
  })

  it('lists at most MAX_LISTED_PROBLEMS problems and counts the rest', () => {
    const r = z.array(z.number()).safeParse(Array(200).fill('x'))
    const lines = formatZodIssues(r.error!, 'items')
    expect(lines).toHaveLength(MAX_LISTED_PROBLEMS + 1)
    expect(lines.at(-1)).toBe(`… and ${200 - MAX_LISTED_PROBLEMS} more problem(s); fix the ones above first (or check that this is the right file)`)
  })
})
