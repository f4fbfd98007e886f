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

const root = fileURLToPath(new URL('../../', import.meta.url))
const argv = process.argv.slice(2)
const flags = new Set(argv.filter((a) => a.startsWith('--')))
const keep = flags.has('--keep')
const named = argv.filter((a) => !a.startsWith('--'))

// The Redis clients the docs import; installed into the consumer at the versions this checkout has.
const extraPackages = ['@types/node', 'ioredis', 'iovalkey', 'redis']

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

/** Every fenced block of a Markdown file: its info string, its body and the line its body starts on. */
function blocksOf(text) {
  const blocks = []
  const lines = text.split('\n')
  let open = null
  lines.forEach((line, i) => {
    const fence = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(line)
    if (open === null) {
      if (fence) open = { marker: fence[2], info: fence[3].trim(), body: [], line: i + 2 }
    } else if (fence && fence[2].startsWith(open.marker[0]) && fence[2].length >= open.marker.length && fence[3].trim() === '') {
      blocks.push({ info: open.info, body: open.body.join('\n'), line: open.line })
      open = null
    } else open.body.push(line)
  })
  if (open !== null) throw new Error(`unclosed code fence opened at line ${open.line - 1}`)
  return blocks
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
  for (const block of blocks) {
    const [lang, ...words] = block.info.split(/\s+/)
    if (lang !== 'ts' && lang !== 'typescript') continue
    if (words.includes('nocheck')) {
      skipped++
      continue
    }
    const name = `${doc.replace(/[^A-Za-z0-9]+/g, '_')}_L${block.line}.ts`
    snippets.push({ doc, line: block.line, name, body: block.body })
  }
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

  // `export {}` last, on the block's own last line's next line, so every block is a module of its
  // own (its names do not meet another block's) and the line numbers stay the Markdown's.
  for (const s of snippets) writeFileSync(join(app, 'snippets', s.name), `${s.body}\nexport {}\n`)

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
    const byName = new Map(snippets.map((s) => [s.name, s]))
    // tsc: snippets/README_md_L57.ts(3,7): error TS2339: … → README.md:59:7 error TS2339: …
    const mapped = output.replace(/^snippets\/([^()\s]+)\((\d+),(\d+)\): /gm, (whole, name, line, col) => {
      const s = byName.get(name)
      return s ? `${s.doc}:${s.line + Number(line) - 1}:${col} ` : whole
    })
    console.error(mapped.trimEnd())
    const count = (output.match(/error TS\d+/g) ?? []).length
    console.error(`snippets: ${count} type error${count === 1 ? '' : 's'} (mark a fragment that cannot compile \`\`\`ts nocheck)`)
  } else console.log(`snippets: all ${snippets.length} blocks type-check (tsc ${version('typescript')}, strict, NodeNext, against ${info.filename})`)
} finally {
  if (keep) console.log(`snippets: kept ${work}`)
  else rmSync(work, { recursive: true, force: true })
}
process.exitCode = failed ? 1 : 0
