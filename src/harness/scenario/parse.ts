/**
 * Text → Scenario, with every problem reported as `<file>: <field path>: <what was expected>` (all of
 * them at once, not just the first), so a bad file is fixed in one edit.
 */
import { parseYaml } from '../../shared/yaml.ts'
import { ScenarioError } from '../../shared/errors.ts'
import { formatZodIssues } from '../../shared/zod-issues.ts'
import { resolveFault } from '../../../fake-upstreams/faults/index.ts'
import type { FaultSpec } from '../../../fake-upstreams/index.ts'
import { parseCheck, type Expectation } from '../gate/expectation.ts'
import { scenarioSchema, type ProxySettings, type Scenario } from './schema.ts'
import { compatNames, resolveCompat } from '../../proxy/compat.ts'
import type { ConnectorSelection } from '../../proxy/connector/profiles.ts'

export function parseScenario(text: string, file: string, fallbackName: string): Scenario {
  const yaml = parseYaml(text)
  if (!yaml.ok) throw new ScenarioError(file, yaml.problems)
  const data = yaml.value
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ScenarioError(file, ['(root): expected a mapping with description, upstreams, workload and variants'])
  }
  const parsed = scenarioSchema.safeParse(data)
  if (!parsed.success) throw new ScenarioError(file, formatZodIssues(parsed.error, ''))
  const s = parsed.data
  const issues: string[] = []

  const upstreams = s.upstreams.map((u, i) => {
    const faults: FaultSpec[] = []
    u.faults.forEach((f, j) => {
      const r = resolveFault(f, `upstreams[${i}].faults[${j}]`)
      if (r.ok) faults.push(f as FaultSpec)
      else issues.push(...r.issues)
    })
    return { name: u.name, priority: u.priority, weight: u.weight, faults, behaviour: u.behaviour }
  })
  const names = new Set<string>()
  s.upstreams.forEach((u, i) => {
    if (names.has(u.name)) issues.push(`upstreams[${i}].name: "${u.name}" is used twice; upstream names must be unique`)
    names.add(u.name)
  })

  let gapMs = 0
  const pacing = s.workload.pacing
  if (pacing) {
    if ((pacing.gapMs === undefined) === (pacing.gapOfIdle === undefined)) {
      issues.push('workload.pacing: set exactly one of gapMs (ms) or gapOfIdle (a fraction of the idle-close idleMs)')
    } else if (pacing.gapMs !== undefined) {
      gapMs = pacing.gapMs
    } else {
      const idle = s.upstreams[0]?.faults.find((f): f is { kind: 'idle-close'; idleMs: number } =>
        typeof f === 'object' && f !== null && (f as { kind?: unknown }).kind === 'idle-close')
      if (!idle || typeof idle.idleMs !== 'number') issues.push('workload.pacing.gapOfIdle: needs an idle-close fault on upstreams[0]; use gapMs instead')
      else gapMs = Math.round(pacing.gapOfIdle! * idle.idleMs)
    }
  }

  const variantNames = new Set<string>()
  const variants = s.variants.map((v, i) => {
    if (variantNames.has(v.name)) issues.push(`variants[${i}].name: "${v.name}" is used twice; variant names must be unique`)
    variantNames.add(v.name)
    const expect: Expectation[] = []
    v.expect.forEach((e, j) => {
      const check = typeof e === 'string' ? e : e.check
      const r = parseCheck(check, typeof e === 'string' ? undefined : e.name)
      const named = r.ok ? [r.expectation.metric, r.expectation.operand.kind === 'metric' ? r.expectation.operand.path : ''] : []
      const unknownUpstream = named.map((m) => /^upstreams\.(.+)\.[a-z]+$/.exec(m)?.[1]).find((n) => n !== undefined && !names.has(n))
      if (r.ok && unknownUpstream !== undefined) issues.push(`variants[${i}].expect[${j}]: no upstream named "${unknownUpstream}"; upstreams here: ${[...names].join(', ')}`)
      else if (r.ok) expect.push(r.expectation)
      else issues.push(`variants[${i}].expect[${j}]${typeof e === 'string' ? '' : '.check'}: ${r.problem}`)
    })
    const connector: ConnectorSelection = v.connector === undefined
      ? { profile: 'tuned-keepalive' }
      : typeof v.connector === 'string'
      ? { profile: v.connector as ConnectorSelection['profile'] }
      : (() => {
          const { profile, ...overrides } = v.connector
          return { profile: profile as ConnectorSelection['profile'], overrides }
        })()
    const proxy: ProxySettings = {
      ...s.proxy,
      ...v.proxy,
      attempts: { ...s.proxy.attempts, ...v.proxy?.attempts },
      breaker: { ...s.proxy.breaker, ...v.proxy?.breaker },
      verifier: { ...s.proxy.verifier, ...v.proxy?.verifier },
      compat: [...(s.proxy.compat ?? []), ...(v.proxy?.compat ?? [])],
    }
    const { unknown } = resolveCompat(proxy.compat ?? [])
    for (const u of unknown) issues.push(`variants[${i}].proxy.compat: unknown compat switch "${u}"; expected one of ${compatNames.join(', ')}`)
    const bundledOnly: string[] = []
    if (v.connector !== undefined) bundledOnly.push('connector profile')
    for (const [key, value] of Object.entries(s.proxy)) if (value !== undefined) bundledOnly.push(`scenario proxy.${key}`)
    for (const [key, value] of Object.entries(v.proxy ?? {})) if (value !== undefined) bundledOnly.push(key === 'compat' ? 'compat switches' : `proxy.${key}`)
    return { name: v.name, description: v.description, connector, proxy, bundledOnly, expect }
  })

  if (issues.length > 0) throw new ScenarioError(file, issues)
  return {
    name: s.name ?? fallbackName,
    file,
    description: s.description.trim(),
    rootCause: s.rootCause?.trim(),
    seed: s.seed,
    upstreams,
    workload: {
      requests: s.workload.requests,
      concurrency: s.workload.concurrency,
      stream: s.workload.stream,
      burst: pacing?.burst ?? s.workload.requests,
      gapMs,
      requestTimeoutMs: s.workload.requestTimeoutMs,
      maxDurationMs: s.workload.maxDurationMs,
    },
    variants,
  }
}
