// An HTTP chat server that keeps a session per client. With whenFull: 'reject', a flood of new
// session ids gets 429 instead of pushing out the conversations already under way.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { BoundedSessionStore, RingBufferHistory } from 'bounded-session'

export interface ChatMessage {
  role: 'user' | 'assistant'
  content: string
}

export interface ChatSession {
  id: string
  history: RingBufferHistory<ChatMessage>
}

export interface ChatServerOptions {
  maxSessions: number
  idleTtlMs: number
  /** The model; here a local function. */
  reply: (history: readonly ChatMessage[]) => string
}

export function createChatServer(options: ChatServerOptions): { server: Server; sessions: BoundedSessionStore<string, ChatSession> } {
  const sessions = new BoundedSessionStore<string, ChatSession>({
    maxSessions: options.maxSessions,
    idleTtlMs: options.idleTtlMs,
    whenFull: 'reject',
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = /^\/sessions\/([\w-]{1,64})\/messages$/.exec(req.url ?? '')
    if (req.method !== 'POST' || match === null) return send(res, 404, { error: 'not found' })
    const id = match[1] as string
    let body = ''
    for await (const chunk of req) body += String(chunk)
    let session: ChatSession
    try {
      session = sessions.getOrCreate(id, (key) => ({ id: key, history: new RingBufferHistory({ maxMessages: 40 }) }))
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_SESSION_LIMIT') {
        res.setHeader('retry-after', '60')
        return send(res, 429, { error: 'too many sessions' })
      }
      throw error
    }
    session.history.push({ role: 'user', content: body })
    const answer = options.reply(session.history.toArray())
    session.history.push({ role: 'assistant', content: answer })
    send(res, 200, { reply: answer, messages: session.history.length })
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { error: 'internal error' }))
  })
  server.on('close', () => void sessions.close())
  return { server, sessions }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(body))
}
