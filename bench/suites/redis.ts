// Issue 12 item 4: RedisHistory against what users run today on the same local redis-server,
// which this child starts on a free port (persistence off) and stops after:
//   - push: one RedisHistory.push (one EVALSHA: append, trim, totals, expiry) against RPUSH then
//     EXPIRE (two round trips, never trimmed), at 1, 8 and 64 concurrent clients;
//   - a model call's read of 1,000 stored messages: window({ maxMessages: 20 }) against LRANGE of
//     the whole list and JSON.parse of every message;
//   - Redis memory (INFO memory, used_memory) along 1,000,000 pushes into 1,000 sessions.
// Speed: each round runs every variant for a fixed time with all clients busy, in an order
// rotated every round (plus a discarded warm-up round); a variant's figure for a round is its
// time per operation (elapsed ÷ operations completed), and its latencies are pooled for p50/p99.
import type { Redis as RedisClient } from 'ioredis'
import { startRedis, type TestRedis } from '../../test/helpers/redis-server.js'
import { prng } from '../data.js'
import type { MemoryResult, Result, Settings, SpeedResult } from '../harness.js'
import { loadRedisLib } from '../library.js'

export type RedisPart = 'speed' | 'memory'

// The source's Redis scripts are .lua files: their loader goes in before the subpath is imported
// (a module hook on Node, a runtime plugin on Bun; the built dist/ has them inlined already).
async function loadRedis(): ReturnType<typeof loadRedisLib> {
  const onBun = (globalThis as { Bun?: unknown }).Bun !== undefined
  await import(onBun ? '../../src/redis/lua/bun-plugin.mjs' : '../../src/redis/lua/register.mjs')
  return loadRedisLib()
}

interface Message {
  role: 'user' | 'assistant'
  content: string
}

function messages(count: number, seed: number): Message[] {
  const rand = prng(seed)
  const out: Message[] = []
  for (let i = 0; i < count; i++) {
    const length = 50 + Math.floor(rand() * 200)
    out.push({ role: i % 2 === 0 ? 'user' : 'assistant', content: `${i} `.padEnd(length, 'lorem ipsum ') })
  }
  return out
}

interface Contender {
  name: string
  /** One operation by client `c`. */
  op: (c: number) => Promise<unknown>
}

/** Runs every client in a loop for `ms`; returns ns per operation (elapsed ÷ ops) and latencies in µs. */
async function runFor(contender: Contender, clients: number, ms: number): Promise<{ nsPerOp: number; latencies: number[] }> {
  const latencies: number[] = []
  const start = process.hrtime.bigint()
  const end = start + BigInt(ms) * 1_000_000n
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (;;) {
        const t = process.hrtime.bigint()
        if (t >= end) return
        await contender.op(c)
        latencies.push(Number(process.hrtime.bigint() - t) / 1000)
      }
    }),
  )
  const elapsed = Number(process.hrtime.bigint() - start)
  return { nsPerOp: elapsed / latencies.length, latencies }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

async function compareAsync(id: string, title: string, contenders: Contender[], clients: number, settings: Settings, ms: number): Promise<SpeedResult> {
  const nsPerOp: Record<string, number[]> = {}
  const samples: Record<string, number[]> = {}
  const pooled: Record<string, number[]> = {}
  for (const c of contenders) {
    nsPerOp[c.name] = []
    samples[c.name] = []
    pooled[c.name] = []
  }
  for (let round = -1; round < settings.rounds; round++) {
    const shift = round < 0 ? 0 : round % contenders.length
    for (const c of [...contenders.slice(shift), ...contenders.slice(0, shift)]) {
      const r = await runFor(c, clients, ms)
      if (round < 0) continue
      ;(nsPerOp[c.name] as number[]).push(r.nsPerOp)
      ;(samples[c.name] as number[]).push(r.latencies.length)
      for (const l of r.latencies) (pooled[c.name] as number[]).push(l)
    }
  }
  const latencyUs: Record<string, { p50: number; p99: number }> = {}
  for (const [name, list] of Object.entries(pooled)) {
    list.sort((a, b) => a - b)
    latencyUs[name] = { p50: percentile(list, 50), p99: percentile(list, 99) }
  }
  return { kind: 'speed', id, title, ops: 1, rounds: settings.rounds, samples, nsPerOp, latencyUs }
}

export const OURS_PUSH = 'RedisHistory.push (one EVALSHA)'
export const BASE_PUSH = 'RPUSH + EXPIRE (two round trips)'
export const OURS_READ = 'RedisHistory.window({ maxMessages: 20 })'
export const BASE_READ = 'LRANGE 0 -1 + JSON.parse of every message'

async function speed(server: TestRedis, smoke: boolean, settings: Settings): Promise<Result[]> {
  const { RedisHistory } = await loadRedis()
  const results: Result[] = []
  const ms = smoke ? 30 : 400
  const pool = messages(4_096, 12)
  const stored = smoke ? 100 : 1_000
  for (const clients of smoke ? [1, 8] : [1, 8, 64]) {
    const connections: RedisClient[] = Array.from({ length: clients }, () => server.client())
    const pushHistories = connections.map((client, c) => new RedisHistory<Message>({ client, key: `push-${c}`, maxMessages: 50 }))
    const next = Array.from({ length: clients }, (_, c) => c * 97)
    const take = (c: number) => pool[(next[c] = ((next[c] as number) + 1) % pool.length)] as Message
    results.push(
      await compareAsync(
        `redis-push-${clients}`,
        `Redis push, ${clients} concurrent client${clients === 1 ? '' : 's'}`,
        [
          { name: OURS_PUSH, op: (c) => (pushHistories[c] as InstanceType<typeof RedisHistory<Message>>).push(take(c)) },
          {
            name: BASE_PUSH,
            op: async (c) => {
              const client = connections[c] as RedisClient
              await client.rpush(`list-${c}`, JSON.stringify(take(c)))
              await client.expire(`list-${c}`, 3_600)
            },
          },
        ],
        clients,
        settings,
        ms,
      ),
    )
    // Histories and lists of `stored` messages, the same messages on both sides.
    const readHistories = connections.map((client, c) => new RedisHistory<Message>({ client, key: `read-${c}`, maxMessages: stored }))
    const content = pool.slice(0, stored)
    for (let c = 0; c < clients; c++) {
      const client = connections[c] as RedisClient
      await client.del(`read-list-${c}`)
      for (let i = 0; i < stored; i += 100) {
        await (readHistories[c] as InstanceType<typeof RedisHistory<Message>>).push(...content.slice(i, i + 100))
        await client.rpush(`read-list-${c}`, ...content.slice(i, i + 100).map((m) => JSON.stringify(m)))
      }
    }
    results.push(
      await compareAsync(
        `redis-read-${clients}`,
        `Redis model-call read of ${stored.toLocaleString('en-US')} stored messages, ${clients} concurrent client${clients === 1 ? '' : 's'}`,
        [
          { name: OURS_READ, op: (c) => (readHistories[c] as InstanceType<typeof RedisHistory<Message>>).window({ maxMessages: 20 }) },
          {
            name: BASE_READ,
            op: async (c) => {
              const all = await (connections[c] as RedisClient).lrange(`read-list-${c}`, 0, -1)
              return all.map((s) => JSON.parse(s) as Message).slice(-20)
            },
          },
        ],
        clients,
        settings,
        ms,
      ),
    )
    for (const c of connections) c.disconnect()
  }
  return results
}

async function usedMemory(client: RedisClient): Promise<number> {
  const info = await client.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1])
}

async function memory(server: TestRedis, smoke: boolean): Promise<Result[]> {
  const { RedisHistory } = await loadRedis()
  const total = smoke ? 20_000 : 1_000_000
  const sessions = smoke ? 100 : 1_000
  const checkpoints = [0.25, 0.5, 0.75, 1]
  const pool = messages(4_096, 34)
  const client = server.client()
  const results: Result[] = []
  for (const design of ['ours', 'baseline'] as const) {
    await client.flushall()
    const base = await usedMemory(client)
    const histories = Array.from({ length: sessions }, (_, s) => new RedisHistory<Message>({ client, key: `mem-${s}`, maxMessages: 50 }))
    const rand = prng(56)
    const figures: number[] = []
    let done = 0
    for (const fraction of checkpoints) {
      const until = Math.round(total * fraction)
      // 256 pushes in flight on the connection (ioredis pipelines them).
      while (done < until) {
        const batch: Promise<unknown>[] = []
        for (let k = 0; k < 256 && done < until; k++, done++) {
          const s = Math.floor(rand() * sessions)
          const m = pool[done % pool.length] as Message
          if (design === 'ours') batch.push((histories[s] as InstanceType<typeof RedisHistory<Message>>).push(m))
          else batch.push(client.rpush(`list-${s}`, JSON.stringify(m)).then(() => client.expire(`list-${s}`, 3_600)))
        }
        await Promise.all(batch)
      }
      figures.push((await usedMemory(client)) - base)
    }
    const detail: Record<string, number> = { pushes: total, sessions }
    checkpoints.forEach((f, i) => {
      detail[`at${Math.round(f * 100)}`] = figures[i] as number
    })
    const label = design === 'ours' ? 'RedisHistory (maxMessages 50)' : 'RPUSH + EXPIRE (no trim)'
    const memoryResult: MemoryResult = {
      kind: 'memory',
      id: `redis-memory-${design}`,
      title: `Redis used_memory after ${total.toLocaleString('en-US')} pushes into ${sessions.toLocaleString('en-US')} sessions: ${label}`,
      bytes: figures[figures.length - 1] as number,
      per: 1,
      detail,
    }
    results.push(memoryResult)
  }
  client.disconnect()
  return results
}

export async function redisSuite(part: RedisPart, smoke: boolean, settings: Settings): Promise<Result[]> {
  const server = await startRedis()
  try {
    return part === 'speed' ? await speed(server, smoke, settings) : await memory(server, smoke)
  } finally {
    await server.stop()
  }
}
