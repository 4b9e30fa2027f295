/**
 * A progress bar on stderr for long phases. On a terminal it redraws one line; otherwise (CI logs, the
 * smoke test) it prints a line every 10 %.
 */
export class ProgressBar {
  readonly #label: string
  readonly #total: number
  readonly #unit: string
  readonly #stream: NodeJS.WriteStream
  readonly #started = performance.now()
  #done = 0
  #lastDecile = -1

  constructor(label: string, total: number, unit: string, stream: NodeJS.WriteStream = process.stderr) {
    this.#label = label
    this.#total = Math.max(1, total)
    this.#unit = unit
    this.#stream = stream
    this.#draw()
  }

  tick(amount: number): void {
    this.#done = Math.min(this.#total, this.#done + amount)
    this.#draw()
  }

  finish(): void {
    this.#done = this.#total
    this.#draw()
    if (this.#stream.isTTY) this.#stream.write('\n')
  }

  #draw(): void {
    const fraction = this.#done / this.#total
    const seconds = (performance.now() - this.#started) / 1000
    const text = `${this.#label} ${formatCount(this.#done)}/${formatCount(this.#total)} ${this.#unit} ${seconds.toFixed(0)}s`
    if (this.#stream.isTTY) {
      const width = 30
      const filled = Math.round(fraction * width)
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`
      this.#stream.write(`\r${bar} ${text}\u001b[K`)
      return
    }
    const decile = Math.floor(fraction * 10)
    if (decile !== this.#lastDecile) {
      this.#lastDecile = decile
      this.#stream.write(`${(fraction * 100).toFixed(0).padStart(3)}% ${text}\n`)
    }
  }
}

export function formatCount(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(value % 1e6 === 0 ? 0 : 2)}M`
  if (value >= 1e4) return `${(value / 1e3).toFixed(0)}k`
  return String(value)
}
