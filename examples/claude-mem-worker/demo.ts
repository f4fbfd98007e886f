/**
 * `npm run demo`: replays days of claude-mem worker traffic, in compressed virtual time, through
 * the original session layer (a Map and plain arrays) and through the one rebuilt on
 * bounded-session, and charts the retained heap of each.
 *
 * Honesty: each design runs in its own child process (so one's garbage never weighs on the
 * other's numbers), both children generate the same event stream from the same seed and print
 * its fingerprint, and the heap is sampled with `process.memoryUsage().heapUsed` right after a
 * full `gc()`. The children import the package by name and run against the build in dist/.
 */
import { fork } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type Series, svgChart, terminalChart } from './chart.js'
import { resolveSessionSettings, type SessionLayerSettings, type WorkerSettings } from './settings.js'
import type { Logger } from './types.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '../..')
const HOUR = 3_600_000
const DAY = 24 * HOUR
const MB = 1024 * 1024

const HELP = `Usage: npm run demo -- [options]

Replays days of claude-mem worker traffic through the original session layer (Map + arrays)
and through bounded-session, and charts the retained heap of both.

Traffic
  --days <n>               days of sessions arriving (default 3)
  --sessions-per-day <n>   new Claude Code sessions per day (default 150)
  --seed <n>               seed of the event stream (default 532)
Budgets (the worker's settings, passed as strings like settings.json)
  --ttl-minutes <n>        CLAUDE_MEM_SESSION_TTL_MINUTES (default 60)
  --max-sessions <n>       CLAUDE_MEM_MAX_ACTIVE_SESSIONS (default 100)
  --max-history <n>        CLAUDE_MEM_MAX_CONVERSATION_HISTORY (default 50)
  --max-chars <n>          CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS (default 400000)
Output
  --sample-minutes <n>     virtual minutes between heap samples (default: about 100 samples)
  --out <file>             SVG file (default out/claude-mem-worker-demo.svg)
  --no-color               plain terminal output
  -h, --help               this text
`

interface DemoConfig {
  days: number
  sessionsPerDay: number
  seed: number
  settings: WorkerSettings
  sampleMinutes: number | undefined
}

type ChildMessage =
  | { type: 'start'; events: number; fingerprint: string; endAt: number; baseline: number; resolved: string }
  | { type: 'progress'; fraction: number; virtualTime: number }
  | { type: 'sample'; virtualTime: number; heapUsed: number }
  | { type: 'done'; summary: ChildSummary }
  | { type: 'failed'; error: string }

interface ChildSummary {
  wallMs: number
  stats: Record<string, number>
  sessionsHeld: number
  messagesHeld: number
  charsHeld: number
  store?: { peakSize: number; peakBytes: number; recreated: number; removed: Record<string, number> }
}

// --- child: one design ---------------------------------------------------------------------

async function runChild(design: 'unbounded' | 'bounded', config: DemoConfig): Promise<void> {
  const send = (message: ChildMessage): void => {
    process.send?.(message)
  }
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  const { createStack, replay } = await import('./replay.js')
  const { fingerprint, generateTraffic } = await import('./traffic.js')
  const logger: Logger = {
    debug() {},
    info() {},
    // Provider fallbacks are expected (1% of calls fail on purpose) and counted in the stats.
    warn() {},
    error: (component, message, context) => console.error(`[${design}] ${component} ${message}`, context ?? ''),
  }
  const settings: SessionLayerSettings = resolveSessionSettings(config.settings, { ...logger, warn() {} })
  const events = generateTraffic({ seed: config.seed, days: config.days, sessionsPerDay: config.sessionsPerDay })
  const last = events[events.length - 1]?.at ?? 0
  // Run on past the last event long enough for idle sessions to time out.
  const endAt = Math.ceil((last + settings.idleTtlMs + 2 * HOUR) / HOUR) * HOUR
  const sampleEveryMs = (config.sampleMinutes ?? Math.max(30, Math.round(endAt / 100 / 60_000))) * 60_000
  const stack = createStack(design, { settings, logger })
  let created = 0
  if (stack.design === 'bounded') stack.layer.sessions.on('create', () => created++)
  gc()
  const baseline = process.memoryUsage().heapUsed
  send({
    type: 'start',
    events: events.length,
    fingerprint: fingerprint(events),
    endAt,
    baseline,
    resolved: relative(ROOT, fileURLToPath(import.meta.resolve('bounded-session'))),
  })
  send({ type: 'sample', virtualTime: 0, heapUsed: baseline })
  const started = performance.now()
  const every = Math.max(1, Math.floor(events.length / 200))
  await replay(stack, events, endAt, {
    sampleEveryMs,
    onSample(virtualTime) {
      gc()
      send({ type: 'sample', virtualTime, heapUsed: process.memoryUsage().heapUsed })
    },
    onEvent(index, event) {
      if (index % every === 0) send({ type: 'progress', fraction: index / events.length, virtualTime: event.at })
    },
  })
  let messagesHeld = 0
  let charsHeld = 0
  for (const [, session] of stack.layer.sessions) {
    messagesHeld += session.conversationHistory.length
    for (const message of session.conversationHistory) charsHeld += message.content.length
  }
  const summary: ChildSummary = {
    wallMs: performance.now() - started,
    stats: { ...stack.worker.stats },
    sessionsHeld: stack.layer.getActiveSessionCount(),
    messagesHeld,
    charsHeld,
  }
  if (stack.design === 'bounded') {
    const s = stack.layer.sessions.stats()
    summary.store = { peakSize: s.peakSize, peakBytes: s.peakBytes, recreated: created - stack.db.sessionCount, removed: s.removed }
  }
  send({ type: 'done', summary })
}

// --- parent: run both, draw ----------------------------------------------------------------

interface ChildState {
  design: 'unbounded' | 'bounded'
  fraction: number
  virtualTime: number
  start?: Extract<ChildMessage, { type: 'start' }>
  samples: [number, number][]
  summary?: ChildSummary
}

function spawnChild(design: 'unbounded' | 'bounded', argv: string[], state: ChildState, onUpdate: () => void): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', design, ...argv], {
      execArgv: process.execArgv,
      // Without tsconfig `paths`, `bounded-session` resolves to the build through package.json "exports".
      env: { ...process.env, TSX_TSCONFIG_PATH: resolve(HERE, 'tsconfig.demo.json') },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    child.on('message', (raw) => {
      const message = raw as ChildMessage
      switch (message.type) {
        case 'start':
          state.start = message
          break
        case 'progress':
          state.fraction = message.fraction
          state.virtualTime = message.virtualTime
          break
        case 'sample':
          state.samples.push([message.virtualTime, message.heapUsed])
          state.virtualTime = Math.max(state.virtualTime, message.virtualTime)
          break
        case 'done':
          state.summary = message.summary
          state.fraction = 1
          break
        case 'failed':
          reject(new Error(`${design}: ${message.error}`))
          return
      }
      onUpdate()
    })
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code === 0 && state.summary !== undefined) resolvePromise()
      else reject(new Error(`the ${design} run exited with code ${code}`))
    })
  })
}

function bar(fraction: number, width: number): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width)
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`
}

const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`

async function runParent(config: DemoConfig, argv: string[], outFile: string, color: boolean): Promise<void> {
  if (!existsSync(resolve(ROOT, 'dist/index.js'))) {
    console.error('dist/ is missing: run `npm run build` first (npm run demo does it for you).')
    process.exitCode = 1
    return
  }
  const paint = (code: number, text: string): string => (color ? `\x1b[${code}m${text}\x1b[0m` : text)
  console.log(paint(1, 'bounded-session × claude-mem worker: the issue #532 leak, replayed'))
  const settings = resolveSessionSettings(config.settings, {
    debug() {},
    info() {},
    warn: (_component, message, context) => console.warn(`  warning: ${message}`, context ?? ''),
    error: (_component, message, context) => console.error(`  error: ${message}`, context ?? ''),
  })
  console.log(
    `  ${config.days} day(s), ${config.sessionsPerDay} sessions/day, seed ${config.seed}; ` +
      `budgets: TTL ${settings.idleTtlMs / 60_000} min, ${settings.maxSessions} sessions, ` +
      `${settings.maxMessages} messages and ${settings.maxChars.toLocaleString('en-US')} chars per history`,
  )
  console.log('  each design runs in its own process on the same event stream; heap = heapUsed after gc()\n')

  const states: ChildState[] = (['unbounded', 'bounded'] as const).map((design) => ({
    design,
    fraction: 0,
    virtualTime: 0,
    samples: [],
  }))
  const tty = process.stdout.isTTY === true
  let lastLine = -1
  const render = (): void => {
    const line = states
      .map((s) => `${s.design.padEnd(9)} ${bar(s.fraction, 20)} day ${(s.virtualTime / DAY).toFixed(1)}`)
      .join('   ')
    if (tty) process.stdout.write(`\r  ${line}`)
    else {
      const quarter = Math.floor(Math.min(...states.map((s) => s.fraction)) * 4)
      if (quarter > lastLine) {
        lastLine = quarter
        console.log(`  ${line}`)
      }
    }
  }
  const started = performance.now()
  const timer = tty ? setInterval(render, 250) : undefined
  try {
    await Promise.all(states.map((state) => spawnChild(state.design, argv, state, render)))
  } finally {
    if (timer !== undefined) clearInterval(timer)
  }
  render()
  if (tty) process.stdout.write('\n')
  const wall = performance.now() - started

  const [unbounded, bounded] = states as [ChildState, ChildState]
  const u = unbounded.start
  const b = bounded.start
  if (u === undefined || b === undefined || unbounded.summary === undefined || bounded.summary === undefined) {
    throw new Error('a run ended without reporting')
  }
  const same = u.fingerprint === b.fingerprint && u.events === b.events
  console.log(
    `\n  event stream: ${u.events.toLocaleString('en-US')} events, fingerprint ${u.fingerprint} (unbounded) / ` +
      `${b.fingerprint} (bounded) ${same ? paint(32, '✓ identical') : paint(31, '✗ DIFFERENT')}`,
  )
  console.log(`  bounded-session loaded from: ${b.resolved}`)

  const series: Series[] = [
    {
      label: 'unbounded (Map + arrays, v8.5.7)',
      points: unbounded.samples.map(([t, h]) => [t / DAY, h / MB] as const),
      glyph: '▲',
      ansi: 31,
      color: '#d62728',
    },
    {
      label: 'bounded-session',
      points: bounded.samples.map(([t, h]) => [t / DAY, h / MB] as const),
      glyph: '●',
      ansi: 32,
      color: '#2ca02c',
    },
  ]
  // What the bounded layer may hold at most: every session at its character budget (ASCII text
  // is one byte per character in V8), on top of the heap before any traffic.
  const budgetBytes = b.baseline + settings.maxSessions * settings.maxChars
  const chartOptions = {
    title: 'Retained heap (MB) over virtual days',
    xLabel: (x: number) => `day ${x.toFixed(x < 10 ? 1 : 0)}`,
    yLabel: (y: number) => `${y.toFixed(0)} MB`,
    reference: { y: budgetBytes / MB, label: `bounded budget (${settings.maxSessions} × ${settings.maxChars.toLocaleString('en-US')} chars)` },
  }
  console.log(`\n${terminalChart(series, { ...chartOptions, width: 64, height: 16, color })}\n`)

  const peak = (s: ChildState): number => Math.max(...s.samples.map(([, h]) => h))
  const final = (s: ChildState): number => s.samples[s.samples.length - 1]?.[1] ?? 0
  const rows: [string, string, string, string][] = [
    ['', 'unbounded', 'bounded', 'ratio'],
    ['heap before traffic', mb(u.baseline), mb(b.baseline), ''],
    ['peak heap', mb(peak(unbounded)), mb(peak(bounded)), `${(peak(unbounded) / peak(bounded)).toFixed(1)}×`],
    ['final heap', mb(final(unbounded)), mb(final(bounded)), `${(final(unbounded) / final(bounded)).toFixed(1)}×`],
    [
      'peak retained by sessions',
      mb(peak(unbounded) - u.baseline),
      mb(peak(bounded) - b.baseline),
      `${((peak(unbounded) - u.baseline) / Math.max(1, peak(bounded) - b.baseline)).toFixed(1)}×`,
    ],
    ['sessions held at the end', String(unbounded.summary.sessionsHeld), String(bounded.summary.sessionsHeld), ''],
    ['messages held at the end', String(unbounded.summary.messagesHeld), String(bounded.summary.messagesHeld), ''],
    ['model calls', String(unbounded.summary.stats.modelCalls), String(bounded.summary.stats.modelCalls), ''],
    ['observations parsed', String(unbounded.summary.stats.observations), String(bounded.summary.stats.observations), ''],
    ['prose replies (schema lost)', String(unbounded.summary.stats.proseReplies), String(bounded.summary.stats.proseReplies), ''],
    ['provider fallbacks', String(unbounded.summary.stats.fallbacks), String(bounded.summary.stats.fallbacks), ''],
    ['replay time', `${(unbounded.summary.wallMs / 1000).toFixed(1)} s`, `${(bounded.summary.wallMs / 1000).toFixed(1)} s`, ''],
  ]
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]?.length ?? 0)))
  for (const [i, row] of rows.entries()) {
    const text = row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('   ')
    console.log(`  ${i === 0 ? paint(1, text) : text}`)
  }
  const store = bounded.summary.store
  if (store !== undefined) {
    const left = Object.entries(store.removed)
      .filter(([, n]) => n > 0)
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ')
    console.log(
      `\n  bounded store: at most ${store.peakSize} sessions at once (limit ${settings.maxSessions}), ` +
        `peak ${mb(store.peakBytes)} as weighed; removed: ${left || 'none'}; ` +
        `sessions re-created after eviction: ${store.recreated}`,
    )
  }

  const svg = svgChart(series, {
    ...chartOptions,
    subtitle:
      `${config.days} day(s) × ${config.sessionsPerDay} sessions/day, seed ${config.seed}, ${u.events.toLocaleString('en-US')} events; ` +
      `peak ${mb(peak(unbounded))} vs ${mb(peak(bounded))}, final ${mb(final(unbounded))} vs ${mb(final(bounded))}`,
  })
  mkdirSync(dirname(outFile), { recursive: true })
  writeFileSync(outFile, svg)
  console.log(`\n  chart written to ${relative(process.cwd(), outFile) || outFile}`)
  console.log(`  done in ${(wall / 1000).toFixed(1)} s`)
  if (!same) process.exitCode = 1
}

// --- entry ---------------------------------------------------------------------------------

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`Expected \`--${name}\` to be a positive integer, got \`${value}\``)
  return n
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const { values } = parseArgs({
    args,
    options: {
      child: { type: 'string' },
      days: { type: 'string' },
      'sessions-per-day': { type: 'string' },
      seed: { type: 'string' },
      'ttl-minutes': { type: 'string' },
      'max-sessions': { type: 'string' },
      'max-history': { type: 'string' },
      'max-chars': { type: 'string' },
      'sample-minutes': { type: 'string' },
      out: { type: 'string' },
      'no-color': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help === true) {
    process.stdout.write(HELP)
    return
  }
  const settings: WorkerSettings = {}
  if (values['ttl-minutes'] !== undefined) settings.CLAUDE_MEM_SESSION_TTL_MINUTES = values['ttl-minutes']
  if (values['max-sessions'] !== undefined) settings.CLAUDE_MEM_MAX_ACTIVE_SESSIONS = values['max-sessions']
  if (values['max-history'] !== undefined) settings.CLAUDE_MEM_MAX_CONVERSATION_HISTORY = values['max-history']
  if (values['max-chars'] !== undefined) settings.CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS = values['max-chars']
  const config: DemoConfig = {
    days: positive('days', values.days, 3),
    sessionsPerDay: positive('sessions-per-day', values['sessions-per-day'], 150),
    seed: positive('seed', values.seed, 532),
    settings,
    sampleMinutes: values['sample-minutes'] === undefined ? undefined : positive('sample-minutes', values['sample-minutes'], 60),
  }
  if (values.child === 'unbounded' || values.child === 'bounded') {
    try {
      await runChild(values.child, config)
    } catch (error) {
      process.send?.({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) })
      process.exitCode = 1
    }
    return
  }
  const childArgs = args.filter((a) => a !== '--no-color')
  const outFile = resolve(values.out ?? resolve(ROOT, 'out/claude-mem-worker-demo.svg'))
  const color = values['no-color'] !== true && process.stdout.isTTY === true && process.env.NO_COLOR === undefined
  await runParent(config, childArgs, outFile, color)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
