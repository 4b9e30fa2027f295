import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common'
import { RowfenceError } from '@rowfence/core'
import { PrismaClient } from './generated/client.js'

const columns = { id: true, body: true } as const

/**
 * The notes API. Prisma runs on the request's tenant transaction (RLS decides what it sees): no tenant id
 * is passed around, and another tenant's note simply does not exist here.
 */
@Controller('notes')
export class NotesController {
  constructor(@Inject(PrismaClient) private readonly prisma: PrismaClient) {}

  @Get()
  list() {
    return this.prisma.note.findMany({ select: columns, orderBy: { body: 'asc' } })
  }

  @Post()
  create(@Body() input: { body?: unknown }) {
    return this.prisma.note.create({ data: { body: String(input?.body ?? '') }, select: columns })
  }

  @Get(':id')
  async get(@Param('id') id: string) {
    const note = await this.prisma.note.findFirst({ where: { id }, select: columns })
    if (!note) throw new RowfenceError('ROWFENCE_NOT_FOUND')
    return note
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string): Promise<void> {
    const { count } = await this.prisma.note.deleteMany({ where: { id } })
    if (count === 0) throw new RowfenceError('ROWFENCE_NOT_FOUND')
  }
}
