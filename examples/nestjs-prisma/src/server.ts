import 'reflect-metadata'
import { NestFactory } from '@nestjs/core'
import type { NestExpressApplication } from '@nestjs/platform-express'
import express from 'express'
import pg from 'pg'
import { jwtResolver, RowfenceExceptionFilter, tenantMiddleware } from '@rowfence/nestjs'
import { AppModule } from './app.module.js'
import { audience, issuer, jwtSecret } from './config.js'

const pool = new pg.Pool({ connectionString: process.env.APP_DATABASE_URL })
const app = await NestFactory.create<NestExpressApplication>(AppModule.forPool(pool), { bodyParser: false })
// The body parser first, then the tenant transaction: the handler runs inside it.
app.use(express.json())
app.use(
  tenantMiddleware({
    database: pool,
    resolve: jwtResolver({ secret: jwtSecret, algorithms: ['HS256'], audience, issuer }),
  }),
)
app.useGlobalFilters(new RowfenceExceptionFilter())
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1')
console.log(`listening on ${(await app.getUrl()).replace('[::1]', '127.0.0.1')}`)
const stop = () => void app.close().then(() => pool.end())
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
