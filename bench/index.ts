// `npm run bench`: runs every comparison of issue 5 in child processes and prints the tables.
//   --write   also regenerate BENCHMARKS.md at the repository root
//   --smoke   tiny counts, all jobs in two children: checks the harness works (npm test runs it)
//   --only=<suite>,…  run only these suites: append, append-scaling, append-hot, reads, store, sweep, memory, soak, cache, redis, tokens, formats, adapters
// BENCH_LIBRARY=dist measures the built package (run `npm run build` first); BENCH_LIBRARY=<path to
// an index.ts or .js> measures another copy, to try a change side by side.
import { execFileSync, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type ChildInput, type Job, RESULT_PREFIX } from './jobs.js'
import type { Result, Settings } from './harness.js'
import { hasRedis } from '../test/helpers/redis-server.js'
import { libraryTarget } from './library.js'
import { type RunInfo, renderMarkdown } from './report.js'
import { memoryVariants } from './suites/memory.js'
import { type SoakSettings, strandedDesigns } from './suites/soak.js'

const args = new Set(process.argv.slice(2))
const smoke = args.has('--smoke')
const write = args.has('--write')
// --only=reads,sweep runs only those suites (for trying a change; never with --write).
const only = [...args].find((a) => a.startsWith('--only='))?.slice(7).split(',')
const root = fileURLToPath(new URL('..', import.meta.url))
const childFile = fileURLToPath(new URL('./child.ts', import.meta.url))

const settings: Settings = smoke ? { rounds: 2, sampleMs: 1, minSamples: 1 } : { rounds: 7, sampleMs: 60, minSamples: 5 }
const soak: SoakSettings = smoke ? { minutes: 60, measureEvery: 240, scale: 0.01 } : { minutes: 24 * 60, measureEvery: 60, scale: 1 }

const capacities: [number, number, number] = smoke ? [50, 100, 200] : [50, 1_000, 100_000]
const storeSizes = smoke ? [1_000] : [10_000, 1_000_000]
const sweepSize = smoke ? 1_000 : 100_000

const speedJobs: Job[] = [
  ...capacities.map((capacity): Job => ({ suite: 'append', capacity })),
  { suite: 'append-scaling', capacities },
  { suite: 'append-hot' },
  ...(smoke ? [50] : [50, 1_000]).map((capacity): Job => ({ suite: 'reads', capacity })),
  ...storeSizes.flatMap((sessions) => (['number', 'uuid'] as const).map((keys): Job => ({ suite: 'store', sessions, keys }))),
  ...(['idle', 'max-age'] as const).flatMap((expiry) => (['number', 'uuid'] as const).map((keys): Job => ({ suite: 'sweep', sessions: sweepSize, keys, expiry }))),
  { suite: 'formats', capacity: smoke ? 100 : 1_000 },
  // The framework adapters (issue 23): one bounded step against each framework's default path.
  { suite: 'adapters' },
]
const memoryJobs: Job[] = [
  ...memoryVariants.map((variant): Job => ({ suite: 'memory', variant })),
  { suite: 'soak', design: 'unbounded' },
  { suite: 'soak', design: 'bounded' },
  ...strandedDesigns.map((design): Job => ({ suite: 'soak', design })),
  // The worker's budget; the smoke run takes the smallest the example accepts.
  smoke
    ? { suite: 'cache', observations: 40, budgetChars: 40_000, days: 1, sessionsPerDay: 4 }
    : { suite: 'cache', observations: 2_000, budgetChars: 400_000, days: 3, sessionsPerDay: 150 },
  // Counts, not times (issue 21): token accuracy against gpt-tokenizer's o200k.
  { suite: 'tokens' },
]

// The Redis suite needs redis-server on PATH (each of its children starts one on a free port).
const redisJobs: Job[] = hasRedis ? [{ suite: 'redis', part: 'speed' }, { suite: 'redis', part: 'memory' }] : []
if (!hasRedis && (only === undefined || only.includes('redis'))) {
  process.stderr.write('bench: redis suite skipped: redis-server is not on PATH (Debian: apt-get install redis-server)\n')
}

// Full runs give every job its own process (one comparison per process; one memory variant per
// process). Smoke runs batch them into two children to stay fast.
const selected = (jobs: Job[]): Job[] => (only === undefined ? jobs : jobs.filter((j) => only.includes(j.suite)))
const batches: Job[][] = (
  smoke ? [selected(speedJobs), selected(memoryJobs), selected(redisJobs)] : selected([...speedJobs, ...memoryJobs, ...redisJobs]).map((job) => [job])
).filter(
  (batch) => batch.length > 0,
)

function describe(jobs: Job[]): string {
  if (jobs.length > 1) return `${jobs.length} jobs`
  const { suite, ...rest } = jobs[0] as Job
  return `${suite} ${Object.values(rest).join(' ')}`
}

function runChild(jobs: Job[]): Promise<Result[]> {
  const input: ChildInput = { smoke, settings, soak, jobs }
  const big = jobs.some((j) => (j.suite === 'store' && j.sessions > 100_000) || j.suite === 'soak')
  const argv = ['--expose-gc', ...(big ? ['--max-old-space-size=4096'] : []), '--import', 'tsx', childFile, JSON.stringify(input)]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: process.env })
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      out += chunk
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`bench child (${describe(jobs)}) exited with ${code ?? signal}\n${out}`))
        return
      }
      const results: Result[] = []
      for (const line of out.split('\n')) if (line.startsWith(RESULT_PREFIX)) results.push(JSON.parse(line.slice(RESULT_PREFIX.length)) as Result)
      resolve(results)
    })
  })
}

const started = Date.now()
const results: Result[] = []
for (const [i, jobs] of batches.entries()) {
  const t = Date.now()
  process.stderr.write(`[${i + 1}/${batches.length}] ${describe(jobs)} … `)
  results.push(...(await runChild(jobs)))
  process.stderr.write(`${((Date.now() - t) / 1000).toFixed(1)} s\n`)
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root, encoding: 'utf8' }).trim() !== ''
    return dirty ? `${head} (src/ modified)` : head
  } catch {
    return 'unknown'
  }
}

const info: RunInfo = { smoke, settings, soak, library: libraryTarget, commit: commit(), seconds: (Date.now() - started) / 1000 }
const markdown = renderMarkdown(results, info)
process.stdout.write(markdown)
if (write) {
  if (smoke || only !== undefined) throw new Error('--write records full runs only (no --smoke, no --only)')
  writeFileSync(new URL('../BENCHMARKS.md', import.meta.url), markdown)
  process.stderr.write('BENCHMARKS.md written\n')
}
