/**
 * `npm run build`, also run by `prepare` (npm runs it on `npm pack` and `npm publish`, for a git
 * dependency, and on `npm ci` in a clone): JavaScript and type declarations under dist/, from tsconfig.build.json.
 * A clone runs the sources; an installed package runs this. Then two checks that a broken build cannot pass unnoticed:
 * no emitted module still imports a `.ts` file (Node refuses to strip types under node_modules), and the public
 * API and the CLI's entry load from dist/ alone.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const root = join(import.meta.dirname, '..')
const dist = join(root, 'dist')
const require = createRequire(import.meta.url)

rmSync(dist, { recursive: true, force: true })
const tsc = join(require.resolve('typescript/package.json'), '..', 'bin', 'tsc')
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: ['ignore', 2, 2] }) // stderr: `npm pack --json` keeps stdout for its JSON
} catch {
  process.stderr.write('build: tsc reported the errors above; nothing to ship\n')
  process.exit(1)
}

const tsImport = /(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+\.ts)['"]/
const leftovers: string[] = []
for (const file of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.js')) continue
  const m = tsImport.exec(readFileSync(join(dist, file), 'utf8'))
  if (m) leftovers.push(`${file}: ${m[1]}`)
}
if (leftovers.length > 0) {
  process.stderr.write(`build: emitted modules still import TypeScript files:\n  ${leftovers.join('\n  ')}\n`)
  process.exit(1)
}
for (const entry of ['src/index.js', 'src/cli/main.js']) await import(pathToFileURL(join(dist, entry)).href)
process.stderr.write('build: dist/ written and loads\n')
