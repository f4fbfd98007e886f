// A real redis-server for the tests: started on a free port in a temporary folder, persistence
// off unless asked (appendonly for the restart test), stopped after. Tests that need it run only
// when redis-server is on PATH; test/redis-setup.ts (vitest's globalSetup) prints one line when it
// is not, and fails the run under CI=true.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type RedisOptions } from 'ioredis'

/** The redis-server binary, or undefined when there is none on PATH. */
export function redisServerBinary(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

export const hasRedis = redisServerBinary() !== undefined

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address: unknown = server.address()
      const port = typeof address === 'object' && address !== null ? (address as { port: number }).port : 0
      server.close(() => resolve(port))
    })
  })
}

// ioredis 6's RedisOptions is not assignable to its own constructor under exactOptionalPropertyTypes.
export type ClientOptions = Omit<RedisOptions, 'replyMapping'>

export interface TestRedis {
  readonly port: number
  readonly url: string
  /** A new ioredis client of this server (closed by stop()). */
  client(options?: ClientOptions): Redis
  /** SIGKILLs the server (as a crash would). */
  kill(): Promise<void>
  /** Starts the server again on the same port and folder (after kill()). */
  restart(): Promise<void>
  /** Stops the server, closes every client made by client(), removes the folder. */
  stop(): Promise<void>
}

/** Starts a server. `appendonly` turns on the append-only file (fsync on every write). */
export async function startRedis(options: { appendonly?: boolean } = {}): Promise<TestRedis> {
  const bin = redisServerBinary()
  if (bin === undefined) throw new Error('redis-server is not on PATH')
  const dir = mkdtempSync(join(tmpdir(), 'bounded-session-redis-'))
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--loglevel', 'warning']
  if (options.appendonly === true) args.push('--appendonly', 'yes', '--appendfsync', 'always')
  else args.push('--appendonly', 'no')
  let proc: ChildProcess | undefined
  const clients: Redis[] = []

  async function launch(): Promise<void> {
    const child = spawn(bin as string, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    proc = child
    let stderr = ''
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    // Ready when it answers PING.
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${stderr}`)
      try {
        await probe.connect()
        await probe.ping()
        break
      } catch {
        if (i > 200) throw new Error(`redis-server did not answer on port ${port}: ${stderr}`)
        probe.disconnect()
        await new Promise((r) => setTimeout(r, 25))
      }
    }
    probe.disconnect()
  }

  async function kill(): Promise<void> {
    const child = proc
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      child.kill('SIGKILL')
    })
  }

  await launch()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client(extra) {
      const c = new Redis({ port, host: '127.0.0.1', ...extra } as ClientOptions)
      c.on('error', () => {})
      clients.push(c)
      return c
    },
    kill,
    restart: launch,
    async stop() {
      for (const c of clients) c.disconnect()
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
