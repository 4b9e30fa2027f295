import 'reflect-metadata'
import type { AddressInfo } from 'node:net'
import { Body, Controller, Get, Module, Post, Res } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import type { NestExpressApplication } from '@nestjs/platform-express'
import express from 'express'
import { RowfenceExceptionFilter, tenantMiddleware } from '@rowfence/nestjs'
import { describeMiddlewareContract, type ContractRoute } from '../../../test/support/middleware-contract.ts'
import { listenAndFetch } from '../../../test/support/http-client.ts'

/** A controller with one method per contract route, decorated by calling Nest's decorators directly. */
function contractController(routes: readonly ContractRoute[]): new () => object {
  class ContractController {}
  const prototype = ContractController.prototype as unknown as Record<string, unknown>
  routes.forEach((route, index) => {
    const key = `route${index}`
    prototype[key] = async (
      body: Record<string, unknown> | undefined,
      res: { status(code: number): void },
    ) => {
      const result = await route.handle(body ?? {})
      res.status(result.status)
      return result.body
    }
    const descriptor = Object.getOwnPropertyDescriptor(prototype, key)!
    ;(route.method === 'GET' ? Get : Post)(route.path)(prototype, key, descriptor)
    Body()(prototype, key, 0)
    Res({ passthrough: true })(prototype, key, 1)
  })
  Controller()(ContractController)
  return ContractController
}

describeMiddlewareContract('NestJS', async ({ database, resolve, routes, report }) => {
  class AppModule {}
  Module({ controllers: [contractController(routes)] })(AppModule)
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    logger: false,
    bodyParser: false,
  })
  app.use(express.json())
  app.use(tenantMiddleware({ database, resolve, report }))
  app.useGlobalFilters(new RowfenceExceptionFilter(report))
  await app.listen(0, '127.0.0.1')
  const server = app.getHttpServer()
  const client = listenAndFetch(server, (server.address() as AddressInfo).port)
  return { request: client.request, close: () => app.close() }
})
