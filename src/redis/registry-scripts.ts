import { Script } from './client.js'
import acquireSource from './lua/acquire-4.lua'
import releaseSource from './lua/release-4.lua'
import renewSource from './lua/renew-4.lua'
import retokenSource from './lua/retoken-4.lua'
import sessionSource from './lua/session-4.lua'

// The Lua scripts of RedisSessionRegistry, one file each under lua/ (a header lists its KEYS, ARGV
// and reply; the shared pieces are lua/includes/registry-*.lua, resolved at build time by
// lua/loader.mjs).

/** acquire: lua/acquire-4.lua. */
export const acquireScript = new Script(acquireSource)

/** renew: lua/renew-4.lua. */
export const renewScript = new Script(renewSource)

/** release: lua/release-4.lua. */
export const releaseScript = new Script(releaseSource)

/** touch, delete and sweep: lua/session-4.lua. */
export const sessionScript = new Script(sessionSource)

/** retoken (a lease above a lost counter): lua/retoken-4.lua. */
export const retokenScript = new Script(retokenSource)
