/**
 * The part of the session manager that both designs share: waiting for a session's queued
 * messages.
 */
import type { EventEmitter } from 'node:events'
import type { Clock, TimerHandle } from './clock.js'
import type { SessionDatabase } from './database.js'
import type { PendingMessage } from './types.js'

/**
 * Yields a session's pending messages until its signal aborts, or until no message has arrived
 * for `idleTimeoutMs`. (v8.5.7 waited forever, so a generator never finished and its session
 * stayed busy for good; later versions end the wait after an idle timeout, as here.)
 * Every listener it adds is removed before it yields or returns.
 */
export async function* pendingMessages(
  db: SessionDatabase,
  sessionDbId: number,
  queue: EventEmitter,
  signal: AbortSignal,
  clock: Clock,
  idleTimeoutMs: number,
  onClaim: (message: PendingMessage) => void,
): AsyncGenerator<PendingMessage, void, undefined> {
  while (!signal.aborted) {
    const message = db.claimNext(sessionDbId)
    if (message !== undefined) {
      onClaim(message)
      yield message
      continue
    }
    if (!(await nextMessage(queue, signal, clock, idleTimeoutMs))) return
  }
}

/** Resolves true when a message is queued, false on abort or after `idleTimeoutMs` of silence. */
function nextMessage(queue: EventEmitter, signal: AbortSignal, clock: Clock, idleTimeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let timer: TimerHandle | undefined
    const finish = (gotMessage: boolean): void => {
      queue.off('message', onMessage)
      signal.removeEventListener('abort', onAbort)
      if (timer !== undefined) clock.clearTimeout(timer)
      resolve(gotMessage)
    }
    const onMessage = (): void => finish(true)
    const onAbort = (): void => finish(false)
    queue.on('message', onMessage)
    signal.addEventListener('abort', onAbort, { once: true })
    timer = clock.setTimeout(() => finish(false), idleTimeoutMs)
  })
}

/** Waits for `promise` to settle, at most `ms`. Resolves whether it settled in time. */
export function settledWithin(promise: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve(false), ms)
    promise.then(
      () => {
        clock.clearTimeout(timer)
        resolve(true)
      },
      () => {
        clock.clearTimeout(timer)
        resolve(true)
      },
    )
  })
}
