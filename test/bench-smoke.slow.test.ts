import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { hasRedis } from './helpers/redis-server.js'

// Keeps the benchmark harness working: runs `npm run bench -- --smoke` (tiny counts) and checks
// that it finishes and prints every table. It asserts nothing about speed.
test('bench --smoke runs every suite and prints its tables', () => {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/index.ts', '--smoke'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000, // a limit for a hung run, not a speed check: 41 s was seen on a loaded machine
    env: { ...process.env, BENCH_LIBRARY: '' },
  })
  expect(run.stderr, run.stderr).not.toMatch(/Error/)
  expect(run.status).toBe(0)
  expect(run.stdout).toContain('## Goals')
  // One goal row per item of the issue, 1 to 6, the prompt-cache figures (7) and the formats (9).
  for (const section of ['1', '2', '3', '4', '5', '6', '7', '9', '10', '11']) expect(run.stdout).toMatch(new RegExp(`^\\| ${section} \\| `, 'm'))
  // The Redis suite (8) runs when redis-server is on PATH, and says it was skipped when not.
  if (hasRedis) expect(run.stdout).toMatch(/^\| 8 \| RedisHistory\.push time/m)
  else expect(run.stderr).toContain('redis suite skipped')
  for (const table of ['History append, capacity 50', 'window() vs old copy-trimming loop', 'get (hit)', 'insert with eviction', 'sweep, ']) {
    expect(run.stdout).toContain(table)
  }
}, 300_000)
