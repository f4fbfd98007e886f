import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createChatServer } from './server.js'

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

async function start(maxSessions: number) {
  const { server, sessions } = createChatServer({
    maxSessions,
    idleTtlMs: 60_000,
    reply: (history) => `you said ${history.length} things`,
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  const { port } = server.address() as AddressInfo
  const post = (id: string, text: string) =>
    fetch(`http://127.0.0.1:${port}/sessions/${id}/messages`, { method: 'POST', body: text })
  return { post, sessions }
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
