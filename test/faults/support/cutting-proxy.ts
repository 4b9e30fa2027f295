import { connect, createServer, type Server, type Socket } from 'node:net'

/** node-postgres' Terminate message: the only thing a client may send after its connection was poisoned. */
const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4])
/** A backend message type that does not exist (0x01, length 4): a protocol error for the client. */
const GARBAGE = Buffer.from([0x01, 0, 0, 0, 4])

interface Pair {
  readonly client: Socket
  readonly upstream: Socket
  /** Set when the next server reply is to be replaced by garbage. */
  corruptNext: boolean
  poisoned: boolean
}

export interface CuttingProxyStats {
  connections: number
  cuts: number
  corruptions: number
  /** Bytes other than Terminate that a client sent on a connection after it saw garbage: a reuse. */
  reusedAfterFault: number
}

/**
 * A TCP proxy on loopback between the app and PostgreSQL that injects connection faults on demand:
 * `cut()` destroys a random live connection on both sides (mid-query or mid-transaction, whatever it was
 * doing), `corrupt()` replaces the next reply on a random connection with a malformed message and drops
 * its server side while keeping the client's socket open, then watches that the client never uses the
 * connection again.
 */
export class CuttingProxy {
  readonly stats: CuttingProxyStats = { connections: 0, cuts: 0, corruptions: 0, reusedAfterFault: 0 }
  readonly #pairs = new Set<Pair>()
  readonly #server: Server
  #port = 0

  private constructor(target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      const upstream = connect(target)
      const pair: Pair = { client, upstream, corruptNext: false, poisoned: false }
      this.#pairs.add(pair)
      this.stats.connections += 1
      for (const socket of [client, upstream]) socket.setNoDelay(true)
      client.on('data', (chunk: Buffer) => {
        if (pair.poisoned) {
          if (!chunk.equals(TERMINATE)) this.stats.reusedAfterFault += 1
          return
        }
        upstream.write(chunk)
      })
      upstream.on('data', (chunk: Buffer) => {
        if (pair.poisoned) return
        if (pair.corruptNext) {
          pair.corruptNext = false
          pair.poisoned = true
          this.stats.corruptions += 1
          client.write(GARBAGE)
          upstream.destroy()
          // The client should destroy the connection; close it anyway after a while.
          setTimeout(() => client.destroy(), 3000).unref()
          return
        }
        client.write(chunk)
      })
      const close = () => {
        this.#pairs.delete(pair)
        if (!pair.poisoned) client.destroy()
        upstream.destroy()
      }
      client.on('error', close)
      upstream.on('error', () => (pair.poisoned ? undefined : close()))
      client.on('close', close)
      upstream.on('close', () => (pair.poisoned ? undefined : close()))
    })
  }

  static async start(target: { host: string; port: number }): Promise<CuttingProxy> {
    const proxy = new CuttingProxy(target)
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject)
      proxy.#server.listen(0, '127.0.0.1', resolve)
    })
    const address = proxy.#server.address()
    proxy.#port = typeof address === 'object' && address ? address.port : 0
    return proxy
  }

  get port(): number {
    return this.#port
  }

  /** `url` with host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const parsed = new URL(url)
    parsed.hostname = '127.0.0.1'
    parsed.port = String(this.#port)
    return parsed.toString()
  }

  #pick(): Pair | undefined {
    const live = [...this.#pairs].filter((pair) => !pair.poisoned && !pair.corruptNext)
    return live[Math.floor(Math.random() * live.length)]
  }

  /** Destroys one live connection on both sides. */
  cut(): boolean {
    const pair = this.#pick()
    if (!pair) return false
    this.stats.cuts += 1
    pair.client.destroy()
    pair.upstream.destroy()
    return true
  }

  /** Marks one live connection: its next reply becomes a protocol error. */
  corrupt(): boolean {
    const pair = this.#pick()
    if (!pair) return false
    pair.corruptNext = true
    return true
  }

  close(): Promise<void> {
    for (const pair of this.#pairs) {
      pair.client.destroy()
      pair.upstream.destroy()
    }
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}
