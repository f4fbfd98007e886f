import type { Redis } from 'ioredis'
import type { Redis as Valkey } from 'iovalkey'
import type { createClient } from 'redis'
import { describe, expectTypeOf, test } from 'vitest'
import type { HistorySnapshot as MemorySnapshot } from '../src/index.js'
import {
  type HistorySnapshot,
  type NodeRedisLike,
  type PushOptions,
  type RedisClient,
  RedisHistory,
  type RedisHistoryCheckpoint,
  type RedisLease,
  RedisSessionRegistry,
  type RegistryDepartureReason,
} from '../src/redis/index.js'

describe('bounded-session/redis types', () => {
  test('ioredis and iovalkey clients are RedisClients as they are; node-redis fits fromNodeRedis', () => {
    expectTypeOf<Redis>().toExtend<RedisClient>()
    expectTypeOf<Valkey>().toExtend<RedisClient>()
    expectTypeOf<ReturnType<typeof createClient>>().toExtend<NodeRedisLike>()
  })

  test('the history is async and typed by its message', () => {
    type M = { role: 'user'; content: string }
    expectTypeOf<RedisHistory<M>['push']>().returns.toEqualTypeOf<Promise<number>>()
    expectTypeOf<RedisHistory<M>['pushWith']>().parameters.toEqualTypeOf<[PushOptions, ...M[]]>()
    expectTypeOf<PushOptions>().toEqualTypeOf<{ idempotencyKey?: string | undefined; pinned?: boolean | undefined }>()
    expectTypeOf<RedisHistory<M>['toArray']>().returns.toEqualTypeOf<Promise<M[]>>()
    expectTypeOf<RedisHistory<M>['checkpoint']>().returns.toEqualTypeOf<Promise<RedisHistoryCheckpoint>>()
    // One snapshot format for memory and Redis.
    expectTypeOf<HistorySnapshot<M>>().toEqualTypeOf<MemorySnapshot<M>>()
    expectTypeOf<Awaited<ReturnType<RedisHistory<M>['snapshot']>>>().toEqualTypeOf<MemorySnapshot<M>>()
  })

  test('a lease is a fence; events are labelled tuples', () => {
    expectTypeOf<RedisLease>().toExtend<{ readonly token: number }>()
    expectTypeOf<RedisSessionRegistry['acquire']>().returns.toEqualTypeOf<Promise<RedisLease | null>>()
    const registry = null as unknown as RedisSessionRegistry
    registry.on('depart', (id, reason) => {
      expectTypeOf(id).toEqualTypeOf<string>()
      expectTypeOf(reason).toEqualTypeOf<RegistryDepartureReason>()
    })
  })
})
