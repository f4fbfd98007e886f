// A worker for redis-concurrency.test.ts: pushes its share of messages (one to three at a time)
// into the shared sessions, reading a session now and then; reports every read it made and, at
// the end, how many pushes it sent.
import { Redis } from 'ioredis'
import { RedisHistory } from '../../../src/redis/index.js'
import { type ConcurrencyInput, historyOptions, type Message } from './concurrency-shared.js'

const input = JSON.parse(process.argv[2] ?? '{}') as ConcurrencyInput
const client = new Redis({ port: input.port, host: '127.0.0.1' })
const histories = input.sessions.map((key) => new RedisHistory<Message>({ client, key, prefix: input.prefix, ...historyOptions }))
const send = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`)

// A small deterministic generator per worker, so runs are repeatable.
let seed = input.worker * 7919 + 1
const random = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed % n
}

let pushes = 0
const inFlight: Promise<unknown>[] = []
for (let i = 0; i < input.pushes; i++) {
  const s = random(histories.length)
  const history = histories[s] as RedisHistory<Message>
  const count = 1 + random(3)
  const messages: Message[] = []
  for (let k = 0; k < count; k++) {
    const role = random(3) === 0 ? 'user' : 'assistant'
    const pinned = random(25) === 0
    messages.push({ role, content: `${pinned ? '!' : ''}w${input.worker}-${i}-${k} ${'x'.repeat(random(40))}` })
  }
  // Up to 4 pushes in flight per worker: the server sees them interleaved with everyone's.
  inFlight.push(history.push(...messages).catch((error: { code?: string }) => send({ error: error.code })))
  pushes++
  if (inFlight.length >= 4) await inFlight.shift()
  if (random(10) === 0) {
    const read = await history.toArray()
    send({ sample: input.sessions[s], messages: read })
  }
}
await Promise.all(inFlight)
send({ done: pushes })
client.disconnect()
