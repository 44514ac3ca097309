/**
 * Runs `qcc-lab doctor …` without colour: in this process (runCliInProcess: the CLI's own runCommand, output
 * captured as a pipe sees it, a few ms instead of a Node start), or as a separate process (the real launcher,
 * bin/qcc-lab.js) when it reads stdin (`--log -`, `input`) or `child` asks for it. doctor-inputs.test.ts holds
 * the two to the same answers.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { runCliInProcess } from '../helpers/cli.ts'

const entry = fileURLToPath(new URL('../../bin/qcc-lab.js', import.meta.url))

export const fixtureDir = fileURLToPath(new URL('../fixtures/doctor/', import.meta.url))
export const aiohttpLog = `${fixtureDir}qcc-6f7b3a5-aiohttp-closing-transport.log`
export const all0Log = `${fixtureDir}qcc-7ee81e9-all-0-endpoints.log`

export interface DoctorRun { readonly code: number; readonly stdout: string; readonly stderr: string }

/** Given up on (code -1; a child is SIGKILLed) after `timeoutMs`, so a hang fails the test instead of stalling it. */
export function runDoctor(args: readonly string[], options: { readonly input?: Buffer | string; readonly timeoutMs?: number; readonly child?: boolean } = {}): Promise<DoctorRun> {
  // `--log -`, `-l -`, `--log=-`, `-l-`: in this process it would read the test runner's own stdin.
  const readsStdin = options.input !== undefined || args.some((a, i) => a === '--log=-' || a === '-l-' || (a === '-' && ['--log', '-l'].includes(args[i - 1] ?? '')))
  if (!readsStdin && !options.child) return runCliInProcess(['doctor', ...args], { env: { FORCE_COLOR: '0' }, timeoutMs: options.timeoutMs ?? 30_000 })
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry, 'doctor', ...args], { env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr })
    })
    child.stdin.on('error', () => {})
    child.stdin.end(options.input ?? '')
  })
}

/** The JSON report of a `--json` run. */
export function reportOf(run: DoctorRun): { verdict: string; exitCode: number; findings: Array<{ id: string; severity: string; count: number; replay: string[]; evidence: string[]; fix: string[]; first: { line: number } | null }>; thresholds: Array<{ name: string; verdict: string; value: number | null }>; log: { summary: Record<string, any> } | null; stats: Record<string, any> | null; schema: string } {
  return JSON.parse(run.stdout)
}
