/**
 * How often `compare` is right about the proxy's CPU per request, measured: alternating `bench --quick
 * --anchor node-floor` runs of the same code (base) and with +N % proxy CPU per request injected
 * (QCC_LAB_BENCH_INJECT_CPU_PCT, see src/bench/host.ts), then compare on every ordered pair of base
 * runs (a false alarm is any exit 1) and on each base run against the injected run after it (a catch is
 * exit 1). Bounded: `pairs` × 2 bench runs of ~55 s each.
 *
 *   node bench/cpu-gate-experiment.ts run <dir> [pairs=10] [inject-pct=10]
 *   node bench/cpu-gate-experiment.ts evaluate <dir> [cpu-threshold-pct]
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { compareReports, DEFAULT_CPU_THRESHOLD_PCT } from '../src/bench/compare.ts'
import { defaultGateFigures, type BenchReport } from '../src/bench/types.ts'

const cli = fileURLToPath(new URL('../bin/qcc-lab.js', import.meta.url))
const [mode, dir, a, b] = process.argv.slice(2)
if ((mode !== 'run' && mode !== 'evaluate') || !dir) {
  process.stderr.write('usage: node bench/cpu-gate-experiment.ts run <dir> [pairs=10] [inject-pct=10] | evaluate <dir> [cpu-threshold-pct]\n')
  process.exit(2)
}

if (mode === 'run') {
  const pairs = Number(a ?? 10)
  const pct = Number(b ?? 10)
  mkdirSync(dir, { recursive: true })
  for (let i = 1; i <= pairs; i++) {
    for (const kind of ['base', 'inj'] as const) {
      const out = path.join(dir, `${kind}-${i}.json`)
      const started = Date.now()
      execFileSync(process.execPath, [cli, 'bench', '--quick', '--anchor', 'node-floor', '--no-progress', '--json', out], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, QCC_LAB_BENCH_INJECT_CPU_PCT: kind === 'inj' ? String(pct) : '0' },
      })
      process.stderr.write(`${kind}-${i}: ${((Date.now() - started) / 1000).toFixed(0)} s\n`)
    }
  }
}

const threshold = mode === 'evaluate' && a !== undefined ? Number(a) : DEFAULT_CPU_THRESHOLD_PCT
// QCC_LAB_GATE=cpuUsPerRequest evaluates one gate alone.
const gates = (process.env.QCC_LAB_GATE?.split(',') ?? defaultGateFigures) as typeof defaultGateFigures
const reports = new Map<string, BenchReport>()
for (const f of readdirSync(dir).filter((x) => /^(base|inj)-\d+\.json$/.test(x))) reports.set(f.replace('.json', ''), JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as BenchReport)
const n = (k: string): number => Number(k.split('-')[1])
const base = [...reports.keys()].filter((k) => k.startsWith('base-')).sort((x, y) => n(x) - n(y))
const judge = (x: string, y: string) => {
  const c = compareReports(reports.get(x)!, reports.get(y)!, 10, gates, { cpuThresholdPct: threshold })
  const why = [...c.changes.filter((ch) => ch.regression).map((ch) => `${ch.id} ${ch.figure} ${ch.changePct.toFixed(1)}%`), ...(c.cpu?.regression ? ['CPU over all configurations'] : [])]
  return { exit: c.regressions > 0 ? 1 : 0, cpu: c.cpu, why }
}
let falseAlarms = 0
let samePairs = 0
let largest = 0
for (const x of base) {
  for (const y of base) {
    if (x === y) continue
    const j = judge(x, y)
    samePairs++
    largest = Math.max(largest, Math.abs(j.cpu?.changePct ?? 0))
    if (j.exit) {
      falseAlarms++
      console.log(`false alarm: compare ${x} ${y}: ${j.why.join('; ')}`)
    }
  }
}
let caught = 0
let injPairs = 0
const moved: number[] = []
for (const x of base) {
  const y = `inj-${n(x)}`
  if (!reports.has(y)) continue
  const j = judge(x, y)
  injPairs++
  moved.push(j.cpu?.changePct ?? Number.NaN)
  if (j.exit) caught++
  console.log(`${j.exit ? 'caught' : 'MISSED'}: compare ${x} ${y}: CPU over all configurations ${j.cpu?.changePct.toFixed(1)}% ±${j.cpu?.noisePct.toFixed(1)}%${j.why.length ? ` (${j.why.join('; ')})` : ''}`)
}
console.log(`\ncpu threshold ${threshold} %, gate ${gates.join(',')}`)
console.log(`same code: exit 1 in ${falseAlarms} of ${samePairs} ordered pairs of ${base.length} runs; the CPU aggregate moved at most ${largest.toFixed(1)} %`)
console.log(`injected: exit 1 in ${caught} of ${injPairs} pairs; the CPU aggregate moved ${moved.map((v) => v.toFixed(1)).join(', ')} %`)
