import { createHash } from 'node:crypto'
import { InvalidArgumentError, RedisCommandError, RedisDataError } from '../errors.js'

/**
 * The one thing `bounded-session/redis` needs from a Redis client: send a command with its
 * arguments and get the reply. An `ioredis` (or `iovalkey`) client is one as it is; a `redis`
 * (node-redis) client becomes one through {@link fromNodeRedis}.
 *
 * Replies are expected in RESP2 shapes: integers as numbers, bulk strings as strings, arrays as
 * arrays, nil as `null`. A command the server refuses must reject with an error whose `message`
 * starts with the server's error code (`NOSCRIPT …`, `WRONGTYPE …`), as both clients do.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 * const client: RedisClient = new Redis()
 * ```
 */
export interface RedisClient {
  /** Sends `command` with `args` and resolves with the server's reply. */
  call(command: string, args: string[]): Promise<unknown>
}

/** The part of a `redis` (node-redis) client that {@link fromNodeRedis} uses. */
export interface NodeRedisLike {
  /** node-redis's raw command method. */
  sendCommand(args: string[]): Promise<unknown>
}

/**
 * Wraps a connected `redis` (node-redis) client as a {@link RedisClient}. Use it with the
 * client's default RESP2 protocol.
 *
 * A node-redis cluster client (`createCluster`) is refused with {@link InvalidArgumentError}
 * (`ERR_INVALID_ARGUMENT`): its raw command method needs each command's key to route it, which a
 * {@link RedisClient} does not give. On Redis Cluster, use an ioredis (or iovalkey) `Cluster`,
 * which works as it is.
 *
 * @throws {@link InvalidArgumentError} for a node-redis cluster client, or an object without
 * `sendCommand`
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * const redis = await createClient({ url }).connect()
 * const history = new RedisHistory({ client: fromNodeRedis(redis), key: 'session-1' })
 * ```
 */
export function fromNodeRedis(client: NodeRedisLike): RedisClient {
  if (typeof client !== 'object' || client === null || typeof client.sendCommand !== 'function') {
    throw new InvalidArgumentError('client', client, 'a node-redis client (from `createClient`)')
  }
  // A RedisCluster has these getters; a RedisClient has neither.
  if ('masters' in client && 'slots' in client) {
    throw new InvalidArgumentError(
      'client',
      client,
      'a node-redis client from `createClient`, not a cluster client from `createCluster` (on Redis Cluster, use an ioredis or iovalkey `Cluster`)',
    )
  }
  return { call: (command, args) => client.sendCommand([command, ...args]) }
}

/** A Lua script run with EVALSHA, falling back to EVAL (which caches it) on NOSCRIPT. */
export class Script {
  readonly sha: string
  readonly source: string

  constructor(source: string) {
    this.source = source
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  /**
   * Runs the script. A server error whose code is one of ours (`BSDATA`) becomes a
   * {@link RedisDataError}; any other failure a {@link RedisCommandError}.
   */
  async run(client: RedisClient, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const argv = [String(keys.length), ...keys, ...args]
    try {
      return await client.call('EVALSHA', [this.sha, ...argv])
    } catch (error) {
      // The server does not have it (first use, a restart, SCRIPT FLUSH): EVAL sends the body,
      // runs it and caches it, on whichever node of a cluster owns the keys.
      if (!errorMessage(error).startsWith('NOSCRIPT')) throw wrap(error, 'EVALSHA', keys[0])
    }
    try {
      return await client.call('EVAL', [this.source, ...argv])
    } catch (error) {
      throw wrap(error, 'EVAL', keys[0])
    }
  }
}

/** Runs one plain command, turning any failure into a coded error. */
export async function command(client: RedisClient, name: string, args: string[]): Promise<unknown> {
  try {
    return await client.call(name, args)
  } catch (error) {
    throw wrap(error, name, args[0])
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function wrap(error: unknown, name: string, key: string | undefined): Error {
  const message = errorMessage(error)
  if (message.startsWith('BSDATA ')) return new RedisDataError(message.slice(7), key ?? '')
  if (message.startsWith('WRONGTYPE')) return new RedisDataError('a key holds another Redis type', key ?? '')
  return new RedisCommandError(name, error)
}
