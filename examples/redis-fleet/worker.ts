// One worker of a fleet: any worker may serve any session, one at a time. The conversation lives
// in Redis (RedisHistory); the fleet's bound and the lock live in Redis too
// (RedisSessionRegistry); each worker keeps only the live state of the sessions it served lately
// (here an AbortController for the model call in flight) in a local BoundedSessionStore, which
// drops a session when the fleet says it departed.
import { BoundedSessionStore, type RemovalReason } from 'bounded-session'
import { type RedisClient, RedisHistory, type RedisLease, RedisSessionRegistry } from 'bounded-session/redis'

export interface ChatMessage {
  role: 'user' | 'assistant'
  content: string
}

/** What a worker holds for a session between turns. */
export interface LiveSession {
  id: string
  /** Aborts the model call in flight when the session leaves this worker. */
  abort: AbortController
}

export interface WorkerOptions {
  client: RedisClient
  /** Sessions across the whole fleet. */
  maxSessions: number
  prefix?: string
  /** 0 in tests, which call poll() themselves. */
  pollIntervalMs?: number
}

export type TurnResult = { reply: string; messages: number } | { busy: true }

export function createWorker(options: WorkerOptions) {
  const prefix = options.prefix ?? 'fleet:'
  const disposed: [string, RemovalReason][] = []
  const registry = new RedisSessionRegistry({
    client: options.client,
    prefix,
    maxSessions: options.maxSessions,
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
  })
  const live = new BoundedSessionStore<string, LiveSession>({
    maxSessions: 1_000,
    dispose: (session, id, reason) => {
      session.abort.abort()
      disposed.push([id, reason])
    },
  })
  // A session another worker's acquire evicted (or that expired) is gone for everyone: drop it here.
  registry.on('depart', (id) => void live.delete(id))
  registry.on('error', () => {
    // A failed poll is tried again on the next tick; a real worker would log it.
  })

  const historyOf = (id: string, lease: RedisLease) =>
    new RedisHistory<ChatMessage>({
      client: options.client,
      key: id,
      prefix,
      maxMessages: 40,
      startOn: (m) => m.role === 'user',
      fence: lease, // a turn that outlives its lease cannot write after the next holder starts
    })

  const held = new Map<string, RedisLease>()

  /** Runs one turn. With `hold`, keeps the lease until release(id), as a slow model call would. */
  async function turn(id: string, text: string, hold = false): Promise<TurnResult> {
    const lease = await registry.acquire(id)
    if (lease === null) return { busy: true }
    try {
      live.getOrCreate(id, () => ({ id, abort: new AbortController() }))
      const history = historyOf(id, lease)
      await history.push({ role: 'user', content: text })
      const window = await history.window({ maxMessages: 20 })
      const reply = `turn ${window.filter((m) => m.role === 'user').length} of ${id}`
      const messages = await history.push({ role: 'assistant', content: reply })
      return { reply, messages }
    } finally {
      if (hold) held.set(id, lease)
      else await lease.release()
    }
  }

  return {
    registry,
    live,
    disposed,
    turn,
    async release(id: string): Promise<void> {
      await held.get(id)?.release()
      held.delete(id)
    },
    async close(): Promise<void> {
      await registry.close()
      await live.close()
    },
  }
}
