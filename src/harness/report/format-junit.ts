/**
 * JUnit XML, as CI systems render it: one <testsuite> per scenario run, one <testcase> per expectation
 * (classname `<scenario>.<variant>`), a <failure> with expected and actual when it did not hold, a
 * <skipped> one for an expectation this run could not evaluate, and a <skipped> test case for each
 * bundled-only variant in target mode.
 */
import type { RunReport } from './types.ts'

export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
    // Characters XML 1.0 does not allow at all.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
}

export function formatJunit(report: RunReport): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>']
  let tests = 0
  let failures = 0
  let skipped = 0
  const suites: string[] = []
  for (const s of report.scenarios) {
    const cases: string[] = []
    let suiteFailures = 0
    let suiteSkipped = 0
    for (const v of s.variants) {
      const seconds = (v.durationMs / 1000 / Math.max(1, v.expectations.length)).toFixed(3)
      for (const e of v.expectations) {
        const head = `    <testcase classname="${xmlEscape(`${s.name}.${v.name}`)}" name="${xmlEscape(e.name)}" time="${seconds}"`
        if (e.status === 'pass') cases.push(`${head}/>`)
        else if (e.status === 'n/a') {
          suiteSkipped++
          cases.push(`${head}>\n      <skipped message="${xmlEscape(`not evaluable in this run: ${e.check}`)}"/>\n    </testcase>`)
        } else {
          suiteFailures++
          const detail = [`check: ${e.check}`, `expected ${e.expected}, got ${e.actual}`, ...v.diagnosis.map((d) => d.explanation)].join('\n')
          cases.push(`${head}>\n      <failure message="${xmlEscape(`expected ${e.expected}, got ${e.actual}`)}" type="ExpectationFailed">${xmlEscape(detail)}</failure>\n    </testcase>`)
        }
      }
    }
    for (const n of s.bundledOnly) {
      const head = `    <testcase classname="${xmlEscape(`${s.name}.${n.variant}`)}" name="bundled-only: not run against the target" time="0">`
      if (report.target?.strict) {
        // --strict: a variant that could not be verified against the target fails the run.
        suiteFailures++
        cases.push(`${head}\n      <failure message="${xmlEscape(`--strict: ${n.reason}`)}" type="BundledOnly">${xmlEscape(n.reason)}</failure>\n    </testcase>`)
      } else {
        suiteSkipped++
        cases.push(`${head}\n      <skipped message="${xmlEscape(n.reason)}"/>\n    </testcase>`)
      }
    }
    const suiteTests = s.variants.reduce((n, v) => n + v.expectations.length, 0) + s.bundledOnly.length
    tests += suiteTests
    failures += suiteFailures
    skipped += suiteSkipped
    const seconds = (s.variants.reduce((n, v) => n + v.durationMs, 0) / 1000).toFixed(3)
    const name = s.repeat > 0 ? `${s.name} (repeat ${s.repeat + 1})` : s.name
    suites.push(`  <testsuite name="${xmlEscape(name)}" tests="${suiteTests}" failures="${suiteFailures}" errors="0" skipped="${suiteSkipped}" time="${seconds}" timestamp="${xmlEscape(report.startedAt.replace(/\.\d+Z$/, ''))}">\n${cases.join('\n')}\n  </testsuite>`)
  }
  lines.push(`<testsuites name="qcc-lab" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${(report.durationMs / 1000).toFixed(3)}">`)
  lines.push(...suites)
  lines.push('</testsuites>')
  return `${lines.join('\n')}\n`
}
