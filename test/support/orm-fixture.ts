import { itemsDemo } from '@rowfence/demo'

/** What the ORM adapter suites share: two tenants of the demo, extra tables, a round-trip counter. */
export const [tenantA, tenantB] = itemsDemo.tenants as [
  { id: string; name: string },
  { id: string; name: string },
]
export const itemsOf = (tenantId: string) => itemsDemo.items.filter((item) => item.tenant_id === tenantId)

/**
 * Run as the owner: a child table with a composite foreign key (for the "reference B's row" attack) and
 * a table of awkward types, both under the same RLS floor as the demo tables, tenant_id defaulting to
 * the current tenant.
 */
export const ormFixtureSql = `
  CREATE TABLE item_notes (
    tenant_id uuid NOT NULL DEFAULT rowfence.current_tenant_id() REFERENCES tenants (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    item_id uuid NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES items (tenant_id, id)
  );
  CREATE TABLE type_samples (
    tenant_id uuid NOT NULL DEFAULT rowfence.current_tenant_id() REFERENCES tenants (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL,
    doc jsonb NOT NULL,
    amount numeric(30, 10) NOT NULL,
    tags text[] NOT NULL,
    big bigint NOT NULL,
    PRIMARY KEY (tenant_id, id)
  );
  DO $$ DECLARE t text; BEGIN
    FOREACH t IN ARRAY ARRAY['item_notes', 'type_samples'] LOOP
      EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
      EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
      EXECUTE format('CREATE POLICY %I ON %I AS RESTRICTIVE FOR ALL TO PUBLIC
        USING (tenant_id = (SELECT rowfence.current_tenant_id()))
        WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()))', t || '_floor', t);
      EXECUTE format('CREATE POLICY %I ON %I AS PERMISSIVE FOR ALL TO PUBLIC
        USING (tenant_id = (SELECT rowfence.current_tenant_id()))
        WITH CHECK (tenant_id = (SELECT rowfence.current_tenant_id()))', t || '_access', t);
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO rowfence_app', t);
    END LOOP;
  END $$;`

/** Values whose round trip loses something with a careless driver. */
export const awkward = {
  at: '2024-02-29 12:34:56.123456+00',
  doc: { nested: { list: [1, 'two', null, true] }, quote: 'x"; drop table items --', n: 1.5 },
  amount: '12345678901234567890.0123456789',
  tags: ['a', 'b,c', 'd"e', ''],
  big: '9007199254740993',
} as const

export { countRoundTrips, type WireCounter } from '@rowfence/tools'
