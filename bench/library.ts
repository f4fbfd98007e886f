// The code under test: the TypeScript source through tsx (default); the built package with
// BENCH_LIBRARY=dist (run `npm run build` first); or, to try a change side by side, any other
// entry point given as a path (BENCH_LIBRARY=/tmp/patched/src/index.ts). BENCHMARKS.md says why
// the source is the default.
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as Library from '../src/index.js'
import type * as RedisLibrary from '../src/redis/index.js'
import type * as FormatsLibrary from '../src/formats/index.js'

const requested = process.env.BENCH_LIBRARY ?? ''

/** What is measured: `src`, `dist`, or the path given. */
export const libraryTarget: string = requested === '' || requested === 'src' ? 'src' : requested

const url =
  libraryTarget === 'src'
    ? new URL('../src/index.ts', import.meta.url).href
    : libraryTarget === 'dist'
      ? new URL('../dist/index.js', import.meta.url).href
      : pathToFileURL(isAbsolute(libraryTarget) ? libraryTarget : resolve(libraryTarget)).href

export const lib = (await import(url)) as typeof Library

// `bounded-session/redis` from the same place: the source, or the built dist/redis/ (any other
// path measures the source's Redis classes).
const redisUrl = new URL(libraryTarget === 'dist' ? '../dist/redis/index.js' : '../src/redis/index.ts', import.meta.url).href

/** The Redis subpath, loaded on first use (only the Redis suite needs it). */
export const loadRedisLib = async () => (await import(redisUrl)) as typeof RedisLibrary

// `bounded-session/formats` from the same place (any other path measures the source's formats).
const formatsUrl = new URL(libraryTarget === 'dist' ? '../dist/formats/index.js' : '../src/formats/index.ts', import.meta.url).href

/** The formats subpath, loaded on first use (only the formats suite needs it). */
export const loadFormatsLib = async () => (await import(formatsUrl)) as typeof FormatsLibrary
