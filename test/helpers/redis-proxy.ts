// A TCP proxy on loopback in front of a real redis-server, for the fault tests: it forwards
// everything until told to hold the replies back, then cuts the client's connections (the server
// has run the commands; the client never heard), as a dropped link after a write does.
import { createServer, type Server, type Socket, connect } from 'node:net'

export interface RedisProxy {
  /** The port clients connect to. */
  readonly port: number
  /** From now on, replies from the server are dropped (requests still reach it). */
  holdReplies(): void
  /** Bytes of requests forwarded to the server since the proxy started. */
  readonly forwarded: number
  /** Cuts every client connection (and its server side); new connections pass again. */
  cut(): void
  /** Closes the proxy and every connection. */
  close(): Promise<void>
}

/** Starts a proxy to the redis-server on `target` (a port on 127.0.0.1). */
export async function startRedisProxy(target: number): Promise<RedisProxy> {
  const pairs = new Set<[Socket, Socket]>()
  let holding = false
  let forwarded = 0
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1')
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    // Each pair remembers whether it was opened before the hold: only those drop replies.
    let drop = false
    client.on('data', (chunk) => {
      forwarded += chunk.length
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (!drop && !holding) client.write(chunk)
      else drop = true
    })
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const proxy: RedisProxy = {
    port,
    get forwarded() {
      return forwarded
    },
    holdReplies() {
      holding = true
    },
    cut() {
      holding = false
      for (const [client, upstream] of [...pairs]) {
        client.destroy()
        upstream.destroy()
      }
      pairs.clear()
    },
    async close() {
      proxy.cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  return proxy
}
