/**
 * Variant reports → one scenario's report and verdict: pure. The one place `qcc-lab run` and the API
 * (`runScenario`) turn a scenario's runs into what is printed, written as JSON and gated on.
 */
import type { ScenarioReport, VariantReport } from './types.ts'

export interface ScenarioRunContext {
  /** The seed the run used (the option, else the scenario's). */
  readonly seed: number
  /** 0-based repetition index. */
  readonly repeat: number
  readonly mode: 'bundled' | 'target'
  /** Target mode: the selected variants only the bundled proxy can run, and why (they were not run). */
  readonly bundledOnly: ScenarioReport['bundledOnly']
  /** Target mode: the homes kept for failed variants. */
  readonly keptHomes?: ScenarioReport['keptHomes']
}

/** A scenario fails when a variant failed, passes when one passed and none failed, else is `n/a`. */
export function summarizeScenario(
  scenario: { readonly name: string; readonly file: string; readonly description: string },
  variants: readonly VariantReport[],
  run: ScenarioRunContext,
): ScenarioReport {
  return {
    name: scenario.name,
    file: scenario.file,
    description: scenario.description,
    seed: run.seed,
    repeat: run.repeat,
    verdict: variants.some((v) => v.verdict === 'fail') ? 'fail' : variants.some((v) => v.verdict === 'pass') ? 'pass' : 'n/a',
    mode: run.mode,
    variants,
    bundledOnly: run.bundledOnly,
    ...(run.keptHomes && run.keptHomes.length > 0 ? { keptHomes: run.keptHomes } : {}),
  }
}

/**
 * One line per expectation that did not hold (`<variant>: <name>: expected <rhs>, got <value>`), and the
 * variant's first failed request explained: what a test prints when the verdict is not pass.
 */
export function unmetExpectations(variant: VariantReport): string[] {
  const failed = variant.expectations.filter((e) => e.status === 'fail')
  if (failed.length === 0) return []
  const lines = failed.map((e) => `${variant.name}: ${e.name}: expected ${e.expected}, got ${e.actual ?? 'n/a'}${e.reason ? ` (${e.reason})` : ''}`)
  const first = variant.diagnosis[0]
  return first ? [...lines, `${variant.name}: e.g. ${first.explanation}`] : lines
}
