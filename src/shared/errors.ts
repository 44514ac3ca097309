/**
 * Errors that reach the user. Each carries a stable `code`; the CLI maps every one of them to exit 2
 * and prints the message without a stack trace. Anything else that escapes is a bug.
 */
export class QccLabError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'QccLabError'
    this.code = code
  }
}

/**
 * A scenario file that cannot be read, parsed or validated. Message: `<file>:<line>:<column>: <path>:
 * <problem>` (the position when it is known), one line per problem.
 */
export class ScenarioError extends QccLabError {
  readonly file: string
  readonly issues: readonly string[]
  constructor(file: string, issues: readonly string[], options?: ErrorOptions) {
    super('SCENARIO_INVALID', issues.map((i) => (/^\d+:\d+: /.test(i) ? `${file}:${i}` : `${file}: ${i}`)).join('\n'), options)
    this.name = 'ScenarioError'
    this.file = file
    this.issues = issues
  }
}

/** Bad command-line input (unknown variant, bad number…). */
export class UsageError extends QccLabError {
  constructor(message: string) {
    super('USAGE', message)
    this.name = 'UsageError'
  }
}
