/**
 * Shared by test/integration/target-mode-*.test.ts: target mode judged by its reference targets, each a
 * separate process driven through the CLI as a user's CI drives it. Timelines follow
 * test/fixtures/targets/fast-lab.yaml, which the bundled proxy is also started with.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { qccLabCommand, runCli, verdicts } from './cli.ts'

export const fixtures = fileURLToPath(new URL('../fixtures/targets/', import.meta.url))
export const profile = path.join(fixtures, 'fast-lab.yaml')
export const bundled = (extra = ''): string =>
  `${qccLabCommand} proxy start --config {config} --cluster {cluster} --port {port} --home {home} --constants {profile}${extra}`
export const stub = (extra = ''): string => `"${process.execPath}" "${path.join(fixtures, 'stub-200.mjs')}" {port}${extra}`
export const lying = (mode: string): string => `"${process.execPath}" "${path.join(fixtures, 'lying-relay.mjs')}" {config} {cluster} {port} ${mode}`

/**
 * Variants at once in a `run --all` against a reference target. Each variant gets its own target
 * process, port and home (every reference target takes {port} and {home} or keeps no state), so they do
 * not share anything a real target might; `--jobs` with a target is what run-jobs.test.ts covers, the
 * default (one at a time) too.
 */
export const targetJobs = '4'

/** `run --all` against `target` with `--jobs` (targetJobs), JSON on stdout. */
export async function runAll(target: string, extra: string[] = []) {
  const r = await runCli(['run', '--all', '--no-progress', '--jobs', targetJobs, '--target-profile', profile, '--target-cmd', target, '--json', '-', ...extra])
  if (r.code === 2) throw new Error(`qcc-lab exited 2:\n${r.stderr}`)
  return { code: r.code, report: JSON.parse(r.stdout), stderr: r.stderr }
}

/** The scenarios with a failed variant, sorted. */
export const failing = (report: Parameters<typeof verdicts>[0]): string[] =>
  Object.entries(verdicts(report)).filter(([, v]) => v === 'fail').map(([k]) => k.split('/')[0]!).sort()

/** What failed, for an assertion's message: per failed variant its failed expectations (and the target's end). */
export function whyFailed(report: { scenarios: Array<{ name: string; variants: Array<{ name: string; verdict: string; target?: unknown; expectations: Array<{ name: string; status: string; actual?: unknown; reason?: string }> }> }> }): string {
  return report.scenarios.flatMap((s) => s.variants.filter((v) => v.verdict === 'fail').map((v) =>
    `${s.name}/${v.name}: ${v.expectations.filter((e) => e.status === 'fail').map((e) => `${e.name} (got ${JSON.stringify(e.actual)}${e.reason ? `; ${e.reason}` : ''})`).join('; ')} · target ${JSON.stringify(v.target)}`)).join('\n')
}

/** Processes whose command line contains `marker` (Linux /proc), other than this one. */
export function alive(marker: string): number[] {
  const out: number[] = []
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0]
      if (cmd.includes(marker) && state !== 'Z') out.push(Number(pid))
    } catch { /* gone */ }
  }
  return out
}
