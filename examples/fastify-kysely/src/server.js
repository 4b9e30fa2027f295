import pg from 'pg'
import { createApp } from './app.js'

const pool = new pg.Pool({ connectionString: process.env.APP_DATABASE_URL })
const app = await createApp(pool)
const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
console.log(`listening on ${address}`)
const stop = () => app.close().then(() => pool.end())
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
