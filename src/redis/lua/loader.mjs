// The one loader of the Lua scripts, used at build time by tsup (an esbuild plugin in
// tsup.config.ts), by vitest (a vite plugin in vitest.config.ts) and by Node processes run
// through tsx (hooks.mjs, for the test children and the bench). It resolves
// `--- @include "name"` lines (relative to the including file, `.lua` implied; each file once per
// script, at its first include) and drops comment-only and blank lines, so a script ships only
// the code of what it includes.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

const INCLUDE = /^--- @include "([^"]+)"\s*$/

/** The source of the script in `file`, with its includes resolved and its comments dropped. */
export function loadLua(file) {
  const out = []
  expand(resolve(file), new Set(), out, [])
  return `${out.join('\n')}\n`
}

function expand(file, seen, out, stack) {
  if (stack.includes(file)) throw new Error(`Lua include cycle: ${[...stack, file].join(' -> ')}`)
  seen.add(file)
  let inBlock = false
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const include = INCLUDE.exec(line)
    if (include !== null) {
      const name = include[1]
      const path = resolve(dirname(file), name.endsWith('.lua') ? name : `${name}.lua`)
      if (!seen.has(path)) expand(path, seen, out, [...stack, file])
      continue
    }
    const trimmed = line.trim()
    if (inBlock) {
      if (trimmed.includes(']]')) inBlock = false
      continue
    }
    if (trimmed.startsWith('--[[')) {
      inBlock = !trimmed.includes(']]')
      continue
    }
    if (trimmed === '' || trimmed.startsWith('--')) continue
    out.push(line.trimStart())
  }
}

/** The JavaScript module a `.lua` import becomes: its resolved source as the default export. */
export function luaModule(file) {
  return `export default ${JSON.stringify(loadLua(file))};\n`
}
