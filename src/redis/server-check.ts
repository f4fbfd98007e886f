import { RedisConfigError } from '../errors.js'
import type { RedisClient } from './client.js'

// The server checks made once per client, at its first use by a history or a registry.
// `maxmemory-policy` is read from `INFO memory` (CONFIG is often renamed or refused by managed
// services; INFO rarely is). A server that refuses INFO too is not checked.

const checked = new WeakMap<RedisClient, Promise<string | undefined>>()

/** The server's `maxmemory-policy`, read once per client; undefined when it cannot be read. */
function evictionPolicy(client: RedisClient): Promise<string | undefined> {
  let policy = checked.get(client)
  if (policy === undefined) {
    policy = client.call('INFO', ['memory']).then(
      (info) => /maxmemory_policy:(\S+)/.exec(String(info))?.[1],
      () => undefined,
    )
    checked.set(client, policy)
  }
  return policy
}

/**
 * Rejects with {@link RedisConfigError} when the server may evict any key (`allkeys-*`): the
 * fences, leases and token counter must not vanish. `noeviction` is what the guarantees need;
 * `volatile-*` policies evict only keys with an expiry (histories, tombstones), which the
 * history then reports as missing.
 */
export async function assertEvictionPolicy(client: RedisClient): Promise<void> {
  const policy = await evictionPolicy(client)
  if (policy?.startsWith('allkeys-') === true) {
    throw new RedisConfigError('maxmemory-policy', policy, '`noeviction` or a `volatile-*` policy (or set `allowAllKeysEviction: true`)')
  }
}
