// Node module hooks (module.register) that load `.lua` imports through loader.mjs, for processes
// run with tsx outside vitest: the test children and the bench (`--import ./src/redis/lua/register.mjs`).
import { fileURLToPath } from 'node:url'
import { luaModule } from './loader.mjs'

export async function load(url, context, nextLoad) {
  if (url.endsWith('.lua')) return { format: 'module', source: luaModule(fileURLToPath(url)), shortCircuit: true }
  return nextLoad(url, context)
}
