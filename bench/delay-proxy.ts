import { connect, createServer, type Server, type Socket } from 'node:net'

export interface DelayProxy {
  readonly port: number
  /** `url` with host and port replaced by the proxy's. */
  rewrite(url: string): string
  close(): Promise<void>
}

/**
 * Forwards bytes from one socket to another, each chunk no earlier than `delayMs` after it arrived,
 * in order. The last sub-millisecond is waited with setImmediate, so the delay is accurate to well
 * under a millisecond (timers alone round to whole milliseconds).
 */
class DelayedPipe {
  readonly #to: Socket
  readonly #delayMs: number
  readonly #queue: { due: number; chunk: Buffer }[] = []
  #scheduled = false
  #ended = false

  constructor(from: Socket, to: Socket, delayMs: number) {
    this.#to = to
    this.#delayMs = delayMs
    from.on('data', (chunk: Buffer) => {
      this.#queue.push({ due: performance.now() + this.#delayMs, chunk })
      this.#schedule()
    })
    from.on('end', () => {
      this.#ended = true
      this.#schedule()
    })
  }

  #schedule(): void {
    if (this.#scheduled) return
    const next = this.#queue[0]
    if (!next) {
      if (this.#ended) this.#to.end()
      return
    }
    this.#scheduled = true
    const wait = next.due - performance.now()
    const fire = () => {
      this.#scheduled = false
      this.#flush()
    }
    if (wait >= 1) setTimeout(fire, Math.floor(wait))
    else setImmediate(fire)
  }

  #flush(): void {
    const now = performance.now()
    while (this.#queue.length > 0 && this.#queue[0]!.due <= now) {
      if (!this.#to.destroyed) this.#to.write(this.#queue.shift()!.chunk)
      else this.#queue.shift()
    }
    this.#schedule()
  }
}

/**
 * A TCP proxy on 127.0.0.1 that adds `delayMs` in each direction: a stand-in for a database one network
 * hop away (the kernel here has no netem). Between the app and PostgreSQL, every protocol round trip
 * then costs 2 × delayMs more.
 */
export async function startDelayProxy(options: {
  targetHost: string
  targetPort: number
  delayMs: number
}): Promise<DelayProxy> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect({ host: options.targetHost, port: options.targetPort })
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true)
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
    }
    client.once('error', () => upstream.destroy())
    upstream.once('error', () => client.destroy())
    client.once('close', () => upstream.destroy())
    upstream.once('close', () => client.destroy())
    new DelayedPipe(client, upstream, options.delayMs)
    new DelayedPipe(upstream, client, options.delayMs)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    port,
    rewrite(url) {
      const parsed = new URL(url)
      parsed.hostname = '127.0.0.1'
      parsed.port = String(port)
      return parsed.toString()
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
