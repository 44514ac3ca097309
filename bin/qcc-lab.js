#!/usr/bin/env node
// Entry point. Plain JavaScript so that an older Node gets a clear message instead of a syntax error.
// In a clone it runs the TypeScript sources (an edit takes effect at once, no build step); an installed package
// runs the JavaScript its build left in dist/.
import { existsSync } from 'node:fs'

const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `qcc-lab needs Node.js >= 22.19 (undici 8 requires it); this is ${process.version}.\n` +
      'Install one with: npm install --prefix ~/.cache/node24 node@24 && export PATH=~/.cache/node24/node_modules/.bin:$PATH\n',
  )
  process.exit(2)
}
const root = new URL('../', import.meta.url)
const sources = new URL('src/cli/main.ts', root)
// Node does not strip types under node_modules, so an installed copy runs dist/ even if sources came along.
const clone = existsSync(sources) && !import.meta.url.includes('/node_modules/')
const entry = clone ? sources : new URL('dist/src/cli/main.js', root)
const { main } = await import(entry.href)
const code = await main(process.argv.slice(2))
process.exitCode = code
