/** The demo's database roles (none is superuser or BYPASSRLS) and its database name. */
export const OWNER_ROLE = 'rowfence_owner'
export const APP_ROLE = 'rowfence_app'
/** Platform operators' role: explicit read policies across tenants, INSERT-only audit. */
export const ADMIN_ROLE = 'rowfence_admin'
/** Login lookups: tenant name + user name -> ids and password hash, nothing else. */
export const AUTH_ROLE = 'rowfence_auth'
export const DATABASE_NAME = 'rowfence'
