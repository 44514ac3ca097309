/**
 * `--cluster` names that every JavaScript object inherits (`__proto__`, `constructor`, `toString`…) are
 * looked up among the file's own clusters only: an unknown one gets the normal "no cluster named" message.
 *
 * NOTE: these test the loaders' lookups, which must use Object.hasOwn: src/proxy/config/load.ts
 * (`Object.hasOwn(config.clusters, clusterName)` before `config.clusters[clusterName]`, qcc-lab configs) and
 * src/proxy/config/qcc-cache.ts (`Object.hasOwn(cache.profiles, name)` in resolveQccCluster, qcc's cache.json,
 * also when a qcc-lab cluster imports a profile). On HEAD (ce22367) both were plain `obj[name]` and every test
 * here but "a cluster that really is named constructor still starts" failed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { bin, runCli } from '../helpers/cli.ts'

let dir: string
let lab: string
let cache: string
const children: ChildProcess[] = []
const inherited = ['__proto__', 'constructor', 'toString', 'hasOwnProperty']

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'qcc-lab-proxy-cluster-'))
  lab = path.join(dir, 'lab.yaml')
  await writeFile(lab, 'clusters:\n  test:\n    endpoints:\n      - { baseUrl: "http://127.0.0.1:9", apiKey: sk-cluster-test-9876 }\n  constructor:\n    endpoints:\n      - { baseUrl: "http://127.0.0.1:9", apiKey: sk-cluster-test-9876 }\n')
  cache = path.join(dir, 'cache.json')
  await writeFile(cache, JSON.stringify({ profiles: { prod: { endpoints: [{ id: 'e1', base_url: 'http://127.0.0.1:9', api_key: 'sk-cluster-test-9876' }] } } }))
})
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL')
      await once(c, 'exit')
    }
  }
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const run = (args: string[]) => runCli(args, { timeoutMs: 20_000 })

describe('qcc-lab proxy start --cluster <a name every object inherits>', () => {
  for (const name of inherited.filter((n) => n !== 'constructor')) {
    it(`qcc-lab config: --cluster ${name} is "no cluster named"`, async () => {
      const r = await run(['proxy', 'start', '--config', lab, '--cluster', name, '--port', '0', '--home', path.join(dir, 'home')])
      expect(r.code).toBe(2)
      expect(r.stderr).toBe(`qcc-lab: ${lab}: clusters: no cluster named "${name}"; this file has test, constructor\n`)
    })
  }

  for (const name of inherited) {
    it(`qcc cache.json: --cluster ${name} is "no profile named"`, async () => {
      const r = await run(['proxy', 'start', '--config', cache, '--cluster', name, '--port', '0', '--home', path.join(dir, 'home')])
      expect(r.code).toBe(2)
      expect(r.stderr).toBe(`qcc-lab: ${cache}: profiles: no profile named "${name}"; clusters here: prod\n`)
    })
  }

  it('a cluster that really is named constructor still starts', async () => {
    const child = spawn(process.execPath, [bin, 'proxy', 'start', '--config', lab, '--cluster', 'constructor', '--port', '0', '--home', path.join(dir, 'home-ok')], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let out = ''
    child.stdout!.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr!.on('data', (c: Buffer) => { out += c.toString() })
    const deadline = Date.now() + 20_000
    while (!/listening on/.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(out).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ \(pid \d+; cluster constructor: 1 endpoint/)
    child.kill('SIGTERM')
    expect((await once(child, 'exit'))[0]).toBe(0)
  })

  // Goes through the loader only (the name is looked up in another file, the imported cache.json).
  it('an imported qcc profile named toString is "no profile named"', async () => {
    const importing = path.join(dir, 'import.yaml')
    await writeFile(importing, `clusters:\n  main:\n    qcc: { profile: toString, cache: ${JSON.stringify(cache)} }\n`)
    const r = await run(['proxy', 'start', '--config', importing, '--cluster', 'main', '--port', '0', '--home', path.join(dir, 'home')])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`qcc-lab: ${cache}: profiles: no profile named "toString"; clusters here: prod\n`)
  })
})
