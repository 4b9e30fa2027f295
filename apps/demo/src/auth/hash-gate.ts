import { DemoError } from '../errors.ts'

/**
 * Caps how many password checks run at once in this process (each scrypt hash takes ~32 MiB and a
 * thread-pool slot) and how many may wait; an attempt beyond both is refused at once (503 + Retry-After).
 */
export class HashGate {
  readonly #maxRunning: number
  readonly #maxWaiting: number
  #running = 0
  readonly #waiting: (() => void)[] = []

  constructor(maxRunning: number, maxWaiting: number) {
    this.#maxRunning = maxRunning
    this.#maxWaiting = maxWaiting
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#maxRunning) {
      if (this.#waiting.length >= this.#maxWaiting) {
        throw new DemoError('ROWFENCE_SERVER_BUSY', { details: { retryAfterSeconds: 1 } })
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    } else {
      this.#running += 1
    }
    try {
      return await task()
    } finally {
      const next = this.#waiting.shift()
      if (next) next()
      else this.#running -= 1
    }
  }
}
