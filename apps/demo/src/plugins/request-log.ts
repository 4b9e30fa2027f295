import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * One log line per request, written when it completes: request id (from the child logger), method, path
 * without the query string, status, tenant (once authenticated) and duration. Headers, and so tokens,
 * are never logged.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const entry = {
      method: request.method,
      path: request.url.split('?')[0],
      statusCode: reply.statusCode,
      tenantId: request.tenant?.tenantId,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    }
    if (error) reply.log.error({ ...entry, err: error }, 'request errored')
    else reply.log.info(entry, 'request completed')
  }
}
