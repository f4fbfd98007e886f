#!/usr/bin/env node
// Type-checks every TypeScript block of the docs against the packed package, so that a snippet
// cannot rot: README.md and docs/*.md, each ```ts (or ```typescript) block as its own module in a
// throwaway consumer project that installed the .tgz `npm pack` makes, under tsc strict +
// NodeNext (the consumer's package.json says "type": "module").
//
// A block compiles as written: it imports what it uses and declares (`declare const …`,
// `declare function …`) what the surrounding prose assumes. A fragment that cannot be a module
// opts out with a visible marker on its fence, ```ts nocheck; use it sparingly.
//
// A failure names the Markdown file and line: README.md:57:7 error TS2339: …
// Options: --no-build (use dist/ as it is), --keep (leave the temp folder), and file names to
// check only those (default: README.md docs/*.md).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { blocksOf, isNoCheck, isTypeScript, moduleOf, snippetsOf, toMarkdownPositions } from './snippet-blocks.mjs'

const root = fileURLToPath(new URL('../../', import.meta.url))
const argv = process.argv.slice(2)
const flags = new Set(argv.filter((a) => a.startsWith('--')))
const keep = flags.has('--keep')
const named = argv.filter((a) => !a.startsWith('--'))

// What the docs may import beside the package: every peerDependency (the Redis clients, the
// frameworks an adapter serves), installed into the consumer at the version this checkout's
// node_modules has (a peer not installed here is left out), and @types/node.
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const extraPackages = ['@types/node', ...Object.keys(manifest.peerDependencies ?? {})]

const docs = named.length
  ? named.map((f) => resolve(root, f))
  : [join(root, 'README.md'), ...listMarkdown(join(root, 'docs'))]

function listMarkdown(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join(dir, f))
}

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
    maxBuffer: 64 * 1024 * 1024,
  })
}

const version = (pkg) => JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version

// Collect the blocks first: a Markdown problem fails before anything is built.
const snippets = []
let skipped = 0
for (const file of docs) {
  const doc = relative(root, file)
  let blocks
  try {
    blocks = blocksOf(readFileSync(file, 'utf8'))
  } catch (error) {
    console.error(`snippets: ${doc}: ${error.message}`)
    process.exit(1)
  }
  snippets.push(...snippetsOf(doc, blocks))
  skipped += blocks.filter((b) => isTypeScript(b) && isNoCheck(b)).length
}
console.log(`snippets: ${snippets.length} TypeScript blocks in ${docs.length} files (${skipped} marked nocheck)`)
if (snippets.length === 0) process.exit(0)

if (!flags.has('--no-build')) run('npm', ['run', '--silent', 'build'], root)
if (!existsSync(join(root, 'dist', 'index.js'))) {
  console.error('snippets: dist/index.js is missing; run `npm run build`')
  process.exit(1)
}

const work = mkdtempSync(join(tmpdir(), 'bounded-session-snippets-'))
let failed = false
try {
  const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root))
  const tarball = join(work, info.filename)
  const app = join(work, 'app')
  mkdirSync(join(app, 'snippets'), { recursive: true })
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'bounded-session-snippets', private: true, type: 'module' }, null, 2))
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          // ES2023 for the array methods HistoryView shares with arrays (findLast, toReversed);
          // Disposable for `using` / `await using`.
          lib: ['ES2023', 'ESNext.Disposable'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          types: ['node'],
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: true,
          noEmit: true,
        },
        include: ['snippets'],
      },
      null,
      2,
    ),
  )
  const extras = extraPackages.filter((p) => existsSync(join(root, 'node_modules', p))).map((p) => `${p}@${version(p)}`)
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', tarball, ...extras], app)

  // Each block a module of its own (its names do not meet another block's), lines as in the Markdown.
  for (const s of snippets) writeFileSync(join(app, 'snippets', s.name), moduleOf(s))

  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  let output = ''
  try {
    run(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], app)
  } catch (error) {
    if (error.status === undefined) throw error
    output = `${error.stdout ?? ''}${error.stderr ?? ''}`
    failed = true
  }
  if (failed) {
    const mapped = toMarkdownPositions(output, snippets)
    console.error(mapped.trimEnd())
    const count = (output.match(/error TS\d+/g) ?? []).length
    console.error(`snippets: ${count} type error${count === 1 ? '' : 's'} (mark a fragment that cannot compile \`\`\`ts nocheck)`)
  } else console.log(`snippets: all ${snippets.length} blocks type-check (tsc ${version('typescript')}, strict, NodeNext, against ${info.filename})`)
} finally {
  if (keep) console.log(`snippets: kept ${work}`)
  else rmSync(work, { recursive: true, force: true })
}
process.exitCode = failed ? 1 : 0
