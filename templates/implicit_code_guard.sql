-- Writing a table runs code attached to it with this role's rights: its triggers (ENABLE
-- ALWAYS and REPLICA ones too), column DEFAULTs and generated columns, CHECK constraints and
-- the CHECKs and DEFAULTs of its columns' domains, index expressions and predicates, rules,
-- row level security policies; and the same on the partitions and inheritance children the
-- write reaches, on the tables its foreign keys' ON DELETE/UPDATE actions reach, and on what
-- its rules write. Reading a view runs the functions it calls, also with this role's rights.
-- Found by type, whatever the search_path: the casts from or to the types of the columns
-- written or read and of the model's casts, those types' own functions and transforms, and
-- the operator classes of the written tables' indexes and partition keys.
-- A function another role owns there is that role's code run as this one (the role can
-- rewrite it at any moment): refused, unless its owner is a superuser, this role, or the
-- role named by -v pgmig_owner. SECURITY DEFINER functions run as their owner, which is no
-- escalation by itself; they are refused too, since their owner can make them SECURITY
-- INVOKER between this check and the write (CREATE OR REPLACE FUNCTION waits on no lock).
-- The written tables stay locked in ROW EXCLUSIVE mode (what their writes take anyway, so
-- the application's writes go on) until this transaction ends: new triggers, rules,
-- policies, defaults, constraints and indexes wait until then. A script that commits as it
-- goes makes this check a function, _pgmig.pgmig_implicit_code_guard, and runs it again at
-- the start of every transaction that writes (batched, per-entity; in place: before the
-- triggers, in every fill batch and in the swap).
-- Last, the functions the model's expressions call by name run with this role's rights on
-- the model author's word: each must be one no other role owns or can replace, and a
-- built-in must be one PUBLIC may execute that computes a value and does nothing else.
DO {% filter dollar("guard") %}
DECLARE
  -- The relations this script writes, the V1 relations it reads, the types the model's
  -- expressions cast to and the functions they call.
  written_names text[] := {{ implicit_written }};
  read_names text[] := {{ implicit_read }};
  cast_type_names text[] := {{ implicit_cast_types }};
  called_function_names text[] := {{ implicit_called_functions }};
{% include "implicit_code_guard_body.sql" %}
{% endfilter %};
