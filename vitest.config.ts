import { defineConfig } from 'vitest/config'
import { PlainSummaryReporter } from './test/plain-summary-reporter.ts'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Network tests use real sockets on 127.0.0.1:0; timing is controlled by the fake upstream,
    // so generous timeouts only guard against hangs, never decide a verdict.
    testTimeout: 30_000,
    hookTimeout: 20_000,
    reporters: ['default', new PlainSummaryReporter()],
  },
})
