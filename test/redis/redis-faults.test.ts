import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { defaultSizeOf } from '../../src/index.js'
import { RedisHistory, RedisSessionRegistry } from '../../src/redis/index.js'
import { startChild } from '../helpers/child.js'
import { describeRedis, type Message, user } from '../helpers/redis-suite.js'

const holder = fileURLToPath(new URL('./children/lease-holder.ts', import.meta.url))
const crashWriter = fileURLToPath(new URL('./children/crash-writer.ts', import.meta.url))

// The server runs with appendonly yes (fsync on every write), so a killed server comes back with
// every write it acknowledged.
describeRedis(
  'RedisHistory and RedisSessionRegistry when things fail',
  (ctx) => {
    test('a server killed in the middle of pushes: each push happened entirely or not at all, acknowledged ones survive the restart', async () => {
      const prefix = ctx.prefix()
      // No retries and no offline queue: a command in flight when the server dies fails at once.
      const client = ctx.server.client({ maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, autoResendUnfulfilledCommands: false })
      const history = new RedisHistory<Message>({ client, key: 'crash', prefix, maxMessages: 100_000, idleTtlMs: 0 })
      await new Promise((resolve) => client.once('ready', resolve))
      const outcomes: { batch: number; ok: boolean; code?: string }[] = []
      let killed = false
      const pushes: Promise<void>[] = []
      // Up to 16 pushes in flight; the server is killed once 50 have been acknowledged.
      for (let batch = 0; batch < 2_000 && !(killed && pushes.length - outcomes.length === 0); batch++) {
        const messages = [user(`b${batch}:1`), user(`b${batch}:2 ${'x'.repeat(batch % 50)}`), user(`b${batch}:3`)]
        pushes.push(
          history.push(...messages).then(
            () => void outcomes.push({ batch, ok: true }),
            (error: { code?: string }) => void outcomes.push({ batch, ok: false, code: error.code ?? String(error) }),
          ),
        )
        if (!killed && outcomes.filter((o) => o.ok).length >= 50) {
          killed = true
          void ctx.server.kill()
        }
        if (pushes.length - outcomes.length >= 16) await Promise.race(pushes.slice(-16))
      }
      await Promise.all(pushes)
      expect(killed).toBe(true)
      const failed = outcomes.filter((o) => !o.ok)
      expect(failed.length).toBeGreaterThan(0)
      expect(outcomes.length - failed.length).toBeGreaterThan(0)
      for (const f of failed) expect(f.code).toBe('ERR_REDIS_COMMAND')

      await ctx.server.restart()
      const again = new RedisHistory<Message>({ client: ctx.server.client(), key: 'crash', prefix, maxMessages: 100_000, idleTtlMs: 0 })
      const stored = await again.toArray()
      // Group what is stored by batch: every batch has all 3 messages in order, or none.
      const batches = new Map<number, string[]>()
      for (const m of stored) {
        const [tag] = m.content.split(' ')
        const [b, part] = (tag as string).slice(1).split(':') as [string, string]
        batches.set(Number(b), [...(batches.get(Number(b)) ?? []), part])
      }
      for (const parts of batches.values()) expect(parts).toEqual(['1', '2', '3'])
      for (const o of outcomes) if (o.ok) expect(batches.has(o.batch)).toBe(true)
      // The totals match the messages: nothing half-counted.
      const stats = await again.stats()
      expect(stats.length).toBe(stored.length)
      expect(stats.bytes).toBe(stored.reduce((sum, m) => sum + defaultSizeOf(m), 0))
    }, 60_000)

    test('kill -9 with three writers whose clients resend after the restart: no push stored twice, none acknowledged lost', async () => {
      const prefix = ctx.prefix()
      const writers = [0, 1, 2].map((worker) => startChild(crashWriter, { port: ctx.server.port, prefix, worker, pushes: 300 }))
      // Kill once every writer has 40 pushes acknowledged, with more in flight.
      await Promise.all(writers.map((w) => w.next((m) => (m as { acked?: number }).acked === 39)))
      await ctx.server.kill()
      await ctx.server.restart()
      expect(await Promise.all(writers.map((w) => w.exited))).toEqual([0, 0, 0])
      const stored = await new RedisHistory<string>({ client: ctx.server.client(), key: 'crash-many', prefix, maxMessages: 100_000 }).toArray()
      const counts = new Map<string, number>()
      for (const m of stored) counts.set(m, (counts.get(m) ?? 0) + 1)
      expect([...counts].filter(([, n]) => n > 1)).toEqual([])
      writers.forEach((w, worker) => {
        for (const m of w.messages) {
          const acked = (m as { acked?: number }).acked
          if (acked !== undefined) expect(counts.get(`w${worker}-${acked}`)).toBe(1)
        }
      })
    }, 90_000)

    test('histories are back after a restart with appendonly', async () => {
      const prefix = ctx.prefix()
      const history = new RedisHistory<Message>({ client: ctx.client, key: 'aof', prefix, maxMessages: 3, pin: (m) => m.content === 'rules' })
      await history.push(user('rules'), user('a'), user('b'), user('c'))
      const before = await history.snapshot()
      await ctx.server.kill()
      await ctx.server.restart()
      const after = new RedisHistory<Message>({ client: ctx.server.client(), key: 'aof', prefix, maxMessages: 3, pin: (m) => m.content === 'rules' })
      expect(await after.snapshot()).toEqual(before)
      // And it goes on trimming with the pin still protected.
      await after.push(user('d'))
      expect(await after.toArray()).toEqual([user('rules'), user('c'), user('d')])
    }, 30_000)

    test('a lease holder that stops renewing loses the lease, and its late writes are refused', async () => {
      const prefix = ctx.prefix()
      const child = startChild(holder, { port: ctx.server.port, prefix, ttlMs: 300 })
      const { token } = (await child.next((m) => typeof (m as { token?: number }).token === 'number')) as { token: number }
      await child.next((m) => (m as { wrote?: number }).wrote === 2)
      // Pause the process, as a long GC pause or a stopped VM would.
      child.proc.kill('SIGSTOP')
      const registry = new RedisSessionRegistry({ client: ctx.server.client(), prefix, pollIntervalMs: 0 })
      let lease = await registry.acquire('held')
      // The paused holder cannot renew: the server expires its lease after ttlMs.
      for (let i = 0; lease === null && i < 100; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        lease = await registry.acquire('held')
      }
      if (lease === null) throw new Error('the lease never expired')
      expect(lease.token).toBeGreaterThan(token)
      const history = new RedisHistory<string>({ client: ctx.client, key: 'held', prefix, fence: lease })
      await history.push('by the new holder')
      const before = await history.toArray()
      child.proc.kill('SIGCONT')
      const refused = (await child.next((m) => (m as { refused?: number }).refused !== undefined)) as { code: string }
      expect(refused.code).toBe('ERR_FENCED')
      expect(await child.exited).toBe(0)
      expect(await history.toArray()).toEqual(before)
      expect(before.at(-1)).toBe('by the new holder')
      await registry.close()
    }, 30_000)
  },
  {
    appendonly: true,
    // Seen in CI on Bun 1.4.5: ioredis under Bun's child_process and sockets does not see the
    // killed server the way Node does (no push acknowledged before the kill, a restart that
    // times out). The fault rules are the server's and the client's, not the runtime's: they
    // run on Node 20, 22 and 24.
    nodeOnly: "killing and restarting redis-server mid-run behaves differently under Bun's sockets",
  },
)
