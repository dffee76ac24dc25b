-- Waiting on a lock the application holds makes every later query queue behind us: give up
-- after lock_timeout instead (default 5s); statement_timeout is off unless given.
\if :{?lock_timeout}
\else
\set lock_timeout 5s
\endif
\if :{?statement_timeout}
\else
\set statement_timeout 0
\endif
SET lock_timeout = :'lock_timeout';
SET statement_timeout = :'statement_timeout';
-- Hash joins against the id maps and the sorts of DISTINCT keys want memory: measured at
-- scale 100, 4MB (the default) took migrate from 27 s to 44 s (bench/results).
\if :{?work_mem}
\else
\set work_mem 256MB
\endif
SET work_mem = :'work_mem';
