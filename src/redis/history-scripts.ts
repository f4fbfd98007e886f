import { Script } from './client.js'
import calibrateSource from './lua/calibrate-4.lua'
import fenceSource from './lua/fence-4.lua'
import pushSource from './lua/push-4.lua'
import readSource from './lua/read-4.lua'
import rollbackSource from './lua/rollback-4.lua'

// The Lua scripts of RedisHistory, one file each under lua/ (a header lists its KEYS, ARGV and
// reply; the shared pieces are lua/includes/*.lua, resolved at build time by lua/loader.mjs). Every
// script checks the session's keys before it writes anything (Redis does not roll a script back).
// Messages are opaque strings there: their sizes, tokens and flags come from the client.

/** push / reset / clear / restore: lua/push-4.lua. */
export const pushScript = new Script(pushSource)

/** toArray / window / snapshot / stats: lua/read-4.lua. */
export const readScript = new Script(readSource)

/** rollback: lua/rollback-4.lua. */
export const rollbackScript = new Script(rollbackSource)

/** The registry's side of a session (fence, extend, delete): lua/fence-4.lua. */
export const fenceScript = new Script(fenceSource)

/** calibrate / tokenCorrection's shared correction: lua/calibrate-4.lua. */
export const calibrateScript = new Script(calibrateSource)
