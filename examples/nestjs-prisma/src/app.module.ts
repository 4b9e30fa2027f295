import { Module, type DynamicModule } from '@nestjs/common'
import type pg from 'pg'
import { PrismaRowfence } from '@rowfence/prisma'
import { PrismaClient } from './generated/client.js'
import { NotesController } from './notes.controller.js'

/** The app: one PrismaClient on a rowfence driver adapter over the app role's pool. */
@Module({})
export class AppModule {
  static forPool(pool: pg.Pool): DynamicModule {
    const prisma = new PrismaClient({ adapter: new PrismaRowfence(pool) })
    return {
      module: AppModule,
      controllers: [NotesController],
      providers: [{ provide: PrismaClient, useValue: prisma }],
    }
  }
}
