/** Renders series over time as a terminal chart and as an SVG file of stacked panels. No dependencies. */

export interface Series {
  label: string
  /** [x, y] points, x ascending. */
  points: readonly (readonly [number, number])[]
  /** Terminal glyph. */
  glyph: string
  /** ANSI colour code, e.g. 31 for red. */
  ansi: number
  /** SVG stroke colour. */
  color: string
}

export interface ChartOptions {
  title: string
  xLabel: (x: number) => string
  yLabel: (y: number) => string
  /** A horizontal reference line, e.g. the configured budget. */
  reference?: { y: number; label: string }
}

function niceMax(value: number): number {
  if (value <= 0) return 1
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * magnitude >= value) return step * magnitude
  return 10 * magnitude
}

function valueAt(points: readonly (readonly [number, number])[], x: number): number | undefined {
  let best: number | undefined
  for (const [px, py] of points) {
    if (px > x) break
    best = py
  }
  return best
}

/** A chart of `height` rows by `width` columns, with a y axis on the left and an x axis below. */
export function terminalChart(series: readonly Series[], options: ChartOptions & { width?: number; height?: number; color?: boolean }): string {
  const width = options.width ?? 64
  const height = options.height ?? 16
  const color = options.color ?? false
  const xs = series.flatMap((s) => s.points.map((p) => p[0]))
  const x0 = Math.min(...xs)
  const x1 = Math.max(...xs)
  const yMax = niceMax(Math.max(...series.flatMap((s) => s.points.map((p) => p[1])), options.reference?.y ?? 0) * 1.05)
  const grid: string[][] = Array.from({ length: height }, () => Array.from({ length: width }, () => ' '))
  const rowOf = (y: number): number => Math.min(height - 1, Math.max(0, Math.round((1 - y / yMax) * (height - 1))))
  const paint = (row: number, col: number, glyph: string): void => {
    const line = grid[row] as string[]
    line[col] = glyph
  }
  if (options.reference !== undefined) {
    const row = rowOf(options.reference.y)
    for (let col = 0; col < width; col += 2) paint(row, col, color ? '\x1b[2m-\x1b[0m' : '-')
  }
  for (const s of series) {
    let previous: number | undefined
    for (let col = 0; col < width; col++) {
      const x = x0 + ((x1 - x0) * col) / (width - 1)
      const y = valueAt(s.points, x)
      if (y === undefined) continue
      const row = rowOf(y)
      const glyph = color ? `\x1b[${s.ansi}m${s.glyph}\x1b[0m` : s.glyph
      // Join a jump to the previous column with a vertical run, so the line reads as one.
      if (previous !== undefined && Math.abs(previous - row) > 1) {
        const step = previous < row ? 1 : -1
        for (let r = previous + step; r !== row; r += step) paint(r, col, color ? `\x1b[${s.ansi}m│\x1b[0m` : '│')
      }
      paint(row, col, glyph)
      previous = row
    }
  }
  const labelWidth = Math.max(options.yLabel(yMax).length, options.yLabel(0).length) + 1
  const out: string[] = [`  ${options.title}`, '']
  for (let row = 0; row < height; row++) {
    const y = yMax * (1 - row / (height - 1))
    const label = row % 3 === 0 || row === height - 1 ? options.yLabel(y) : ''
    out.push(`${label.padStart(labelWidth)} ┤${(grid[row] as string[]).join('')}`)
  }
  out.push(`${' '.repeat(labelWidth)} └${'─'.repeat(width)}`)
  const ticks = 4
  let axis = ' '.repeat(labelWidth + 2)
  for (let t = 0; t <= ticks; t++) {
    const col = Math.round(((width - 1) * t) / ticks)
    const label = options.xLabel(x0 + ((x1 - x0) * t) / ticks)
    const at = labelWidth + 2 + col - (t === ticks ? label.length - 1 : 0)
    if (at >= axis.length) axis = axis.padEnd(at) + label
  }
  out.push(axis)
  const legend = series.map((s) => `${color ? `\x1b[${s.ansi}m${s.glyph}\x1b[0m` : s.glyph} ${s.label}`)
  if (options.reference !== undefined) legend.push(`- ${options.reference.label}`)
  out.push('', `  ${legend.join('    ')}`)
  return out.join('\n')
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** One panel of an SVG figure: a chart with its own y axis, and a verdict under it. */
export interface Panel extends ChartOptions {
  series: readonly Series[]
  /** One line under the panel: what the reader should take from it. */
  verdict: string
}

// Lines of at most `width` characters, broken between words (an SVG text does not wrap).
function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  if (line !== '') lines.push(line)
  return lines
}

const W = 960
const PANEL_H = 360
const LEFT = 80
const RIGHT = 24

function svgPanel(panel: Panel, top: number, x0: number, x1: number): string[] {
  const plotTop = top + 28
  const plotW = W - LEFT - RIGHT
  const plotH = PANEL_H - 28 - 96
  const yMax = niceMax(Math.max(...panel.series.flatMap((s) => s.points.map((p) => p[1])), panel.reference?.y ?? 0) * 1.05)
  const px = (x: number): number => LEFT + (x1 === x0 ? 0 : ((x - x0) / (x1 - x0)) * plotW)
  const py = (y: number): number => plotTop + plotH - (y / yMax) * plotH
  const parts: string[] = [`<text x="${LEFT}" y="${top + 16}" font-size="15" font-weight="600">${escapeXml(panel.title)}</text>`]
  for (let t = 0; t <= 5; t++) {
    const y = (yMax * t) / 5
    parts.push(
      `<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${LEFT - 8}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end" fill="#333">${escapeXml(panel.yLabel(y))}</text>`,
    )
  }
  for (let t = 0; t <= 6; t++) {
    const x = x0 + ((x1 - x0) * t) / 6
    parts.push(
      `<line x1="${px(x).toFixed(1)}" x2="${px(x).toFixed(1)}" y1="${plotTop}" y2="${plotTop + plotH}" stroke="#f0f0f0"/>`,
      `<text x="${px(x).toFixed(1)}" y="${plotTop + plotH + 18}" text-anchor="middle" fill="#333">${escapeXml(panel.xLabel(x))}</text>`,
    )
  }
  parts.push(`<rect x="${LEFT}" y="${plotTop}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`)
  if (panel.reference !== undefined) {
    const y = py(panel.reference.y).toFixed(1)
    parts.push(
      `<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y}" y2="${y}" stroke="#888" stroke-dasharray="6 4"/>`,
      `<text x="${LEFT + plotW - 6}" y="${(Number(y) - 6).toFixed(1)}" text-anchor="end" fill="#666">${escapeXml(panel.reference.label)}</text>`,
    )
  }
  for (const s of panel.series) {
    const d = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')
    parts.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2.5" stroke-linejoin="round"/>`)
  }
  let legendX = LEFT
  const legendY = plotTop + plotH + 42
  for (const s of panel.series) {
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${s.color}" stroke-width="3"/>`,
      `<text x="${legendX + 30}" y="${legendY}">${escapeXml(s.label)}</text>`,
    )
    legendX += 40 + s.label.length * 7.2
  }
  for (const [i, line] of wrap(panel.verdict, 125).entries()) {
    parts.push(`<text x="${LEFT}" y="${legendY + 24 + 18 * i}" font-style="italic" fill="#222">${escapeXml(line)}</text>`)
  }
  return parts
}

/** The panels stacked in one standalone SVG document, on a shared x axis. */
export function svgChart(panels: readonly Panel[], options: { title: string; subtitle?: string }): string {
  const head = 64
  const H = head + panels.length * PANEL_H
  const xs = panels.flatMap((p) => p.series.flatMap((s) => s.points.map((pt) => pt[0])))
  const x0 = Math.min(...xs)
  const x1 = Math.max(...xs)
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="28" font-size="18" font-weight="600">${escapeXml(options.title)}</text>`,
  ]
  if (options.subtitle !== undefined) parts.push(`<text x="${LEFT}" y="48" fill="#555">${escapeXml(options.subtitle)}</text>`)
  for (const [i, panel] of panels.entries()) parts.push(...svgPanel(panel, head + i * PANEL_H, x0, x1))
  parts.push('</svg>\n')
  return parts.join('\n')
}
