// An HTTP chat server that keeps a session per client, with every part of its memory bounded:
// - with whenFull: 'reject', a flood of new session ids gets 429 instead of pushing out the
//   conversations already under way;
// - a request body larger than `maxBodyBytes` gets 413, and is never read into memory whole;
// - each history holds at most `maxHistoryBytes` (a reply too large for it is shortened).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { BoundedSessionStore, RingBufferHistory, truncateContent } from 'bounded-session'

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
  /** The largest request body accepted, in bytes; a larger one gets 413. @defaultValue 65_536 */
  maxBodyBytes?: number
  /** The most bytes of messages each session's history keeps. @defaultValue 1_048_576 */
  maxHistoryBytes?: number
  /** The model; here a local function. */
  reply: (history: readonly ChatMessage[]) => string
}

class BodyTooLargeError extends Error {}

// Reads the body, refusing it as soon as it is known to be too large (by its declared length, or
// once the bytes read pass the limit), so a client cannot make the server buffer gigabytes.
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new BodyTooLargeError()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw new BodyTooLargeError()
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export function createChatServer(options: ChatServerOptions): { server: Server; sessions: BoundedSessionStore<string, ChatSession> } {
  const maxBodyBytes = options.maxBodyBytes ?? 65_536
  const maxHistoryBytes = options.maxHistoryBytes ?? 1_048_576
  const sessions = new BoundedSessionStore<string, ChatSession>({
    maxSessions: options.maxSessions,
    idleTtlMs: options.idleTtlMs,
    whenFull: 'reject',
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = /^\/sessions\/([\w-]{1,64})\/messages$/.exec(req.url ?? '')
    if (req.method !== 'POST' || match === null) return send(res, 404, { error: 'not found' })
    const id = match[1] as string
    let body: string
    try {
      body = await readBody(req, maxBodyBytes)
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error
      // The rest of the body is not read: close the connection once the answer is out.
      res.setHeader('connection', 'close')
      return send(res, 413, { error: `body larger than ${maxBodyBytes} bytes` })
    }
    let session: ChatSession
    try {
      session = sessions.getOrCreate(id, (key) => ({
        id: key,
        history: new RingBufferHistory<ChatMessage>({ maxMessages: 40, maxBytes: maxHistoryBytes, shrink: truncateContent }),
      }))
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
