/**
 * Vitest's order (by group, then the longest last time first; without a last time, e.g. on a clean
 * clone in CI, the largest file first), except that the files known to take longest start first: the
 * parallel group ends when its last file does, and a long file started last ends it late. The timings
 * behind the list: `vitest run --reporter=json`, on a 2-core machine.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node'

export const longestFirst = [
  // parallel, by `vitest run --reporter=json` with and without vitest's cache:
  'test/integration/target-mode-liars.test.ts', // ~26 s (its three liars at once), the longest
  'test/integration/target-mode-plumbing.test.ts', // ~14 s
  'test/cli/run-jobs.test.ts', // ~13 s
  'test/cli/authoring.test.ts', // ~10 s
  'test/cli/compare.test.ts',
  'test/cli/cli.test.ts',
  'test/cli/run-output.test.ts',
  'test/cli/ci-gating.test.ts',
  'test/field/probe-scenario.test.ts',
  'test/integration/target-aiohttp.test.ts',
  'test/unit/fixtures/aiohttp-relay.test.ts',
  'test/field/doctor-inputs.test.ts',
  'test/field/probe-cli.test.ts',
  'test/cli/proxy-pidfile.test.ts',
  'test/cli/proxy.test.ts',
  // timing (two at a time): compat last took ~44 s at the end, alone, on a clean clone.
  'test/integration/target-mode-compat.test.ts', // ~36 s
  'test/integration/target-mode-contracts.test.ts', // ~24 s
]

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const rank = (f: TestSpecification): number => {
      const i = longestFirst.findIndex((p) => f.moduleId.endsWith(`/${p}`))
      return i < 0 ? longestFirst.length : i
    }
    const at = new Map(sorted.map((f, i) => [f, i]))
    // Groups and projects keep their order (BaseSequencer's); within one, the list first, the rest as they were.
    return [...sorted].sort((a, b) =>
      (a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder)
      || (a.project.name === b.project.name ? 0 : at.get(a)! - at.get(b)!)
      || (rank(a) - rank(b))
      || (at.get(a)! - at.get(b)!))
  }
}
