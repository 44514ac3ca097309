/**
 * The doctor's verdict and exit code, from its findings only: `failing` (exit 1) when one of them means
 * the failure is happening, `warnings` (exit 0) when some are worth knowing, `healthy` (exit 0).
 */
import type { Finding } from './findings.ts'

export type DoctorVerdict = 'healthy' | 'warnings' | 'failing'

export function verdictOf(findings: readonly Finding[]): { readonly verdict: DoctorVerdict; readonly exitCode: 0 | 1 } {
  if (findings.some((f) => f.severity === 'failure')) return { verdict: 'failing', exitCode: 1 }
  return { verdict: findings.length > 0 ? 'warnings' : 'healthy', exitCode: 0 }
}
