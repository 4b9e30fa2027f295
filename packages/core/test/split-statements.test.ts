import { describe, expect, it } from 'vitest'
import { splitStatements } from '../src/sql/split-statements.ts'

describe('splitStatements (migrations sent one statement at a time, for Citus)', () => {
  it('splits at top-level semicolons only', () => {
    expect(
      splitStatements(`select 'a;b'; select E'x\\';y'; select "q;";
        /* ; /* nested ; */ */ select $f$;$f$; -- ;
        select $$ ; $$, 1;
        CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$;`),
    ).toEqual([
      "select 'a;b'",
      "select E'x\\';y'",
      'select "q;"',
      '/* ; /* nested ; */ */ select $f$;$f$',
      '-- ;\n        select $$ ; $$, 1',
      'CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$',
    ])
  })

  it('drops empty statements and comment-only tails', () => {
    expect(splitStatements(';; -- nothing\n/* here */')).toEqual([])
    expect(splitStatements('select 1; -- trailing')).toEqual(['select 1'])
  })

  it('keeps a doubled quote inside a literal and a dollar sign inside identifiers', () => {
    expect(splitStatements(`select 'it''s;'; select a$b; select 2`)).toEqual([
      "select 'it''s;'",
      'select a$b',
      'select 2',
    ])
  })
})
