import { once } from 'node:events'
import { connect, createServer, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDelayProxy, type DelayProxy } from '../delay-proxy.ts'

const echo = createServer((socket) => socket.pipe(socket))
let proxy: DelayProxy
beforeAll(async () => {
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
  proxy = await startDelayProxy({
    targetHost: '127.0.0.1',
    targetPort: (echo.address() as AddressInfo).port,
    delayMs: 10,
  })
})
afterAll(async () => {
  await proxy.close()
  echo.close()
})

describe('the delay proxy', () => {
  it('forwards every byte in order, and not before the delay in each direction', async () => {
    const socket = connect({ host: '127.0.0.1', port: proxy.port })
    await once(socket, 'connect')
    const received: Buffer[] = []
    socket.on('data', (chunk: Buffer) => received.push(chunk))
    const payload = Buffer.from(Array.from({ length: 50_000 }, (_, i) => i % 251))
    const started = performance.now()
    for (let offset = 0; offset < payload.length; offset += 1000)
      socket.write(payload.subarray(offset, offset + 1000))
    while (Buffer.concat(received).length < payload.length) await once(socket, 'data')
    const elapsed = performance.now() - started
    socket.destroy()
    expect(Buffer.concat(received).equals(payload)).toBe(true)
    expect(elapsed).toBeGreaterThanOrEqual(20) // a lower bound: the proxy delays, it never hurries
  })

  it('rewrites a connection string to go through it', () => {
    expect(proxy.rewrite('postgres://app:secret@db.example:5432/rowfence')).toBe(
      `postgres://app:secret@127.0.0.1:${proxy.port}/rowfence`,
    )
  })
})
