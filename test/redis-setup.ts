// vitest globalSetup: says once whether the Redis suites (test/redis/, examples/redis-fleet/)
// run. Without redis-server on PATH they are skipped with one line; under CI=true that is a
// failure, because CI installs redis-server (.ci/run).
import { hasRedis } from './helpers/redis-server.js'

export default function setup(): void {
  if (hasRedis) return
  if (process.env.CI === 'true') {
    throw new Error('CI=true but redis-server is not on PATH: the Redis suite must run in CI (.ci/run installs it)')
  }
  process.stderr.write('Redis suite skipped: redis-server is not on PATH (Debian: apt-get install redis-server)\n')
}
