// A writer for the kill -9 test in redis-faults.test.ts: pushes `w<worker>-<i>` one message at a
// time, up to 24 in flight, through a default ioredis client (which resends the commands in flight
// after it reconnects), and reports each acknowledged or failed push.
import { Redis } from 'ioredis'
import { RedisHistory } from '../../../src/redis/index.js'

interface Input {
  port: number
  prefix: string
  worker: number
  pushes: number
}
const input = JSON.parse(process.argv[2] ?? '{}') as Input
const client = new Redis({ port: input.port, host: '127.0.0.1' })
client.on('error', () => {})
const history = new RedisHistory<string>({ client, key: 'crash-many', prefix: input.prefix, maxMessages: 100_000, idleTtlMs: 0 })
const send = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`)

const inFlight = new Set<Promise<unknown>>()
for (let i = 0; i < input.pushes; i++) {
  const p: Promise<unknown> = history.push(`w${input.worker}-${i}`).then(
    () => send({ acked: i }),
    (error: { code?: string }) => send({ failed: i, code: error.code }),
  )
  inFlight.add(p)
  void p.then(() => inFlight.delete(p))
  if (inFlight.size >= 24) await Promise.race(inFlight)
}
await Promise.all(inFlight)
send({ done: true })
client.disconnect()
