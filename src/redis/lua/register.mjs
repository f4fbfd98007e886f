// `node --import ./src/redis/lua/register.mjs`: `.lua` imports load through loader.mjs.
import { register } from 'node:module'

register('./hooks.mjs', import.meta.url)
