/**
 * Text → Scenario, with every problem reported as `<file>:<line>:<column>: <field path>: <what was
 * expected>` (all of them at once, not just the first), so a bad file is fixed in one edit.
 */
import { parseYaml, withPosition } from '../../shared/yaml.ts'
import { ScenarioError } from '../../shared/errors.ts'
import { formatZodIssues } from '../../shared/zod-issues.ts'
import { resolveFault } from '../../../fake-upstreams/faults/index.ts'
import { parseCheck, type Expectation } from '../gate/expectation.ts'
import { scenarioSchema, type ProxySettings, type Scenario } from './schema.ts'
import { compatNames, resolveCompat } from '../../proxy/compat.ts'
import type { ConnectorSelection } from '../../proxy/connector/profiles.ts'
import { bundledConstants, resolveDurationsDeep } from './constants.ts'

export function parseScenario(text: string, file: string, fallbackName: string): Scenario {
  const yaml = parseYaml(text)
  if (!yaml.ok) throw new ScenarioError(file, yaml.problems)
  return scenarioFromData(yaml.value, file, fallbackName, yaml.locate)
}

/**
 * A value already parsed (YAML's, or a plain JS object) → Scenario, checked exactly as a file is;
 * `locate` adds `line:column` to each problem when the value came from text.
 */
export function scenarioFromData(data: unknown, file: string, fallbackName: string, locate?: Parameters<typeof withPosition>[1]): Scenario {
  const fail = (problems: readonly string[]): never => {
    throw new ScenarioError(file, locate ? problems.map((p) => withPosition(p, locate)) : problems)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return fail(['(root): expected a mapping with description, upstreams, workload and variants'])
  }
  const parsed = scenarioSchema.safeParse(data)
  // All problems in one round: the checks are looked at even when the schema already failed.
  if (!parsed.success) return fail([...formatZodIssues(parsed.error, ''), ...rawFaultProblems(data), ...rawCheckProblems(data)])
  const s = parsed.data
  const issues: string[] = []

  // Fault durations may follow a constant; they are checked here with the bundled proxy's defaults, and
  // resolved again for each run.
  const defaults = bundledConstants({}, { profile: 'tuned-keepalive' })
  const upstreams = s.upstreams.map((u, i) => {
    const faults: unknown[] = []
    u.faults.forEach((f, j) => {
      const r = resolveFault(resolveDurationsDeep(f, defaults), `upstreams[${i}].faults[${j}]`)
      if (r.ok) faults.push(f)
      else issues.push(...r.issues)
    })
    return { name: u.name, priority: u.priority, weight: u.weight, faults, behaviour: u.behaviour }
  })
  const names = new Set<string>()
  s.upstreams.forEach((u, i) => {
    if (names.has(u.name)) issues.push(`upstreams[${i}].name: "${u.name}" is used twice; upstream names must be unique`)
    names.add(u.name)
  })

  let gap: Scenario['workload']['gap'] = 0
  const pacing = s.workload.pacing
  if (pacing) {
    if ((pacing.gapMs === undefined) === (pacing.gapOfIdle === undefined)) {
      issues.push('workload.pacing: set exactly one of gapMs (ms) or gapOfIdle (a fraction of the idle-close idleMs)')
    } else if (pacing.gapMs !== undefined) {
      gap = pacing.gapMs
    } else {
      const idle = s.upstreams[0]?.faults.find((f): f is { kind: 'idle-close'; idleMs: number } =>
        typeof f === 'object' && f !== null && (f as { kind?: unknown }).kind === 'idle-close')
      if (!idle || typeof idle.idleMs !== 'number') issues.push('workload.pacing.gapOfIdle: needs an idle-close fault with a numeric idleMs on upstreams[0]; use gapMs instead')
      else gap = Math.round(pacing.gapOfIdle! * idle.idleMs)
    }
  }

  const variantNames = new Set<string>()
  const variants = s.variants.map((v, i) => {
    if (variantNames.has(v.name)) issues.push(`variants[${i}].name: "${v.name}" is used twice; variant names must be unique`)
    variantNames.add(v.name)
    const expect: Expectation[] = []
    v.expect.forEach((e, j) => {
      const check = typeof e === 'string' ? e : e.check
      const r = parseCheck(check, typeof e === 'string' ? undefined : e.name, names)
      if (r.ok) expect.push(r.expectation)
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
    const why: string[] = []
    if (v.connector !== undefined) why.push('sets a connector profile')
    if ((proxy.compat ?? []).length > 0) why.push(`replays compat ${(proxy.compat ?? []).join(', ')}`)
    const contract = why.length === 0
    return {
      name: v.name,
      description: v.description,
      connector,
      proxy,
      contract,
      bundledOnly: contract ? undefined : `${why.join(' and ')}, which an external proxy cannot be told`,
      requestTimeout: v.workload?.requestTimeoutMs,
      expect,
    }
  })
  if (issues.length > 0) return fail(issues)
  return {
    name: s.name ?? fallbackName,
    file,
    description: s.description.trim(),
    rootCause: s.rootCause?.trim(),
    seed: s.seed,
    concurrency: s.concurrency,
    upstreams,
    workload: {
      requests: s.workload.requests,
      concurrency: s.workload.concurrency,
      stream: s.workload.stream,
      burst: pacing?.burst ?? s.workload.requests,
      gap,
      requestTimeout: s.workload.requestTimeoutMs,
      maxDuration: s.workload.maxDurationMs,
    },
    variants,
  }
}

/**
 * Problems in the faults of a file whose schema failed (the schema leaves a fault's fields to its kind), so
 * a misspelt fault parameter is reported in the same round as a wrong field elsewhere.
 */
function rawFaultProblems(data: object): string[] {
  const raw = (data as { upstreams?: unknown }).upstreams
  if (!Array.isArray(raw)) return []
  const defaults = bundledConstants({}, { profile: 'tuned-keepalive' })
  return raw.flatMap((u, i) => {
    const faults = (u as { faults?: unknown } | null)?.faults
    if (!Array.isArray(faults)) return []
    return faults.flatMap((f, j) => {
      const r = resolveFault(typeof f === 'object' && f !== null ? resolveDurationsDeep(f, defaults) : f, `upstreams[${i}].faults[${j}]`)
      return r.ok ? [] : r.issues
    })
  })
}

/** Problems in the expectations of a file whose schema failed (so they are reported in the same round). */
function rawCheckProblems(data: object): string[] {
  const raw = data as { upstreams?: unknown; variants?: unknown }
  const names = new Set(Array.isArray(raw.upstreams) ? raw.upstreams.flatMap((u) => (typeof (u as { name?: unknown })?.name === 'string' ? [(u as { name: string }).name] : [])) : [])
  if (!Array.isArray(raw.variants)) return []
  return raw.variants.flatMap((v, i) => {
    const expect = (v as { expect?: unknown } | null)?.expect
    if (!Array.isArray(expect)) return []
    return expect.flatMap((e, j) => {
      const check = typeof e === 'string' ? e : typeof (e as { check?: unknown })?.check === 'string' ? (e as { check: string }).check : undefined
      if (check === undefined) return []
      const r = parseCheck(check, undefined, names)
      return r.ok ? [] : [`variants[${i}].expect[${j}]${typeof e === 'string' ? '' : '.check'}: ${r.problem}`]
    })
  })
}
