-- Column privileges (GRANT … (column) ON …) of the columns a swap drops, as it found them:
-- they live on the column (pg_attribute.attacl), DROP COLUMN takes them along, and the swap
-- grants each again on the column that takes the dropped one's name. verify checks
-- migrate's against the migrated columns; rollback records its reverse swap's, and deletes
-- the model's rows at its end. grantor and grantee are role oids (grantee 0: PUBLIC).
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS _pgmig.column_grants (
  model text NOT NULL,
  script text NOT NULL,
  table_name text NOT NULL,
  column_name text NOT NULL,
  grantor oid NOT NULL,
  grantee oid NOT NULL,
  -- A column's privileges: the only words a GRANT built from this table prints unquoted.
  privilege_type text NOT NULL CHECK (privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')),
  is_grantable boolean NOT NULL,
  PRIMARY KEY (model, script, table_name, column_name, grantor, grantee, privilege_type)
);
RESET client_min_messages;
