/**
 * The package as another project gets it: `npm pack` (which builds dist/ through `prepack`), the tarball installed
 * into an empty project, then what the README's "Use it in your CI" section tells people to run: `npx qcc-lab run`
 * with a JUnit report, an `import` of the API, and a type check of that import. A clone runs TypeScript sources;
 * an installed package cannot (Node refuses to strip types under node_modules: ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING),
 * so only this test sees whether the build is what users run.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const require = createRequire(import.meta.url)
const manifest = require('../../package.json') as { name: string; version: string }

interface Result { readonly code: number; readonly stdout: string; readonly stderr: string }

// Without the tests' compile cache (vitest.config.ts): everything here runs from fresh temporary folders,
// which would only add entries to it, run after run.
const { NODE_COMPILE_CACHE: _compileCache, ...env } = process.env

function sh(cmd: string, args: readonly string[], cwd: string, timeoutMs = 120_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: { ...env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
    })
  })
}

function ok(r: Result, what: string): Result {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`)
  return r
}

let dir: string
let app: string
let packed: { files: Array<{ path: string }>; unpackedSize: number; filename: string }

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qcc-lab-pack-'))
  const pack = ok(await sh('npm', ['pack', '--json', '--pack-destination', dir], root), 'npm pack')
  packed = (JSON.parse(pack.stdout) as Array<typeof packed>)[0]!
  app = join(dir, 'app')
  await sh('mkdir', ['-p', app], dir)
  await writeFile(join(app, 'package.json'), `${JSON.stringify({ name: 'their-ci', private: true, type: 'module' }, null, 2)}\n`)
  ok(await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, packed.filename)], app, 180_000), 'npm install <tarball>')
}, 240_000)

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe("the README's quick start in this clone", () => {
  it('npx qcc-lab runs the sources, with no build (dist/ may not exist)', async () => {
    const r = ok(await sh('npx', ['qcc-lab', '--version'], root), 'npx qcc-lab --version in the clone')
    expect(r.stdout.trim()).toBe(manifest.version)
  })
})

describe('installed as a git dependency (npm runs prepare in its own clone of the repository)', () => {
  // A clone of HEAD: a git dependency ships what is committed, so uncommitted edits are not in it.
  it('builds dist/, links the bin and exports the API', async () => {
    const src = join(dir, 'git-src')
    ok(await sh('git', ['clone', '-q', '--no-hardlinks', root, src], dir), 'git clone')
    const gitApp = join(dir, 'git-app')
    await sh('mkdir', ['-p', gitApp], dir)
    await writeFile(join(gitApp, 'package.json'), `${JSON.stringify({ name: 'their-ci-git', private: true, type: 'module' }, null, 2)}\n`)
    ok(await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', `git+file://${src}`], gitApp, 180_000), 'npm install git+file://…')
    expect(ok(await sh('npx', ['qcc-lab', '--version'], gitApp), 'npx qcc-lab --version').stdout.trim()).toBe(manifest.version)
    const r = ok(await sh(process.execPath, ['--input-type=module', '-e', "const m = await import('qcc-lab'); console.log(typeof m.runScenario, typeof m.startProxy)"], gitApp), 'import qcc-lab')
    expect(r.stdout.trim()).toBe('function function')
  }, 240_000)
})

describe('the packed package, installed into an empty project', () => {
  it('ships the build, the scenarios, the schemas, README and LICENSE, and no sources or tests', () => {
    const paths = packed.files.map((f) => f.path)
    for (const p of ['bin/qcc-lab.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/fake-upstreams/index.js', 'scenarios/stale-keepalive.yaml', 'README.md', 'LICENSE', 'package.json']) {
      expect(paths, p).toContain(p)
    }
    expect(paths.filter((p) => /^(src|test|bench|fake-upstreams|scripts)\//.test(p) || p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([])
    expect(packed.unpackedSize).toBeLessThan(1_500_000)
  })

  it('npx qcc-lab run stale-keepalive reproduces the failure and gates, with JSON and JUnit reports', async () => {
    const r = await sh('npx', ['qcc-lab', 'run', 'stale-keepalive', '--no-progress', '--json', 'report.json', '--junit', 'junit.xml'], app)
    expect(r.stderr).not.toContain('ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING')
    ok(r, 'npx qcc-lab run stale-keepalive')
    expect(r.stdout).toMatch(/^PASS stale-keepalive/m)
    const report = JSON.parse(await readFile(join(app, 'report.json'), 'utf8')) as { schema: string; environment: { qccLab: string }; scenarios: Array<{ variants: Array<{ name: string; verdict: string }> }> }
    expect(report.schema).toBe('qcc-lab/run-report@3')
    expect(report.environment.qccLab).toBe(manifest.version)
    const variants = report.scenarios[0]!.variants
    expect(variants.map((v) => v.name)).toContain('naive-keepalive')
    expect(variants.every((v) => v.verdict === 'pass')).toBe(true)
    expect(await readFile(join(app, 'junit.xml'), 'utf8')).toMatch(/<testsuites [^>]*failures="0"/)
  })

  it('npx qcc-lab --version, a failed expectation (exit 1) and bad input (exit 2) exit as documented', async () => {
    expect(ok(await sh('npx', ['qcc-lab', '--version'], app), '--version').stdout.trim()).toBe(manifest.version)
    // An expectation that cannot hold: the naive variant's 6 client failures, asserted to be none.
    await writeFile(join(app, 'fails.yaml'), (await readFile(join(app, 'node_modules', 'qcc-lab', 'scenarios', 'stale-keepalive.yaml'), 'utf8'))
      .replace('check: failures.http-502 >= 1', 'check: failures.http-502 == 0'))
    const failed = await sh('npx', ['qcc-lab', 'run', 'fails.yaml', '-p', 'naive-keepalive', '--no-progress', '--markdown', '-'], app)
    expect(failed.code).toBe(1)
    expect(failed.stdout).toMatch(/^## qcc-lab: ❌ fail/m)
    const missing = await sh('npx', ['qcc-lab', 'run', 'no-such-scenario'], app)
    expect(missing.code).toBe(2)
    expect(missing.stderr).not.toMatch(/\n\s+at /)
  })

  it("imports the API: a fake upstream behind the proxy answers a message through it", async () => {
    await writeFile(join(app, 'api.mjs'), `
import { startFakeUpstream, startProxy } from 'qcc-lab'
await using upstream = await startFakeUpstream({ name: 'relay' })
await using proxy = await startProxy({ cluster: { name: 'main', endpoints: [{ baseUrl: upstream.url, apiKey: 'sk-test-0001' }] } })
const res = await fetch(proxy.url + '/v1/messages', {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': 'sk-test-0001', 'anthropic-version': '2023-06-01' },
  body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
})
const body = await res.json()
console.log(JSON.stringify({ status: res.status, id: body.id }))
`)
    const r = ok(await sh(process.execPath, ['api.mjs'], app), 'node api.mjs')
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { status: number; id: string }
    expect(out.status).toBe(200)
    expect(out.id).toMatch(/^msg_relay_/)
  })

  it('type-checks an import of the API against the shipped declarations', async () => {
    await writeFile(join(app, 'check.ts'), `
import { startFakeUpstream, startProxy, type ProxyHandle, type FakeUpstream } from 'qcc-lab'
export async function start(): Promise<[FakeUpstream, ProxyHandle]> {
  const upstream = await startFakeUpstream({ name: 'relay' })
  return [upstream, await startProxy({ cluster: { name: 'main', endpoints: [{ baseUrl: upstream.url, apiKey: 'sk-test-0001' }] } })]
}
// @ts-expect-error: a cluster needs its endpoints
void startProxy({ cluster: { name: 'main' } })
`)
    // skipLibCheck, as most projects set it: msw's own declarations need the DOM library. check.ts still
    // resolves every type it uses from dist/*.d.ts, and its @ts-expect-error fails if those were `any`.
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', lib: ['es2023', 'esnext.disposable'], strict: true, noEmit: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')], skipLibCheck: true },
      files: ['check.ts'],
    }))
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    ok(await sh(process.execPath, [tsc, '-p', 'tsconfig.json'], app), 'tsc in the installed project')
  })
})
