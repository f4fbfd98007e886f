#!/usr/bin/env node
// Fails when a published declaration file (dist/*.d.ts, *.d.cts, *.d.mts) mentions zod or the
// internal watch protocol between a history and a store (watchKey, HistoryWatcher): both are
// implementation details and must not leak into the public types.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dist = fileURLToPath(new URL('../../dist/', import.meta.url))
let files
try {
  files = readdirSync(dist, { recursive: true })
    .map(String)
    .filter((f) => /\.d\.(c|m)?ts$/.test(f))
} catch (error) {
  console.error(`check-dts: cannot read ${dist} (${error.code}); run \`npm run build\` first`)
  process.exit(1)
}
if (files.length === 0) {
  console.error(`check-dts: no declaration files in ${dist}; run \`npm run build\` first`)
  process.exit(1)
}

const problems = []
for (const file of files) {
  const lines = readFileSync(join(dist, file), 'utf8').split('\n')
  lines.forEach((line, i) => {
    if (/zod|watchKey|HistoryWatcher|WatchableHistory/i.test(line)) problems.push(`dist/${file}:${i + 1}: ${line.trim()}`)
  })
}
if (problems.length > 0) {
  console.error('check-dts: published declarations mention zod or the watch protocol (implementation details):')
  for (const p of problems) console.error(`  ${p}`)
  process.exit(1)
}
console.log(`check-dts: ${files.length} declaration files, none mentions zod or the watch protocol: ${files.join(', ')}`)
