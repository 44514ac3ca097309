/**
 * Target profiles: the constants an external proxy runs with, declared because they cannot be set.
 * Built in: `qcc` (qcc v0.6.1, spec §2.2, §5.1, §5.2, §2.4) and `qcc-lab` (the bundled proxy's
 * defaults); anything else is a small YAML file. Scenario timelines follow them (constants.ts).
 *
 * For the bundled proxy the constants come from a variant's own settings instead (`bundledConstants`),
 * and `qcc-lab proxy start --constants <file>` applies a profile to it, so the same file describes and
 * configures a bundled target.
 */
import path from 'node:path'
import { z } from 'zod'
import { parseYaml, withPosition } from '../../shared/yaml.ts'
import { QccLabError } from '../../shared/errors.ts'
import { readInputFile } from '../../shared/input-file.ts'
import { formatZodIssues } from '../../shared/zod-issues.ts'
import { clusterDefaults, type ClusterConfig } from '../../proxy/config.ts'
import { resolveConnector, type ConnectorSelection } from '../../proxy/connector/profiles.ts'
import { MAX_TIMER_MS, type ProxyConstants } from '../scenario/constants.ts'

export interface TargetProfile {
  readonly name: string
  readonly description: string
  /** Where it came from: `built-in` or the file. */
  readonly source: string
  readonly constants: ProxyConstants
}

const ms = z.number().int().positive().max(MAX_TIMER_MS)

/**
 * The timelines follow `recoverMs`, `verifierIntervalMs`, `breaker.openMs` and `headersTimeoutMs`;
 * `attempts` and `breaker.threshold` only configure a bundled target (`proxy start --constants`) and
 * default to qcc's.
 */
export const targetProfileSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected lower-case letters, digits, ".", "_" or "-"').optional(),
  description: z.string().optional(),
  attempts: z.object({ max: z.number().int().positive().max(20), perEndpoint: z.number().int().positive().max(20) }).strict().default({ max: 5, perEndpoint: 2 }),
  breaker: z.object({ threshold: z.number().int().positive().max(1_000_000).default(3), openMs: ms }).strict(),
  verifierIntervalMs: ms,
  recoverMs: z.number().int().nonnegative().max(MAX_TIMER_MS),
  headersTimeoutMs: ms,
}).strict()

export const builtinTargetProfiles = {
  qcc: {
    name: 'qcc',
    description: 'qcc v0.6.1 (7ee81e9): 5 attempts / 2 per endpoint, breaker 3 failures / 60 s, failure-queue verifier every 60 s, httpx read timeout 300 s',
    source: 'built-in',
    constants: {
      attempts: { max: 5, perEndpoint: 2 },
      breaker: { threshold: 3, openMs: 60_000 },
      verifierIntervalMs: 60_000,
      // A failed answer puts the endpoint in the failure queue; the verifier's next 60 s tick lets it back.
      recoverMs: 60_000,
      headersTimeoutMs: 300_000,
    },
  },
  'qcc-lab': {
    name: 'qcc-lab',
    description: 'the bundled proxy\'s defaults: qcc\'s loop and breaker, a degraded mark expires after 30 s, verifier every 60 s, 300 s to a response head',
    source: 'built-in',
    constants: {
      attempts: clusterDefaults.attempts,
      breaker: clusterDefaults.breaker,
      verifierIntervalMs: clusterDefaults.verifier.intervalMs,
      recoverMs: clusterDefaults.recoverAfterMs,
      headersTimeoutMs: resolveConnector({ profile: 'tuned-keepalive' }).settings.headersTimeoutMs,
    },
  },
} as const satisfies Record<string, TargetProfile>

export type BuiltinTargetProfile = keyof typeof builtinTargetProfiles

/** Input files are small; anything bigger is a mistake. */
const MAX_PROFILE_BYTES = 64 * 1024

/** A built-in profile by name, or a YAML/JSON file. Bad input: exit 2 with the file and the field. */
/** `flag`: the option that named it, for the message (`--target-profile`, `--constants`). */
export function loadTargetProfile(nameOrFile: string, flag = '--target-profile'): TargetProfile {
  if (Object.hasOwn(builtinTargetProfiles, nameOrFile)) return builtinTargetProfiles[nameOrFile as BuiltinTargetProfile]
  const read = readInputFile(nameOrFile, { maxBytes: MAX_PROFILE_BYTES, what: 'target profile YAML file (a few lines)' })
  if (!read.ok) {
    throw new QccLabError('TARGET_PROFILE_INVALID', read.reason === 'missing'
      ? `${flag} ${nameOrFile}: no such file and no built-in profile by that name; built in: ${Object.keys(builtinTargetProfiles).join(', ')}.`
      : `${nameOrFile}: ${read.problem}${read.reason === 'not-a-file' ? ` Or one of the built-in profiles: ${Object.keys(builtinTargetProfiles).join(', ')}.` : ''}`)
  }
  const text = read.text
  const parsed = parseYaml(text)
  if (!parsed.ok) throw new QccLabError('TARGET_PROFILE_INVALID', parsed.problems.map((p) => `${nameOrFile}: ${p}`).join('\n'))
  const data = targetProfileSchema.safeParse(parsed.value)
  if (!data.success) {
    const lines = formatZodIssues(data.error, '').map((l) => withPosition(l, parsed.locate)).map((l) => (/^\d+:\d+: /.test(l) ? `${nameOrFile}:${l}` : `${nameOrFile}: ${l}`))
    lines.push(`  (a target profile declares: attempts {max, perEndpoint}, breaker {threshold, openMs}, verifierIntervalMs, recoverMs, headersTimeoutMs)`)
    throw new QccLabError('TARGET_PROFILE_INVALID', lines.join('\n'))
  }
  const { name, description, ...constants } = data.data
  return { name: name ?? path.basename(nameOrFile).replace(/\.(ya?ml|json)$/, ''), description: description ?? '', source: nameOrFile, constants }
}

/** What `qcc-lab proxy start --constants` applies to a cluster so the bundled proxy runs with them. */
export function clusterWithConstants(cluster: ClusterConfig, c: ProxyConstants): ClusterConfig {
  const connector: ConnectorSelection = cluster.connector ?? { profile: 'tuned-keepalive' }
  return {
    ...cluster,
    attempts: c.attempts,
    breaker: c.breaker,
    recoverAfterMs: c.recoverMs,
    verifier: { ...cluster.verifier, intervalMs: c.verifierIntervalMs },
    connector: { profile: connector.profile, overrides: { ...connector.overrides, headersTimeoutMs: c.headersTimeoutMs } },
  }
}

/** The profile as YAML, for `{profile}` in a target command when the profile is built in. */
export function targetProfileYaml(p: TargetProfile): string {
  const c = p.constants
  return [
    `# qcc-lab target profile (${p.source})`,
    `name: ${p.name}`,
    `description: ${JSON.stringify(p.description)}`,
    `attempts: { max: ${c.attempts.max}, perEndpoint: ${c.attempts.perEndpoint} }`,
    `breaker: { threshold: ${c.breaker.threshold}, openMs: ${c.breaker.openMs} }`,
    `verifierIntervalMs: ${c.verifierIntervalMs}`,
    `recoverMs: ${c.recoverMs}`,
    `headersTimeoutMs: ${c.headersTimeoutMs}`,
    '',
  ].join('\n')
}
