import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createChatServer } from './server.js'

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

async function start(maxSessions: number, limits: { maxBodyBytes?: number; maxHistoryBytes?: number } = {}) {
  const { server, sessions } = createChatServer({
    maxSessions,
    idleTtlMs: 60_000,
    reply: (history) => `you said ${history.length} things`,
    ...limits,
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  const { port } = server.address() as AddressInfo
  const post = (id: string, text: string) =>
    fetch(`http://127.0.0.1:${port}/sessions/${id}/messages`, { method: 'POST', body: text })
  // A body sent in chunks, without a content-length: the server only learns its size as it reads.
  const postChunked = (id: string, chunks: string[]) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/sessions/${id}/messages` }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)))
      for (const chunk of chunks) req.write(chunk)
      req.end()
    })
  return { post, postChunked, sessions }
}

describe('recipe: an HTTP server that rejects session floods', () => {
  it('answers 429 to new sessions when full, and keeps serving the existing ones', async () => {
    const { post, sessions } = await start(3)
    for (const id of ['alice', 'bob', 'carol']) expect((await post(id, 'hello')).status).toBe(200)
    for (let i = 0; i < 20; i++) {
      const flood = await post(`bot-${i}`, 'spam')
      expect(flood.status).toBe(429)
      expect(flood.headers.get('retry-after')).toBe('60')
    }
    const again = await post('alice', 'still there?')
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ reply: 'you said 3 things', messages: 4 })
    expect([...sessions.keys()].sort()).toEqual(['alice', 'bob', 'carol'])
  })
})

describe('recipe: an HTTP server whose memory is bounded', () => {
  it('answers 413 to a body over the limit, declared or streamed, and keeps nothing of it', async () => {
    const { post, postChunked, sessions } = await start(10, { maxBodyBytes: 1_000 })
    expect((await post('alice', 'x'.repeat(1_000))).status).toBe(200)
    const declared = await post('alice', 'x'.repeat(1_001))
    expect(declared.status).toBe(413)
    expect(await declared.json()).toEqual({ error: 'body larger than 1000 bytes' })
    expect(await postChunked('alice', Array.from({ length: 20 }, () => 'y'.repeat(100)))).toBe(413)
    expect(await postChunked('bob', ['hi ', 'there'])).toBe(200)
    expect(sessions.peek('alice')?.history.length).toBe(2) // only the accepted message and its reply
  })

  it('keeps each history within its byte budget however long the conversation', async () => {
    const { post, sessions } = await start(10, { maxBodyBytes: 10_000, maxHistoryBytes: 50_000 })
    for (let i = 0; i < 30; i++) expect((await post('alice', `${i} ${'z'.repeat(9_000)}`)).status).toBe(200)
    const history = sessions.peek('alice')?.history
    expect(history?.bytes).toBeLessThanOrEqual(50_000)
    expect(history?.at(-1)?.role).toBe('assistant')
  })
})
