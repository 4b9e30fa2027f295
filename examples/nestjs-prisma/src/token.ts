// Prints a development token for a tenant: npm run -s token <tenant id>
import { SignJWT } from 'jose'
import { audience, issuer, jwtSecret } from './config.js'

const tenantId = process.argv[2]
if (!tenantId) throw new Error('usage: npm run -s token <tenant id>')
const token = await new SignJWT({ tenant_id: tenantId })
  .setProtectedHeader({ alg: 'HS256' })
  .setIssuer(issuer)
  .setAudience(audience)
  .setExpirationTime('1h')
  .sign(new TextEncoder().encode(jwtSecret))
console.log(token)
