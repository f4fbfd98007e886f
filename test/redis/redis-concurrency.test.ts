import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { RingBufferHistory } from '../../src/index.js'
import { pushScript } from '../../src/redis/history-scripts.js'
import { RedisHistory } from '../../src/redis/index.js'
import { startChild } from '../helpers/child.js'
import { describeRedis } from '../helpers/redis-suite.js'
import { type ConcurrencyInput, historyOptions, type Message } from './children/concurrency-shared.js'

const pusher = fileURLToPath(new URL('./children/pusher.ts', import.meta.url))

// Several processes push into the same sessions at once. The order the server applied the
// pushes in is recorded with MONITOR; replayed on RingBufferHistory it gives exactly what Redis
// holds, and every read a worker made during the run equals the model at some point of it.
describeRedis('RedisHistory under concurrent pushes from several processes', (ctx) => {
  test('contents equal the reference model run on the order the server applied', async () => {
    const prefix = ctx.prefix()
    const sessions = ['s0', 's1', 's2']
    const messagesKey = (id: string) => `${prefix}{${id}}:m`
    // Load the script first, so the run has no NOSCRIPT (a refused EVALSHA would show in MONITOR).
    await new RedisHistory<Message>({ client: ctx.client, key: 'warm', prefix }).toArray()
    await ctx.client.script('LOAD', pushScript.source)

    const applied = new Map<string, Message[][]>(sessions.map((s) => [s, []]))
    const monitor = await ctx.server.client().monitor()
    let seen = 0
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() !== 'evalsha' || args[1] !== pushScript.sha) return
      const session = sessions.find((s) => args[3] === messagesKey(s))
      if (session === undefined) return
      const argv = args.slice(3 + Number(args[2]))
      const count = Number(argv[11])
      const batch: Message[] = []
      // Per message: bytes, tokens, flags, links, payload (push-4.lua).
      for (let j = 0; j < count; j++) batch.push(JSON.parse(argv[12 + j * 5 + 4] as string) as Message)
      applied.get(session)?.push(batch)
      seen++
    })

    const workers = [0, 1, 2, 3].map((worker) => {
      const input: ConcurrencyInput = { port: ctx.server.port, prefix, worker, sessions, pushes: 150 }
      return startChild(pusher, input)
    })
    const codes = await Promise.all(workers.map((w) => w.exited))
    expect(codes).toEqual([0, 0, 0, 0])
    const sent = workers.reduce((sum, w) => sum + ((w.messages.find((m) => (m as { done?: number }).done !== undefined) as { done: number }).done ?? 0), 0)
    expect(sent).toBe(600)
    for (let i = 0; seen < sent && i < 200; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(seen).toBe(sent)
    monitor.disconnect()

    const samples = workers.flatMap((w) => w.messages.filter((m) => (m as { sample?: string }).sample !== undefined)) as { sample: string; messages: Message[] }[]
    expect(samples.length).toBeGreaterThan(10)
    for (const session of sessions) {
      const model = new RingBufferHistory<Message>(historyOptions)
      const states = new Set<string>([JSON.stringify([])])
      for (const batch of applied.get(session) ?? []) {
        try {
          model.push(...batch)
        } catch (error) {
          // The server refused the same pushes: too large beside the pinned message.
          expect((error as { code?: string }).code).toBe('ERR_MESSAGE_TOO_LARGE')
        }
        // Every bound holds after every step.
        expect(model.length).toBeLessThanOrEqual(historyOptions.maxMessages)
        expect(model.bytes).toBeLessThanOrEqual(historyOptions.maxBytes)
        expect(model.tokens).toBeLessThanOrEqual(historyOptions.maxTokens)
        states.add(JSON.stringify(model.toArray()))
      }
      const history = new RedisHistory<Message>({ client: ctx.client, key: session, prefix, ...historyOptions })
      expect(await history.toArray()).toEqual(model.toArray())
      expect(await history.stats()).toEqual({ length: model.length, bytes: model.bytes, tokens: model.tokens, evictedCount: model.evictedCount })
      for (const sample of samples.filter((s) => s.sample === session)) expect(states.has(JSON.stringify(sample.messages))).toBe(true)
    }
  }, 120_000)
})
