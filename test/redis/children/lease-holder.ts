// A worker for redis-faults.test.ts: acquires a session, reports its lease, then pushes one
// message every 20 ms under the lease's fence and reports each outcome, until a push is refused.
import { Redis } from 'ioredis'
import { RedisHistory, RedisSessionRegistry } from '../../../src/redis/index.js'

const { port, prefix, ttlMs } = JSON.parse(process.argv[2] ?? '{}') as { port: number; prefix: string; ttlMs: number }
const client = new Redis({ port, host: '127.0.0.1' })
const registry = new RedisSessionRegistry({ client, prefix, pollIntervalMs: 0 })
const send = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`)
registry.on('lost', (lease) => send({ lost: lease.token }))

const lease = await registry.acquire('held', { ttlMs })
if (lease === null) throw new Error('the session was held')
send({ token: lease.token })
const history = new RedisHistory<string>({ client, key: 'held', prefix, fence: lease })
for (let i = 0; ; i++) {
  try {
    await history.push(`write ${i} by ${lease.token}`)
    send({ wrote: i })
  } catch (error) {
    send({ refused: i, code: (error as { code?: string }).code })
    break
  }
  await new Promise((resolve) => setTimeout(resolve, 20))
}
await registry.close()
client.disconnect()
