{#- Inside a PL/pgSQL block where _pgmig.log exists: refuses once cleanup.sql dropped the
    backups (verify compares with them, rollback restores from them). #}
IF EXISTS (SELECT 1 FROM _pgmig.log
             WHERE model = {{ v.model|lit }} AND script = 'cleanup' AND step = '(all)' AND status = 'done') THEN
    RAISE EXCEPTION 'model {{ v.model|notice }} was cleaned up: cleanup.sql dropped its backups after verify passed'
      USING HINT = 'verify.sql compares with the backups and rollback.sql restores from them: neither can run now';
  END IF;