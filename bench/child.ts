// A child process of the harness: runs the jobs it is given and prints one line per result.
// Run by bench/index.ts with --expose-gc; not meant to be started by hand.
import { type ChildInput, type Job, RESULT_PREFIX } from './jobs.js'
import type { Result } from './harness.js'
import { appendHotSuite, appendScalingSuite, appendSuite } from './suites/history-append.js'
import { readsSuite } from './suites/history-reads.js'
import { redisSuite } from './suites/redis.js'
import { adaptersSuite } from './suites/adapters.js'
import { memorySuite } from './suites/memory.js'
import { cacheSuite } from './suites/prompt-cache.js'
import { soakSuite } from './suites/soak.js'
import { sweepSuite } from './suites/store-sweep.js'
import { storeSuite } from './suites/store-ops.js'
import { tokensSuite } from './suites/tokens.js'
import { formatsSuite } from './suites/formats.js'

const input = JSON.parse(process.argv[2] ?? '') as ChildInput

async function run(job: Job): Promise<Result[]> {
  const { smoke, settings } = input
  switch (job.suite) {
    case 'append':
      return appendSuite(job.capacity, smoke, settings)
    case 'append-scaling':
      return appendScalingSuite(job.capacities, smoke, settings)
    case 'append-hot':
      return appendHotSuite(settings)
    case 'reads':
      return readsSuite(job.capacity, smoke, settings)
    case 'store':
      return storeSuite(job.sessions, job.keys, settings, input.smoke)
    case 'sweep':
      return sweepSuite(job.sessions, job.keys, job.expiry, settings)
    case 'memory':
      return memorySuite(job.variant, smoke)
    case 'soak':
      return soakSuite(job.design, input.soak)
    case 'cache':
      return cacheSuite(job)
    case 'redis':
      return redisSuite(job.part, smoke, settings)
    case 'tokens':
      return tokensSuite(smoke)
    case 'formats':
      return formatsSuite(job.capacity, smoke, settings)
    case 'adapters':
      return adaptersSuite(smoke, settings)
  }
}

for (const job of input.jobs) {
  for (const result of await run(job)) process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`)
}
