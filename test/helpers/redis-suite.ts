// Shared setup of the Redis test files: one real server per file (skipped without redis-server),
// a fresh key prefix per test.
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe } from 'vitest'
import { hasRedis, startRedis, type TestRedis } from './redis-server.js'

export interface RedisContext {
  server: TestRedis
  client: Redis
  /** A prefix no other test uses. */
  prefix(): string
}

let counter = 0

/** `describe` that runs only with redis-server on PATH, with a server started for the block. */
export function describeRedis(
  name: string,
  body: (ctx: RedisContext) => void,
  options: { appendonly?: boolean; nodeOnly?: string } = {},
): void {
  // `nodeOnly`: the reason a block runs on Node only (it is skipped on Bun, with that reason).
  const onBun = typeof (globalThis as { Bun?: unknown }).Bun === 'object'
  if (onBun && options.nodeOnly !== undefined) {
    describe.skip(`${name} (Node only: ${options.nodeOnly})`, () => {})
    return
  }
  describe.skipIf(!hasRedis)(name, () => {
    const ctx = {
      prefix: () => `t${++counter}:`,
    } as RedisContext
    beforeAll(async () => {
      ctx.server = await startRedis(options)
      ctx.client = ctx.server.client()
    })
    afterAll(async () => {
      await ctx.server?.stop()
    })
    body(ctx)
  })
}

export interface Message {
  role: 'user' | 'assistant'
  content: string
}

export const user = (content: string): Message => ({ role: 'user', content })
export const assistant = (content: string): Message => ({ role: 'assistant', content })
