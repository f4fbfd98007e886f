#!/usr/bin/env node
// Smoke test of the published artifact: build, `npm pack`, install the .tgz into a throwaway
// project in the OS temp folder, then
//   - run an ESM consumer (import) and a CJS consumer (require) on this Node, and on every extra
//     runtime listed in BOUNDED_SESSION_RUNTIMES ("name=/path/to/binary:name=/path/..."),
//   - type-check a TypeScript consumer under NodeNext (ESM .ts and CJS .cts) and under
//     module ESNext + moduleResolution Bundler, with skipLibCheck off,
//   - bundle `import { RingBufferHistory } from 'bounded-session'` (and the whole package) from
//     the installed package with esbuild, minify + gzip, against the size budget (11 kB / 33 kB, as test/size-budget.test.ts):
//     what a user's bundler makes of the published dist/, next to test/size-budget.test.ts,
//     which measures the same from src/.
// Options: --no-build (use dist/ as it is), --keep (leave the temp folder for inspection).
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { gzipSync } from 'node:zlib'
import { cpSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))
const args = new Set(process.argv.slice(2))
const keep = args.has('--keep') || process.env.KEEP_SMOKE === '1'

const runtimes = [{ name: `node ${process.version}`, bin: process.execPath }]
for (const entry of (process.env.BOUNDED_SESSION_RUNTIMES ?? '').split(':').filter(Boolean)) {
  const at = entry.indexOf('=')
  runtimes.push(at > 0 ? { name: entry.slice(0, at), bin: entry.slice(at + 1) } : { name: entry, bin: entry })
}

let passed = 0
let failed = 0

function run(cmd, argv, cwd) {
  return execFileSync(cmd, argv, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
    maxBuffer: 64 * 1024 * 1024,
  })
}

function step(name, fn) {
  const started = performance.now()
  try {
    const out = fn()
    const ms = Math.round(performance.now() - started)
    if (typeof out === 'string' && out.trim()) process.stdout.write(indent(out))
    console.log(`  ✓ ${name} (${ms} ms)`)
    passed++
  } catch (error) {
    const ms = Math.round(performance.now() - started)
    console.log(`  ✗ ${name} (${ms} ms)`)
    const text =
      [error.stdout, error.stderr].filter(Boolean).join('\n') ||
      (error.status === undefined ? String(error.message ?? error) : String(error.stack ?? error))
    process.stdout.write(indent(text))
    failed++
  }
}

const indent = (text) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n') + '\n'

const version = (pkg) => JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version

console.log('smoke: packed-tarball consumers')
if (!args.has('--no-build')) step('npm run build', () => run('npm', ['run', '--silent', 'build'], root) && '')
if (!existsSync(join(root, 'dist', 'index.js'))) {
  console.error('smoke: dist/index.js is missing; run `npm run build`')
  process.exit(1)
}

const work = mkdtempSync(join(tmpdir(), 'bounded-session-smoke-'))
const app = join(work, 'app')
let tarball
try {
  step('npm pack', () => {
    const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root))
    tarball = join(work, info.filename)
    const files = info.files.map((f) => f.path)
    const stray = files.filter((f) => !/^(dist\/|package\.json$|(redis|formats|openai-agents|ai-sdk|langchain)\/package\.json$|README\.md$|CHANGELOG\.md$|LICENSE$)/.test(f))
    if (stray.length) throw new Error(`unexpected files in the tarball: ${stray.join(', ')}`)
    return `${info.filename}: ${files.length} files, ${info.size} bytes packed, ${info.unpackedSize} unpacked`
  })
  if (!tarball) throw new Error('npm pack failed')

  cpSync(fixtures, app, { recursive: true })
  copyFileSync(join(app, 'consumer.ts'), join(app, 'consumer.cts'))
  step('npm install the tarball (+ @types/node) into a throwaway project', () =>
    run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--loglevel=error',
        tarball,
        `@types/node@${version('@types/node')}`,
      ],
      app,
    ),
  )
  const installed = join(app, 'node_modules', 'bounded-session')
  if (!existsSync(installed)) throw new Error('the tarball did not install')
  console.log(`      installed: ${readdirSync(join(installed, 'dist')).join(', ')}`)

  for (const { name, bin } of runtimes) {
    step(`ESM import on ${name}`, () => run(bin, ['consumer.mjs'], app))
    step(`CJS require on ${name}`, () => run(bin, ['consumer.cjs'], app))
  }

  const esbuild = createRequire(join(root, 'package.json'))('esbuild')
  const budgets = [
    ['RingBufferHistory alone', `export { RingBufferHistory } from 'bounded-session'`, 11000],
    ['whole package + dependencies', `export * from 'bounded-session'`, 33000],
  ]
  for (const [label, contents, budget] of budgets) {
    step(`size of ${label} bundled from the installed package ≤ ${budget / 1000} kB min+gzip`, () => {
      const result = esbuild.buildSync({
        stdin: { contents, resolveDir: app, sourcefile: 'entry.js' },
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'node',
        target: 'es2022',
        write: false,
        logLevel: 'silent',
      })
      const code = result.outputFiles[0].contents
      const gzipped = gzipSync(code, { level: 9 }).byteLength
      const line = `${label}: ${(gzipped / 1000).toFixed(2)} kB min+gzip, ${(code.byteLength / 1000).toFixed(2)} kB minified (budget ${budget / 1000} kB)`
      if (gzipped > budget) throw new Error(`over budget: ${line}`)
      return line
    })
  }

  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  step(`tsc ${version('typescript')} --noEmit, NodeNext (consumer.ts as ESM, consumer.cts as CJS)`, () =>
    run(process.execPath, [tsc, '-p', 'tsconfig.nodenext.json', '--noEmit', '--pretty', 'false'], app),
  )
  step(`tsc ${version('typescript')} --noEmit, module ESNext + moduleResolution Bundler`, () =>
    run(process.execPath, [tsc, '-p', 'tsconfig.bundler.json', '--noEmit', '--pretty', 'false'], app),
  )
} catch (error) {
  console.error(`smoke: ${error.message}`)
  failed++
} finally {
  if (keep) console.log(`smoke: kept ${work}`)
  else rmSync(work, { recursive: true, force: true })
}

console.log(`smoke: ${passed} passed, ${failed} failed`)
process.exitCode = failed ? 1 : 0
