/**
 * `npm run demo`: replays days of claude-mem worker traffic, in compressed virtual time, through
 * three designs of the worker's session layer, and charts what each holds in memory and what its
 * model calls would bill with prompt caching:
 * 1. v8.5.7: a Map of sessions and plain arrays, never removed (the leak of issue #532), an SDK
 *    session resumed across generator runs;
 * 2. v13 as it ships after v13.15.3: sessions leave the Map when their generator exits, except
 *    paused ones (v13.15.3); the history is recycled as a whole generation at the character budget,
 *    with a fresh SDK query (the later 13.x releases);
 * 3. the port to bounded-session (examples/claude-mem-worker/session-manager.ts): the Claude path
 *    retires generations before an observation that would not fit, the stateless paths trim.
 * What is billed is what each provider was sent: the SDK's own conversation on the Claude path,
 * the whole history on the Gemini and OpenRouter paths, under every price table of prompt-cache.ts.
 *
 * Honesty: each design runs in its own child process (so one's garbage never weighs on another's
 * numbers), the children generate the same event stream from the same seed and print its
 * fingerprint, and the heap is sampled with `process.memoryUsage().heapUsed` right after a full
 * `gc()`. The children import the package by name and run against the build in dist/. The cost
 * model (prompt-cache.ts) is the one `npm run bench` uses.
 */
import { fork } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type Panel, type Series, svgChart, terminalChart } from './chart.js'
import { cacheShare, meanContextTokens, PRICE_TABLES, type PromptCacheTotals } from './prompt-cache.js'
import type { Design } from './replay.js'
import { resolveSessionSettings, type SessionLayerSettings, type WorkerSettings } from './settings.js'
import type { Logger } from './types.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '../..')
const HOUR = 3_600_000
const DAY = 24 * HOUR
const MB = 1024 * 1024
const DESIGNS: readonly Design[] = ['unbounded', 'today', 'bounded']

const HELP = `Usage: npm run demo -- [options]

Replays days of claude-mem worker traffic through three designs of its session layer (v8.5.7:
Map + arrays; v13 as it ships: sessions leave on generator exit, histories recycled in
generations; the port to bounded-session) and charts the retained heap and the input tokens a
provider with prompt caching would bill.

Traffic
  --days <n>               days of sessions arriving (default 3)
  --sessions-per-day <n>   new Claude Code sessions per day (default 150)
  --seed <n>               seed of the event stream (default 532)
Settings (the worker's, passed as strings like settings.json)
  --max-chars <n>          CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS (default 400000)
  --context-window <n>     CLAUDE_MEM_OBSERVER_CONTEXT_WINDOW, tokens (default: the model's, 200000)
  --ttl-minutes <n>        CLAUDE_MEM_SESSION_TTL_MINUTES, new in the port (default 60)
  --max-sessions <n>       CLAUDE_MEM_MAX_ACTIVE_SESSIONS, new in the port (default 100)
  --trim-to <x>            the port's RingBufferHistory trimTo, 0 to 1 (default 0.5)
Output
  --sample-minutes <n>     virtual minutes between samples (default: about 60 samples)
  --out <file>             SVG file (default out/claude-mem-worker-demo.svg)
  --no-color               plain terminal output
  -h, --help               this text
`

interface DemoConfig {
  days: number
  sessionsPerDay: number
  seed: number
  settings: WorkerSettings
  trimTo: number | undefined
  sampleMinutes: number | undefined
}

interface Sample {
  virtualTime: number
  heapUsed: number
  /** Cumulative billed input, in base-price tokens. */
  cost: number
  sessions: number
}

type ChildMessage =
  | { type: 'start'; events: number; outages: number; fingerprint: string; endAt: number; baseline: number; resolved: string }
  | { type: 'progress'; fraction: number; virtualTime: number }
  | { type: 'sample'; sample: Sample }
  | { type: 'done'; summary: ChildSummary }
  | { type: 'failed'; error: string }

interface ChildSummary {
  wallMs: number
  stats: Record<string, number>
  /** Under the first price table (Anthropic 5 min). */
  totals: PromptCacheTotals
  /** Under every price table, in the order of PRICE_TABLES. */
  tables: PromptCacheTotals[]
  sessionsHeld: number
  messagesHeld: number
  sessionsCreated: number
  distinctSessions: number
}

// --- child: one design ---------------------------------------------------------------------

async function runChild(design: Design, config: DemoConfig): Promise<void> {
  const send = (message: ChildMessage): void => {
    process.send?.(message)
  }
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  const { createStack, outagesOf, replay } = await import('./replay.js')
  const { fingerprint, generateTraffic } = await import('./traffic.js')
  const logger: Logger = {
    debug() {},
    info() {},
    // Fallbacks, pauses and truncations are expected and counted in the stats.
    warn() {},
    error: (component, message, context) => console.error(`[${design}] ${component} ${message}`, context ?? ''),
  }
  const settings: SessionLayerSettings = resolveSessionSettings(config.settings, { ...logger, warn() {} })
  const events = generateTraffic({ seed: config.seed, days: config.days, sessionsPerDay: config.sessionsPerDay })
  const last = events[events.length - 1]?.at ?? 0
  // Run on past the last event long enough for idle sessions to time out.
  const endAt = Math.ceil((last + settings.idleTtlMs + 2 * HOUR) / HOUR) * HOUR
  const sampleEveryMs = (config.sampleMinutes ?? Math.max(30, Math.round(endAt / 60 / 60_000))) * 60_000
  const outages = outagesOf(events)
  const stack = createStack(design, { settings, logger, ...(config.trimTo === undefined ? {} : { trimTo: config.trimTo }) }, outages)
  gc()
  const baseline = process.memoryUsage().heapUsed
  send({
    type: 'start',
    events: events.length,
    outages: outages.length,
    fingerprint: fingerprint(events),
    endAt,
    baseline,
    resolved: relative(ROOT, fileURLToPath(import.meta.resolve('bounded-session'))),
  })
  const sample = (virtualTime: number): Sample => ({
    virtualTime,
    heapUsed: process.memoryUsage().heapUsed,
    cost: stack.meter.totals().cost,
    sessions: stack.layer.getActiveSessionCount(),
  })
  send({ type: 'sample', sample: sample(0) })
  const started = performance.now()
  const every = Math.max(1, Math.floor(events.length / 200))
  await replay(stack, events, endAt, {
    sampleEveryMs,
    onSample(virtualTime) {
      gc()
      send({ type: 'sample', sample: sample(virtualTime) })
    },
    onEvent(index, event) {
      if (index % every === 0) send({ type: 'progress', fraction: index / events.length, virtualTime: event.at })
    },
  })
  let messagesHeld = 0
  for (const session of stack.layer.heldSessions()) messagesHeld += session.conversationHistory.length
  send({
    type: 'done',
    summary: {
      wallMs: performance.now() - started,
      stats: { ...stack.worker.stats },
      totals: stack.meter.totals(),
      tables: stack.meter.meters.map((meter) => meter.totals()),
      sessionsHeld: stack.layer.getActiveSessionCount(),
      messagesHeld,
      sessionsCreated: stack.layer.side.opened,
      distinctSessions: stack.db.sessionCount,
    },
  })
}

// --- parent: run all three, draw -----------------------------------------------------------

interface ChildState {
  design: Design
  fraction: number
  virtualTime: number
  start?: Extract<ChildMessage, { type: 'start' }>
  samples: Sample[]
  summary?: ChildSummary
}

interface Look {
  short: string
  label: string
  glyph: string
  ansi: number
  color: string
}

const LOOK: Record<Design, Look> = {
  unbounded: { short: 'v8.5.7', label: 'v8.5.7 (Map + arrays)', glyph: '▲', ansi: 31, color: '#d62728' },
  today: { short: 'v13', label: 'v13 after 13.15.3 (generations)', glyph: '■', ansi: 33, color: '#ff7f0e' },
  bounded: { short: 'bounded', label: 'bounded-session port', glyph: '●', ansi: 32, color: '#2ca02c' },
}

function spawnChild(design: Design, argv: string[], state: ChildState, onUpdate: () => void): Promise<void> {
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
          state.samples.push(message.sample)
          state.virtualTime = Math.max(state.virtualTime, message.sample.virtualTime)
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
const mtok = (tokens: number): string => `${(tokens / 1e6).toFixed(1)} M`
const ktok = (tokens: number): string => `${(tokens / 1000).toFixed(1)} k`
const pct = (share: number): string => `${(share * 100).toFixed(1)}%`
const times = (ratio: number): string => `${ratio.toFixed(2)}×`
const count = (n: number): string => n.toLocaleString('en-US')

interface Done {
  state: ChildState
  start: Extract<ChildMessage, { type: 'start' }>
  summary: ChildSummary
}

function done(state: ChildState): Done {
  if (state.start === undefined || state.summary === undefined) throw new Error(`the ${state.design} run ended without reporting`)
  return { state, start: state.start, summary: state.summary }
}

const peakHeap = (d: Done): number => Math.max(...d.state.samples.map((s) => s.heapUsed))
const finalHeap = (d: Done): number => d.state.samples[d.state.samples.length - 1]?.heapUsed ?? 0

async function runParent(config: DemoConfig, argv: string[], outFile: string, color: boolean): Promise<void> {
  if (!existsSync(resolve(ROOT, 'dist/index.js'))) {
    console.error('dist/ is missing: run `npm run build` first (npm run demo does it for you).')
    process.exitCode = 1
    return
  }
  const paint = (code: number, text: string): string => (color ? `\x1b[${code}m${text}\x1b[0m` : text)
  console.log(paint(1, 'bounded-session × claude-mem worker: v8.5.7, v13 as it ships, and the port, on the same traffic'))
  const settings = resolveSessionSettings(config.settings, {
    debug() {},
    info() {},
    warn: (_component, message, context) => console.warn(`  warning: ${message}`, context ?? ''),
    error: (_component, message, context) => console.error(`  error: ${message}`, context ?? ''),
  })
  console.log(
    `  ${config.days} day(s), ${config.sessionsPerDay} sessions/day, seed ${config.seed}; history budget ` +
      `${settings.budgetChars.toLocaleString('en-US')} chars (v13 recycles above it, the port trims to ` +
      `${config.trimTo ?? 0.5} of it); port: TTL ${settings.idleTtlMs / 60_000} min, at most ${settings.maxSessions} sessions`,
  )
  console.log(
    '  each design runs in its own process on the same event stream; heap = heapUsed after gc(); input billed with\n' +
      '  prompt caching, in base-price tokens, of what each provider was sent (the SDK\'s own conversation on the\n' +
      '  Claude path); the chart: Anthropic 5 min (read 0.1×, write 1.25×); the table: every price table\n',
  )

  const states: ChildState[] = DESIGNS.map((design) => ({ design, fraction: 0, virtualTime: 0, samples: [] }))
  const tty = process.stdout.isTTY === true
  let lastLine = -1
  const render = (): void => {
    const line = states.map((s) => `${LOOK[s.design].short.padEnd(7)} ${bar(s.fraction, 12)} day ${(s.virtualTime / DAY).toFixed(1)}`).join('  ')
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

  const [v8, v13, port] = states.map(done) as [Done, Done, Done]
  const all = [v8, v13, port]
  const same = all.every((d) => d.start.fingerprint === v8.start.fingerprint && d.start.events === v8.start.events)
  console.log(
    `\n  event stream: ${count(v8.start.events)} events (${v8.start.outages} quota outages), fingerprints ` +
      `${all.map((d) => d.start.fingerprint).join(' / ')} ${same ? paint(32, '✓ identical') : paint(31, '✗ DIFFERENT')}`,
  )
  console.log(`  bounded-session loaded from: ${port.start.resolved}`)

  const seriesOf = (y: (s: Sample, d: Done) => number): Series[] =>
    all.map((d) => ({ ...LOOK[d.state.design], points: d.state.samples.map((s) => [s.virtualTime / DAY, y(s, d)] as const) }))
  const xLabel = (x: number): string => `day ${x.toFixed(x < 10 ? 1 : 0)}`
  // What the port may hold at most: every session at its character budget (ASCII text is one byte
  // per character in V8), on top of the heap before any traffic.
  const budgetBytes = port.start.baseline + settings.maxSessions * settings.budgetChars
  const ratio = (a: number, b: number): number => a / Math.max(1, b)
  const held = (d: Done): string => (finalHeap(d) >= 0.9 * peakHeap(d) ? ', all of it still held at the end' : '')
  const memoryVerdict =
    `Peak heap: v8.5.7 ${mb(peakHeap(v8))}${held(v8)}; v13 ${mb(peakHeap(v13))}${held(v13)}; the port ` +
    `${mb(peakHeap(port))}${held(port)}, within its bound (${settings.maxSessions} sessions × ${settings.budgetChars.toLocaleString('en-US')} chars).`
  const t8 = v8.summary.totals
  const t13 = v13.summary.totals
  const tp = port.summary.totals
  const costVerdict =
    `Billed input: the port ${times(ratio(tp.cost, t13.cost))} v13's, for ${times(ratio(meanContextTokens(tp), meanContextTokens(t13)))} ` +
    `its mean context, losing it ${count(tp.contextLost)} times instead of ${count(t13.contextLost)}; v8.5.7 ${times(ratio(t8.cost, t13.cost))}.`
  const panels: Panel[] = [
    {
      title: 'Retained heap (MB)',
      series: seriesOf((s) => s.heapUsed / MB),
      xLabel,
      yLabel: (y) => `${y.toFixed(0)} MB`,
      reference: { y: budgetBytes / MB, label: `port's bound (${settings.maxSessions} × ${settings.budgetChars.toLocaleString('en-US')} chars)` },
      verdict: memoryVerdict,
    },
    {
      title: 'Cumulative input billed with prompt caching (M base-price tokens)',
      series: seriesOf((s) => s.cost / 1e6),
      xLabel,
      yLabel: (y) => `${y.toFixed(0)} M`,
      verdict: costVerdict,
    },
  ]
  for (const panel of panels) {
    console.log(`\n${terminalChart(panel.series, { ...panel, width: 64, height: 12, color })}`)
    console.log(`  ${paint(1, panel.verdict)}`)
  }

  const rows: string[][] = [
    ['', LOOK.unbounded.short, LOOK.today.short, LOOK.bounded.short, 'port ÷ v13'],
    ['peak heap', ...all.map((d) => mb(peakHeap(d))), times(ratio(peakHeap(port), peakHeap(v13)))],
    ['final heap', ...all.map((d) => mb(finalHeap(d))), ''],
    ['most sessions held at once', ...all.map((d) => count(Math.max(...d.state.samples.map((s) => s.sessions)))), ''],
    ['sessions held at the end', ...all.map((d) => count(d.summary.sessionsHeld)), ''],
    ['sessions created (incl. re-created)', ...all.map((d) => count(d.summary.sessionsCreated)), ''],
    ...PRICE_TABLES.map((table, i) => {
      const cost = (d: Done): number => d.summary.tables[i]?.cost ?? 0
      return [`billed input, ${table.name}`, ...all.map((d) => mtok(cost(d))), times(ratio(cost(port), cost(v13)))]
    }),
    ['input billed without caching', ...all.map((d) => mtok(d.summary.totals.uncachedCost)), times(ratio(tp.uncachedCost, t13.uncachedCost))],
    ['share served from cache', ...all.map((d) => pct(cacheShare(d.summary.totals))), ''],
    ['mean context per call (tokens)', ...all.map((d) => ktok(meanContextTokens(d.summary.totals))), times(ratio(meanContextTokens(tp), meanContextTokens(t13)))],
    ['largest prompt sent (tokens)', ...all.map((d) => ktok(Math.ceil(d.summary.totals.peakContextChars / 4))), ''],
    ['calls that lost the context', ...all.map((d) => count(d.summary.totals.contextLost)), ''],
    ['  of them generations retired', ...all.map((d) => count(d.summary.stats.recycles ?? 0)), ''],
    ['pauses (quota, overflow)', ...all.map((d) => count(d.summary.stats.pauses ?? 0)), ''],
    ['model calls answered', ...all.map((d) => count(d.summary.totals.calls)), ''],
    ['observations parsed', ...all.map((d) => count(d.summary.stats.observations ?? 0)), ''],
    ['prose replies (schema lost)', ...all.map((d) => count(d.summary.stats.proseReplies ?? 0)), ''],
    ['replay time', ...all.map((d) => `${(d.summary.wallMs / 1000).toFixed(1)} s`), ''],
  ]
  console.log('')
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => r[c]?.length ?? 0))) ?? []
  for (const [i, row] of rows.entries()) {
    const text = row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('   ')
    console.log(`  ${i === 0 ? paint(1, text) : text}`)
  }

  // One line per design: the largest prompt any provider was sent, against the worker's budget.
  const budgetTokens = Math.floor(settings.budgetChars / 4)
  console.log('')
  for (const d of all) {
    // Both at the worker's 4 characters a token, for the prompt as a whole.
    const peakChars = d.summary.totals.peakContextChars
    const over = peakChars > settings.budgetChars ? paint(31, ' over the budget') : ''
    console.log(`  ${LOOK[d.state.design].label.padEnd(34)} largest prompt sent: ${count(Math.ceil(peakChars / 4))} tokens (budget ${count(budgetTokens)})${over}`)
  }

  const svg = svgChart(panels, {
    title: 'claude-mem worker: v8.5.7, v13 as it ships, and the bounded-session port',
    subtitle:
      `${config.days} day(s) × ${config.sessionsPerDay} sessions/day, seed ${config.seed}, ${count(v8.start.events)} events, ` +
      `${v8.start.outages} quota outages; what each provider was sent, Anthropic 5 min (read 0.1×, write 1.25×)`,
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

function fraction(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new Error(`Expected \`--${name}\` to be a number from 0 to 1, got \`${value}\``)
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
      'max-chars': { type: 'string' },
      'context-window': { type: 'string' },
      'ttl-minutes': { type: 'string' },
      'max-sessions': { type: 'string' },
      'trim-to': { type: 'string' },
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
  if (values['max-chars'] !== undefined) settings.CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS = values['max-chars']
  if (values['context-window'] !== undefined) settings.CLAUDE_MEM_OBSERVER_CONTEXT_WINDOW = values['context-window']
  if (values['ttl-minutes'] !== undefined) settings.CLAUDE_MEM_SESSION_TTL_MINUTES = values['ttl-minutes']
  if (values['max-sessions'] !== undefined) settings.CLAUDE_MEM_MAX_ACTIVE_SESSIONS = values['max-sessions']
  const config: DemoConfig = {
    days: positive('days', values.days, 3),
    sessionsPerDay: positive('sessions-per-day', values['sessions-per-day'], 150),
    seed: positive('seed', values.seed, 532),
    settings,
    trimTo: fraction('trim-to', values['trim-to']),
    sampleMinutes: values['sample-minutes'] === undefined ? undefined : positive('sample-minutes', values['sample-minutes'], 60),
  }
  const child = values.child
  if (child !== undefined) {
    try {
      if (!(DESIGNS as readonly string[]).includes(child)) throw new Error(`unknown design ${child}`)
      await runChild(child as Design, config)
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
