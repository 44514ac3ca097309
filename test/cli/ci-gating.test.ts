/** --junit, --markdown, --all, explain, and target mode against `qcc-lab proxy start` as a separate process. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { fillCommand, qccCacheFor } from '../../src/harness/runner/target.ts'
import { loadProxyConfig } from '../../src/proxy/config/load.ts'
import { writeFile } from 'node:fs/promises'

const bin = fileURLToPath(new URL('../../bin/qcc-lab.js', import.meta.url))
let dir: string
beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-ci-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
    })
  })
}

describe('CI outputs', () => {
  it('writes JUnit XML that validates, one test case per expectation, failures with expected and actual', async () => {
    const scenario = path.join(dir, 'mixed.yaml')
    await writeFile(scenario, `
description: one expectation holds, one does not
rootCause: test
upstreams:
  - name: relay
    faults: [{ kind: error-response, status: 500, untilRequest: 2 }]
proxy: { attempts: { max: 1 } }
workload: { requests: 4 }
variants:
  - name: only
    expect:
      - failures.total == 2
      - name: nothing <fails> & "quotes"
        check: failures.total == 0
`)
    const junit = path.join(dir, 'junit.xml')
    const markdown = path.join(dir, 'summary.md')
    const r = await run(['run', scenario, '--junit', junit, '--markdown', markdown])
    expect(r.code).toBe(1)
    const xml = await readFile(junit, 'utf8')
    expect(XMLValidator.validate(xml)).toBe(true)
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml)
    // The variant is a contract (no connector, no compat): its three traffic checks come first.
    expect(doc.testsuites).toMatchObject({ name: 'qcc-lab', tests: '5', failures: '1', errors: '0', skipped: '0' })
    const cases = doc.testsuites.testsuite.testcase
    expect(cases).toHaveLength(5)
    expect(cases.slice(0, 3).map((c: { name: string }) => c.name)).toEqual(['traffic reached the upstreams', 'every client success is an upstream\'s answer to that very request', 'no request was processed twice upstream'])
    expect(cases.slice(0, 3).every((c: { failure?: unknown }) => c.failure === undefined)).toBe(true)
    expect(cases[3]).toMatchObject({ classname: 'mixed.only', name: 'failures.total == 2' })
    expect(cases[3].failure).toBeUndefined()
    expect(cases[4]).toMatchObject({ name: 'nothing <fails> & "quotes"', failure: { message: 'expected == 0, got 2', type: 'ExpectationFailed' } })
    const md = await readFile(markdown, 'utf8')
    expect(md).toMatch(/^## qcc-lab: ❌ fail$/m)
    expect(md).toMatch(/^\| ❌ \| mixed \| only \| 4 \| 2 \| 0 \| 0 \| \d+ \| \d+ \| [\d.]+ \| [\d.]+ \|$/m)
    expect(md).toMatch(/^- \*\*mixed \/ only\*\*: nothing <fails> & "quotes" — expected `failures.total == 0`, got 2$/m)
  })

  it('refuses scenario names together with --all, and no scenario at all', async () => {
    expect((await run(['run', '--all', 'stale-keepalive'])).code).toBe(2)
    const none = await run(['run'])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/Name at least one scenario/)
  })

  it('explains a scenario: description, root cause, faults, and what each variant replays', async () => {
    const r = await run(['explain', 'all-endpoints-failed'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Root cause:/)
    expect(r.stdout).toMatch(/relay-a \(priority 1\): error-response \{"status":503,"untilRequest":3\}/)
    expect(r.stdout).toMatch(/compat lb-healthy-only: the balancer of the seed's 502/)
    expect(r.stdout).toMatch(/Run it: qcc-lab run all-endpoints-failed/)
  })
})

describe('target mode', () => {
  it.each(['qcc', 'null-default', 'cluster-default'] as const)('writes a qcc cache.json (%s layout) that the proxy reads back as the same cluster', async (layout) => {
    const file = path.join(dir, `cache-${layout}.json`)
    await writeFile(file, qccCacheFor('lab', [{ name: 'relay-a', baseUrl: 'http://127.0.0.1:1', apiKey: 'sk-a', priority: 1 }, { name: 'relay-b', baseUrl: 'http://127.0.0.1:2', apiKey: 'sk-b', priority: 2 }], layout))
    const { cluster, format } = loadProxyConfig(file, 'lab')
    expect(format).toBe('qcc-cache')
    expect(cluster.endpoints.map((e) => [e.baseUrl, e.priority])).toEqual([['http://127.0.0.1:1', 1], ['http://127.0.0.1:2', 2]])
  })

  it('fills placeholders shell-quoted, extra ones too, and leaves unknown ones as they are', () => {
    expect(fillCommand('run {config} --port {port} -p {profile} {unknown}', { config: "/tmp/it's here/c.json", cluster: 'x', port: '9', home: '/h', profile: 'relay a' })).toBe(`run '/tmp/it'\\''s here/c.json' --port '9' -p 'relay a' {unknown}`)
  })

  it('runs scenarios against `qcc-lab proxy start` as a separate process, with the in-process verdicts where variants apply', async () => {
    const target = `"${process.execPath}" "${bin}" proxy start --config {config} --cluster {cluster} --port {port} --home {home}`
    const external = await run(['run', 'all-endpoints-failed', 'overloaded-529', 'seed-502-chain', '--target-cmd', target, '--json', '-'])
    expect(external.code, external.stderr).toBe(0)
    const inProcess = await run(['run', 'all-endpoints-failed', 'overloaded-529', 'seed-502-chain', '--json', '-'])
    const verdicts = (json: string) => Object.fromEntries(JSON.parse(json).scenarios.flatMap((s: any) => s.variants.map((v: any) => [`${s.name}/${v.name}`, v.verdict])))
    const ext = verdicts(external.stdout)
    const inp = verdicts(inProcess.stdout)
    expect(Object.keys(ext).sort()).toEqual(['all-endpoints-failed/default', 'overloaded-529/default', 'seed-502-chain/tuned-default'])
    for (const [k, v] of Object.entries(ext)) expect(v, k).toBe(inp[k])
    const report = JSON.parse(external.stdout)
    expect(report.scenarios[0]).toMatchObject({ mode: 'target', bundledOnly: [{ variant: 'lb-healthy-only' }] })
    expect(report.scenarios[0].bundledOnly[0].reason).toMatch(/replays compat lb-healthy-only/)
    expect(report.verification).toMatchObject({ ran: 3, bundledOnly: 5, total: 8 })
    expect(report.target).toMatchObject({ profile: 'qcc', layout: 'qcc', strict: false })
    // The external proxy's own stats were read over HTTP.
    expect(report.scenarios[0].variants[0].proxyStats).toMatchObject({ total_requests: 20 })
  }, 120_000)

  it('exits 2 when the target command does not come up, with its output', async () => {
    const r = await run(['run', 'overloaded-529', '--target-cmd', 'echo broken proxy {port}; exit 3'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/Failed to start the target proxy \(it exited with code 3\)/)
    expect(r.stderr).toMatch(/broken proxy/)
  })
})
