export const jwtSecret = process.env.JWT_SECRET ?? 'dev-only-secret-change-me-dev-only-secret'
export const issuer = process.env.JWT_ISSUER ?? 'https://auth.example.test'
export const audience = process.env.JWT_AUDIENCE ?? 'notes-api'
