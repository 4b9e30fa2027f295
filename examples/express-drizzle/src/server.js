import pg from 'pg'
import { createApp } from './app.js'

const pool = new pg.Pool({ connectionString: process.env.APP_DATABASE_URL })
const port = Number(process.env.PORT ?? 3000)
const server = createApp(pool).listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})
const stop = () => server.close(() => void pool.end())
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
