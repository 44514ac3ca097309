/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, after vitest's own summary, so CI
 * systems that read a run's last line understand it. A failed hook or suite counts as a failure even
 * though vitest marks its tests skipped, and so does an unhandled error: "0 failed" only when nothing failed.
 */
import type { Reporter, TestModule } from 'vitest/node'

export class PlainSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown> = []): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    for (const mod of testModules) {
      let failedHere = 0
      for (const test of mod.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failedHere++
        else skipped++
      }
      // A beforeAll/afterAll that threw fails its suite (its tests show as skipped): one failure per such suite.
      for (const suite of mod.children.allSuites()) {
        if (suite.state() === 'failed' && ![...suite.children.allTests()].some((t) => t.result().state === 'failed')) failedHere++
      }
      // A file that failed outside any suite (an import error, a top-level hook).
      if (mod.state() === 'failed' && failedHere === 0) failedHere++
      failed += failedHere
    }
    failed += unhandledErrors.length
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  }
}
