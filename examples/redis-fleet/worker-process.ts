// A worker as its own process, driven by JSON lines on stdin (the test's stand-in for a load
// balancer): {"cmd":"turn","id":"s1","text":"hi"}, {"cmd":"release","id":"s1"}, {"cmd":"poll"},
// {"cmd":"state"}, {"cmd":"exit"}. Answers one JSON line per command on stdout.
// Run: node --import tsx examples/redis-fleet/worker-process.ts '{"port":6379,"maxSessions":2}'
import { createInterface } from 'node:readline'
import { Redis } from 'ioredis'
import { createWorker } from './worker.js'

const { port, maxSessions, prefix } = JSON.parse(process.argv[2] ?? '{}') as { port: number; maxSessions: number; prefix?: string }
const client = new Redis({ port, host: '127.0.0.1' })
const worker = createWorker({ client, maxSessions, pollIntervalMs: 0, ...(prefix === undefined ? {} : { prefix }) })
const answer = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`)

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { cmd: string; id?: string; text?: string; hold?: boolean }
  switch (command.cmd) {
    case 'turn':
      answer(await worker.turn(command.id as string, command.text ?? '', command.hold === true))
      break
    case 'release':
      await worker.release(command.id as string)
      answer({ released: command.id })
      break
    case 'poll':
      await worker.registry.poll()
      answer({ polled: true })
      break
    case 'state':
      answer({ live: [...worker.live.keys()].sort(), disposed: worker.disposed })
      break
    case 'exit':
      await worker.close()
      client.disconnect()
      answer({ closed: true })
      process.exit(0)
  }
}
