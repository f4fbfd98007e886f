import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { startChild, type TestChild } from '../../test/helpers/child.js'
import { describeRedis } from '../../test/helpers/redis-suite.js'

const workerFile = fileURLToPath(new URL('./worker-process.ts', import.meta.url))

// Two worker processes, one registry (on one Redis), a local store in each.
describeRedis('recipe: a fleet of workers on Redis', (ctx) => {
  test('any worker continues any session; the fleet bound evicts everywhere; a held session is busy for the others', async () => {
    const prefix = ctx.prefix()
    const start = () => startChild(workerFile, { port: ctx.server.port, maxSessions: 2, prefix })
    const a: TestChild = start()
    const b: TestChild = start()
    try {
      expect(await a.ask({ cmd: 'turn', id: 's1', text: 'hello' })).toEqual({ reply: 'turn 1 of s1', messages: 2 })
      expect(await b.ask({ cmd: 'turn', id: 's2', text: 'hi' })).toEqual({ reply: 'turn 1 of s2', messages: 2 })
      // B continues A's conversation: the history is shared.
      expect(await b.ask({ cmd: 'turn', id: 's1', text: 'again' })).toEqual({ reply: 'turn 2 of s1', messages: 4 })
      // A third session: the fleet holds 2, so the least recently active one (s2) is evicted…
      expect(await a.ask({ cmd: 'turn', id: 's3', text: 'new' })).toEqual({ reply: 'turn 1 of s3', messages: 2 })
      await a.ask({ cmd: 'poll' })
      await b.ask({ cmd: 'poll' })
      // …and B, which served it, drops and disposes its live state.
      expect(await b.ask({ cmd: 'state' })).toEqual({ live: ['s1'], disposed: [['s2', 'delete']] })
      expect(await a.ask({ cmd: 'state' })).toEqual({ live: ['s1', 's3'], disposed: [] })
      // Its history went with it: a new s2 starts over (and evicts s1, now the least recent).
      expect(await b.ask({ cmd: 'turn', id: 's2', text: 'back' })).toEqual({ reply: 'turn 1 of s2', messages: 2 })
      // While A is in the middle of a turn of s3, B cannot run s3.
      await a.ask({ cmd: 'turn', id: 's3', text: 'slow', hold: true })
      expect(await b.ask({ cmd: 'turn', id: 's3', text: 'meanwhile' })).toEqual({ busy: true })
      await a.ask({ cmd: 'release', id: 's3' })
      expect(await b.ask({ cmd: 'turn', id: 's3', text: 'now' })).toEqual({ reply: 'turn 3 of s3', messages: 6 })
    } finally {
      await Promise.allSettled([a.ask({ cmd: 'exit' }), b.ask({ cmd: 'exit' })])
    }
    expect(await a.exited).toBe(0)
    expect(await b.exited).toBe(0)
  }, 60_000)
})
