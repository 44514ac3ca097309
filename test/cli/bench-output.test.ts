/**
 * Where `bench` writes its report and its table: `-` for stdout (the table then goes to stderr), files
 * written atomically, bad paths refused before the run. The run itself is replaced by a synthetic report
 * (a real one takes ~50 s).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runBench } from '../../src/bench/run-bench.ts'
import { benchCommand } from '../../src/cli/commands/bench.ts'

vi.mock('../../src/bench/run-bench.ts', async () => {
  const { benchMatrix, quickMatrix } = await import('../unit/bench/report-fixture.ts')
  return { runBench: vi.fn(async () => benchMatrix(quickMatrix)) }
})

let dir: string
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-bench-out-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })
afterEach(() => { vi.restoreAllMocks(); vi.mocked(runBench).mockClear() })

/** Runs `bench` with these flags, capturing what it writes to stdout and stderr. */
async function bench(flags: Parameters<typeof benchCommand>[0]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { stdout += String(chunk); return true })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { stderr += String(chunk); return true })
  try {
    return { code: await benchCommand({ quick: true, progress: false, ...flags }), stdout, stderr }
  } finally {
    vi.restoreAllMocks()
  }
}

describe('qcc-lab bench outputs', () => {
  it('writes the JSON report alone on stdout with --json -, the table on stderr', async () => {
    const r = await bench({ json: '-' })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ schema: 'qcc-lab/bench-report@1', mode: 'quick' })
    expect(r.stderr).toMatch(/^qcc-lab bench \(quick\): /)
  })

  it('writes Markdown on stdout with --markdown -, and the JSON to a file, atomically', async () => {
    const sub = path.join(dir, 'md')
    await mkdir(sub)
    const json = path.join(sub, 'bench.json')
    const r = await bench({ json, markdown: '-' })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^### qcc-lab bench \(quick\)\n/)
    expect(r.stderr).toMatch(/^qcc-lab bench \(quick\): /)
    expect(JSON.parse(await readFile(json, 'utf8'))).toMatchObject({ schema: 'qcc-lab/bench-report@1' })
    expect(await readdir(sub)).toEqual(['bench.json'])
  })

  it('keeps the table on stdout when every report goes to a file', async () => {
    const sub = path.join(dir, 'files')
    await mkdir(sub)
    const r = await bench({ json: path.join(sub, 'b.json'), markdown: path.join(sub, 'b.md') })
    expect(r.stdout).toMatch(/^qcc-lab bench \(quick\): /)
    expect(r.stderr).toBe('')
    expect((await readdir(sub)).sort()).toEqual(['b.json', 'b.md'])
    expect(await readFile(path.join(sub, 'b.md'), 'utf8')).toMatch(/^### qcc-lab bench \(quick\)/)
  })

  it('refuses a path in a missing folder, or two reports on stdout, before running anything', async () => {
    await expect(bench({ json: path.join(dir, 'no-such-folder', 'b.json') })).rejects.toThrow(/^--json .*no-such-folder\/b\.json: the folder .*no-such-folder does not exist/)
    await expect(bench({ json: '-', markdown: '-' })).rejects.toThrow(/--json and --markdown both write to stdout/)
    expect(runBench).not.toHaveBeenCalled()
  })
})
