import { serve } from '@hono/node-server'
import pg from 'pg'
import { createApp } from './app.js'

const pool = new pg.Pool({ connectionString: process.env.APP_DATABASE_URL })
const server = serve(
  { fetch: createApp(pool).fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' },
  (info) => console.log(`listening on http://127.0.0.1:${info.port}`),
)
const stop = () => server.close(() => void pool.end())
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
