-- This compile's fingerprint: the sha256 of its scripts (rendered with this value empty).
-- _pgmig.log's fingerprint column defaults to it, so every log row says which compile wrote
-- it; the scripts of another compile refuse to verify, roll back or resume its migration.
SET pgmig.fingerprint = '{{ plan.fingerprint }}';
