/** Runs the qcc-lab CLI as a separate process, as a user's CI would. */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const bin = fileURLToPath(new URL('../../bin/qcc-lab.js', import.meta.url))

/** `node bin/qcc-lab.js …` in a shell command (for --target-cmd), quoted. */
export const qccLabCommand = `"${process.execPath}" "${bin}"`

export interface CliResult { readonly code: number; readonly stdout: string; readonly stderr: string }

/** Without colour; killed (SIGKILL, code -1) when it outlives `timeoutMs`, so a hang fails the test instead of stalling it. */
export function runCli(args: readonly string[], options: { readonly timeoutMs?: number; readonly env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      timeout: options.timeoutMs ?? 240_000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
    })
  })
}

/** `{ "<scenario>/<variant>": verdict }` from a JSON run report. */
export function verdicts(report: { scenarios: Array<{ name: string; variants: Array<{ name: string; verdict: string }> }> }): Record<string, string> {
  return Object.fromEntries(report.scenarios.flatMap((s) => s.variants.map((v) => [`${s.name}/${v.name}`, v.verdict])))
}
