/**
 * A scenario for CLI tests: one relay whose race-close fault closes every reused connection as a request
 * arrives, 6 back-to-back requests, one attempt each (no retry by the attempt loop). With naive keep-alive
 * every second request fails (reused → dropped; the next one opens a new connection), so 3 of 6; tuned
 * keep-alive retries each of those on a fresh connection; force-close never reuses.
 */
export interface RaceVariant {
  readonly name: string
  readonly connector: 'naive-keepalive' | 'tuned-keepalive' | 'force-close'
  readonly expect: readonly string[]
}

export function raceCloseScenario(description: string, variants: readonly RaceVariant[]): string {
  return [
    `description: ${description}`,
    'upstreams:',
    '  - name: relay',
    '    faults:',
    '      - kind: race-close',
    'proxy:',
    '  attempts: { max: 1 }',
    'workload:',
    '  requests: 6',
    'variants:',
    ...variants.flatMap((v) => [`  - name: ${v.name}`, `    connector: ${v.connector}`, `    expect: ${JSON.stringify(v.expect)}`]),
    '',
  ].join('\n')
}
