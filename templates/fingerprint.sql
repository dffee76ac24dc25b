-- This compile's fingerprint: the sha256 of its scripts (rendered with this value empty).
-- _pgmig.log's fingerprint column defaults to it, so every log row says which compile wrote
-- it; verify.sql and rollback.sql refuse a migration another compile made.
SET pgmig.fingerprint = '{{ plan.fingerprint }}';
