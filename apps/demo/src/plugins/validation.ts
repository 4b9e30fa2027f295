import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifySchemaCompiler } from 'fastify'

const common = { removeAdditional: false, useDefaults: true, allErrors: false } as const

type RouteDefinition = {
  schema: Record<string, unknown>
  method: string
  url: string
  httpPart?: string
}

/** An HTML form's body: it carries the CSRF token, and every field arrives as text. */
function isFormBody(schema: Record<string, unknown>): boolean {
  const properties = schema['properties']
  return typeof properties === 'object' && properties !== null && '_csrf' in properties
}

/**
 * Fastify's validator factory, with types coerced only where the wire format has no types: query strings,
 * route parameters, headers and HTML form bodies (`?limit=5`, `pages=3`). A JSON body is validated as
 * sent: `"title": true` is a 400, not the string "true". Unknown properties are rejected (400), not
 * silently dropped: a typo such as ?limt=5 is an error.
 */
export function buildValidator(
  externalSchemas: unknown,
  ajvOptions: { customOptions?: Record<string, unknown>; plugins?: unknown[] } = {},
): FastifySchemaCompiler<unknown> {
  const factory = AjvCompiler()
  const coercing = factory(
    externalSchemas as never,
    {
      ...ajvOptions,
      customOptions: { ...ajvOptions.customOptions, ...common, coerceTypes: 'array' },
    } as never,
  )
  const strict = factory(
    externalSchemas as never,
    {
      ...ajvOptions,
      customOptions: { ...ajvOptions.customOptions, ...common, coerceTypes: false },
    } as never,
  )
  return function selectValidator(route: RouteDefinition) {
    const strictPart = route.httpPart === 'body' && !isFormBody(route.schema)
    return (strictPart ? strict : coercing)(route as never)
  } as FastifySchemaCompiler<unknown>
}
