// Starts a TypeScript file as a child process of the test: through tsx on Node, directly on Bun.
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const isBun = (process.versions as Record<string, string | undefined>).bun !== undefined
const lua = (name: string) => fileURLToPath(new URL(`../../src/redis/lua/${name}`, import.meta.url))

export interface TestChild {
  proc: ChildProcess
  /** Lines the child wrote to stdout, parsed as JSON. */
  messages: unknown[]
  /** Resolves with the first message that matches, as the child sends it. */
  next(match: (message: unknown) => boolean): Promise<unknown>
  /** Resolves when the child exits, with its code. */
  exited: Promise<number | null>
  /** Writes `command` as a JSON line to the child's stdin and resolves with its next answer. */
  ask(command: unknown): Promise<unknown>
}

export function startChild(file: string, input: unknown): TestChild {
  // The Redis scripts (.lua) load through src/redis/lua/loader.mjs: a module hook on Node, a
  // plugin preloaded on Bun.
  const args = isBun
    ? ['--preload', lua('bun-plugin.mjs'), file, JSON.stringify(input)]
    : ['--import', 'tsx', '--import', lua('register.mjs'), file, JSON.stringify(input)]
  const proc = spawn(process.execPath, args, { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
  const messages: unknown[] = []
  const waiters: { match: (m: unknown) => boolean; resolve: (m: unknown) => void }[] = []
  let buffer = ''
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk
    let at: number
    while ((at = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, at)
      buffer = buffer.slice(at + 1)
      if (line.trim() === '') continue
      const message = JSON.parse(line) as unknown
      messages.push(message)
      for (const w of waiters.splice(0)) {
        if (w.match(message)) w.resolve(message)
        else waiters.push(w)
      }
    }
  })
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  let answered = 0
  let asking = Promise.resolve<unknown>(undefined)
  return {
    proc,
    messages,
    exited,
    ask(command) {
      // One question at a time: each answer is the next line after those already consumed.
      asking = asking.then(
        () =>
          new Promise((resolve, reject) => {
            const index = answered++
            proc.stdin?.write(`${JSON.stringify(command)}\n`)
            const check = () => {
              if (messages.length > index) resolve(messages[index])
              else if (proc.exitCode !== null) reject(new Error(`child exited with ${proc.exitCode}`))
              else setTimeout(check, 2)
            }
            check()
          }),
      )
      return asking
    },
    next(match) {
      const seen = messages.find(match)
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve })
        void exited.then((code) => reject(new Error(`child exited with ${code} before sending the message awaited`)))
      })
    },
  }
}
