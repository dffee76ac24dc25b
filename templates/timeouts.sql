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
