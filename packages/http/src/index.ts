/** `@rowfence/http`: framework-neutral pieces of the rowfence middleware. */
export { toErrorResponse, type ErrorResponse } from './error-response.ts'
export { httpErrorCatalogue, RowfenceHttpError, type HttpErrorCode, type HttpErrorOptions } from './errors.ts'
export { headerOf, type HeaderSource } from './headers.ts'
export { insecureHeaderResolver, type InsecureHeaderResolverOptions } from './insecure-header-resolver.ts'
export { jwtResolver, type JwtResolverOptions } from './jwt-resolver.ts'
export {
  commitBeforeResponse,
  createNodeErrorHandler,
  createNodeMiddleware,
  sendErrorResponse,
} from './node-middleware.ts'
export {
  attachRequestScope,
  openRequestScope,
  reportToConsole,
  RequestScope,
  requestScopeOf,
  type CommitFailure,
  type TenantMiddlewareOptions,
} from './request-scope.ts'
export type { TenantResolver } from './resolver.ts'
