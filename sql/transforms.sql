-- Transform library: functions in schema _pgmig for the expressions of a model.
--
-- Plain SQL, safe to run any number of times (CREATE ... IF NOT EXISTS / CREATE OR REPLACE),
-- inside or outside a transaction. Only built-in functions are used, plus pgcrypto for
-- new_password_hash() (whose search_path is pgcrypto's schema, found in pg_extension).
--
--   _pgmig.split_name(full_name)                         -> (first_name, middle_name, last_name)
--   _pgmig.phone_e164(raw, default_country_code = '1')   -> '+<digits>' or NULL
--   _pgmig.address_parts(line)                           -> (street, city, region, postal_code, country)
--   _pgmig.ascii_fold(s)                                 -> s with Latin accents/ligatures spelled in ASCII
--   _pgmig.email_from_template(template, first_name, last_name, id) -> an address or NULL
--   _pgmig.new_password_hash(cost = 10)                  -> a bcrypt hash of a random, never-seen password
--   _pgmig.with_counter(value, n)                        -> ana@x.org, 2 -> ana+2@x.org; other text -> value-2
--
-- split_name and address_parts return one record (OUT parameters), never zero rows, so
-- both `(_pgmig.split_name(t.name)).first_name` and
-- `CROSS JOIN LATERAL _pgmig.split_name(t.name) AS n` keep every source row.
-- Every function pins its search_path to PostgreSQL's own catalog, so a caller's path can't
-- lend it a look-alike of a built-in.
CREATE SCHEMA IF NOT EXISTS _pgmig;
-- Where pgcrypto already is, or else public (never pg_catalog, first in the scripts' path).
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;

-- split_name: a full name into first, middle and last name.
--   Whitespace (spaces, tabs, newlines, no-break spaces) is trimmed and runs of it collapsed.
--   One word            -> first_name only ('Cher' -> Cher, NULL, NULL)
--   Two words           -> first_name + last_name
--   Three or more words -> first word, the words between joined by one space, last word
--                          ('Mary Ann Smith' -> Mary, Ann, Smith)
--   Particles: the run of particles right before the last word belongs to the last name
--     ('Juan Carlos de la Cruz' -> Juan, Carlos, 'de la Cruz'; 'Anna van der Berg' -> Anna,
--     NULL, 'van der Berg'). A particle is one of: de, del, della, der, den, di, da, das, do,
--     dos, du, la, le, van, von, ten, ter, bin, ibn, al, el (any letter case); the first word is
--     never one (it is the first name).
--   NULL, '' or only whitespace -> all three NULL.
--   Heuristic: no knowledge of suffixes ('Jr.') or 'Last, First' order; commas and other
--   punctuation stay part of the words.
CREATE OR REPLACE FUNCTION _pgmig.split_name(
  full_name text,
  OUT first_name text, OUT middle_name text, OUT last_name text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  -- k: where the last name starts (the first of the particles right before the last word).
  SELECT w[1],
         CASE WHEN k > 2 THEN array_to_string(w[2:k - 1], ' ') END,
         CASE WHEN n > 1 THEN array_to_string(w[k:n], ' ') END
    FROM (SELECT w, n,
                 coalesce((SELECT min(i) FROM generate_series(2, n - 1) AS i
                            WHERE NOT EXISTS (SELECT 1 FROM generate_series(i, n - 1) AS j
                                               WHERE lower(w[j]) NOT IN ('de', 'del', 'della', 'der', 'den', 'di', 'da', 'das',
                                                                         'do', 'dos', 'du', 'la', 'le', 'van', 'von', 'ten',
                                                                         'ter', 'bin', 'ibn', 'al', 'el'))),
                          n) AS k
            FROM (SELECT w, cardinality(w) AS n
                    FROM (SELECT string_to_array(
                                   NULLIF(btrim(regexp_replace(full_name, '[[:space:]\u00a0]+', ' ', 'g'), ' '), ''),
                                   ' ') AS w) AS words) AS counted) AS found
$fn$;
COMMENT ON FUNCTION _pgmig.split_name(text) IS
  'pgmig: full name -> (first_name, middle_name, last_name); 1 word: first only, 2: first+last, 3+: middle words joined, particles (de, van...) before the last word join it; NULL/blank: all NULL';

-- phone_e164: a phone number as E.164 ('+' and 8 to 15 digits), or NULL when it can't be one.
--   Formatting is removed: spaces, dots, dashes, slashes, parentheses. Anything else
--   (letters as in '1-800-FLOWERS', '*', a second '+') makes the result NULL.
--   Extension: a trailing 'x12', 'ext 12', 'ext. 12', 'extension 12' or '#12' (1 to 6 digits,
--   any letter case) is DROPPED - E.164 has no place for it - and the rest is converted.
--   International forms: a leading '+', a leading '00', or (default country code 1 only)
--   a leading '011'; the digits after it are country code + number. A '(0)' after an
--   international prefix ('+44 (0)20 ...') is dropped, and so is a trunk '0' written right
--   after the default country code ('+44 020 ...').
--   National forms: the default country code is prepended. For country code 1 (NANP) a
--   leading trunk '1' of an 11-digit number is dropped; for other codes one leading trunk
--   '0' is dropped, except for Italy (39) and San Marino (378), which keep it. Trunk prefixes
--   other than 0 (e.g. 8 in Russia) are not recognised.
--   Validation: 8 to 15 digits in all, not starting with 0; numbers in country code 1 must
--   have exactly 10 digits after it, the area code not starting with 0 or 1. No per-country
--   numbering plan is checked beyond that.
--   default_country_code: 1 to 3 digits, optionally written '+44' or '0044'; anything else
--   raises an error (a typo there would otherwise turn every number into NULL).
--   NULL, '' or blank raw -> NULL.
CREATE OR REPLACE FUNCTION _pgmig.phone_e164(raw text, default_country_code text DEFAULT '1')
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  cc text := regexp_replace(btrim(coalesce(default_country_code, '')), '^(\+|00)', '');
  s text;
  digits text;
  intl boolean;
BEGIN
  IF cc !~ '^[1-9][0-9]{0,2}$' THEN
    RAISE EXCEPTION '_pgmig.phone_e164: default_country_code must be 1 to 3 digits (as in ''44'' or ''+44''), not %',
      coalesce(quote_literal(default_country_code), 'NULL');
  END IF;
  IF raw IS NULL THEN
    RETURN NULL;
  END IF;
  s := btrim(regexp_replace(raw, '[[:space:]\u00a0]+', ' ', 'g'), ' ');
  -- The extension, dropped.
  s := regexp_replace(s, ' ?(x|ext\.?|extension|#) ?[0-9]{1,6}$', '', 'i');
  intl := s ~ '^(\+|00)';
  IF intl THEN
    s := regexp_replace(s, '\( ?0 ?\)', '', 'g');
  END IF;
  IF s !~ '^\+?[0-9 .()/-]+$' THEN
    RETURN NULL;
  END IF;
  digits := regexp_replace(s, '[^0-9]', '', 'g');
  IF left(s, 1) = '+' THEN
    NULL;
  ELSIF digits LIKE '00%' THEN
    digits := substr(digits, 3);
  ELSIF cc = '1' AND digits LIKE '011%' THEN
    intl := true;
    digits := substr(digits, 4);
  ELSE
    IF cc = '1' THEN
      IF length(digits) = 11 AND digits LIKE '1%' THEN
        digits := substr(digits, 2);
      END IF;
    ELSIF cc NOT IN ('39', '378') THEN
      digits := regexp_replace(digits, '^0', '');
    END IF;
    digits := cc || digits;
  END IF;
  IF intl AND cc NOT IN ('1', '39', '378') AND digits LIKE cc || '0%' THEN
    digits := cc || substr(digits, length(cc) + 2);
  END IF;
  IF digits !~ '^[1-9][0-9]{7,14}$' THEN
    RETURN NULL;
  END IF;
  IF digits LIKE '1%' AND digits !~ '^1[2-9][0-9]{9}$' THEN
    RETURN NULL;
  END IF;
  RETURN '+' || digits;
END
$fn$;
COMMENT ON FUNCTION _pgmig.phone_e164(text, text) IS
  'pgmig: phone number -> E.164 (+ and 8..15 digits) or NULL; national numbers get default_country_code (default 1), extensions are dropped';

-- address_parts: a pragmatic, HEURISTIC split of a one-line, comma-separated address.
--   Parts are split on commas, trimmed (whitespace collapsed), empty parts ignored.
--   Country: the last part, when it is a common country name or code (USA, US, U.S.A.,
--   United States, UK, United Kingdom, Great Britain, GB, Canada, Australia, New Zealand,
--   Ireland; any case, dots and spaces ignored) or when there are 3+ parts, it has no digit
--   and the part before it has one ('..., IL 62704, Freedonia').
--   Of the rest, the last part holds the postal code: a US ZIP ('62704', '62704-1234'), a
--   UK postcode ('SW1A 2AA'), a Canadian one ('K1A 0B1') or any run of 3+ digits (optionally
--   '-' and 3 or 4 more digits). With 3+ parts left: street = all but the last two (joined
--   by ', '), city = the one before last, region = the last without its postal code
--   ('12 Main St, Springfield, IL 62704, USA' -> 12 Main St | Springfield | IL | 62704 | USA).
--   With 2 parts: street, then city = the last without its postal code
--   ('5 Rue X, 75008 Paris, France' -> 5 Rue X | Paris | NULL | 75008 | France).
--   A UK postcode is written after the post town, not after a region: with one, the rest of
--   its part is the city and every part before it the street ('Flat 2, 10 Downing St,
--   London SW1A 2AA, UK' -> Flat 2, 10 Downing St | London | NULL | SW1A 2AA | UK).
--   With 1 part: the street when it has a digit (a house number: '42 Oak Ave'), else the city
--   ('Springfield'). NULL or blank: all NULL. Absent parts are NULL, never ''.
--   Known misses: a unit on its own part ('12 Main St, Apt 4, Springfield') is taken for
--   the city; a region spelled out without postal code or country in a 4-part line is
--   taken for a country only if the part before it has a digit.
CREATE OR REPLACE FUNCTION _pgmig.address_parts(
  line text,
  OUT street text, OUT city text, OUT region text, OUT postal_code text, OUT country text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  -- MATERIALIZED: inlined, PostgreSQL copies the ARRAY(...) into every reference (a 1,600-line
  -- plan, ~5 ms a call); materialized, the plan is 18 lines (~0.5 ms).
  WITH split AS MATERIALIZED (
    SELECT ARRAY(SELECT btrim(u.part, ' ')
                   FROM unnest(string_to_array(regexp_replace(line, '[[:space:]\u00a0]+', ' ', 'g'), ','))
                        WITH ORDINALITY AS u(part, i)
                  WHERE btrim(u.part, ' ') <> ''
                  ORDER BY u.i) AS p
  ), counted AS MATERIALIZED (
    SELECT p, cardinality(p) AS n FROM split
  ), peeled AS MATERIALIZED (
    SELECT CASE WHEN has_country THEN p[1:n - 1] ELSE p END AS r,
           CASE WHEN has_country THEN p[n] END AS country
      FROM (SELECT p, n,
                   COALESCE(n >= 2 AND upper(regexp_replace(p[n], '[. ]', '', 'g')) IN
                              ('USA', 'US', 'UNITEDSTATES', 'UNITEDSTATESOFAMERICA', 'UK', 'UNITEDKINGDOM',
                               'GREATBRITAIN', 'GB', 'CANADA', 'AUSTRALIA', 'NEWZEALAND', 'IRELAND')
                            OR n >= 3 AND p[n] !~ '[0-9]' AND p[n - 1] ~ '[0-9]', false) AS has_country
              FROM counted) AS c
  ), tailed AS MATERIALIZED (
    SELECT r, m, country,
           CASE WHEN m >= 2 THEN r[m] END AS tail,
           substring(CASE WHEN m >= 2 THEN r[m] END
                     FROM '(?i)\m([a-z]{1,2}[0-9][a-z0-9]? ?[0-9][a-z]{2}|[a-z][0-9][a-z] ?[0-9][a-z][0-9]|[0-9]{3,}(?:-[0-9]{3,4})?)\M')
             AS postal
      FROM (SELECT r, cardinality(r) AS m, country FROM peeled) AS p
  ), rest AS MATERIALIZED (
    SELECT r, m, country, postal,
           NULLIF(btrim(regexp_replace(CASE WHEN postal IS NULL THEN tail
                                            ELSE overlay(tail PLACING '' FROM strpos(tail, postal) FOR length(postal)) END,
                                       ' {2,}', ' ', 'g'), ' '), '') AS rest
      FROM tailed
  )
  SELECT CASE WHEN town THEN array_to_string(r[1:m - 1], ', ')
              WHEN m >= 3 THEN array_to_string(r[1:m - 2], ', ')
              WHEN m = 1 AND r[1] !~ '[0-9]' THEN NULL
              ELSE r[1] END,
         CASE WHEN town OR m = 2 THEN rest
              WHEN m >= 3 THEN r[m - 1]
              WHEN m = 1 AND r[1] !~ '[0-9]' THEN r[1] END,
         CASE WHEN m >= 3 AND NOT town THEN rest END,
         postal,
         country
    FROM (SELECT x.*,
                 coalesce(x.rest IS NOT NULL AND x.postal ~* '^[a-z]{1,2}[0-9][a-z0-9]? ?[0-9][a-z]{2}$', false) AS town
            FROM rest AS x) AS uk
$fn$;
COMMENT ON FUNCTION _pgmig.address_parts(text) IS
  'pgmig: heuristic split of a one-line comma-separated address into (street, city, region, postal_code, country); UK postcodes follow the town; NULL where absent';

-- ascii_fold: Latin letters with accents, and the ligatures, spelled in plain ASCII
-- ('Zoë Ångström' -> 'Zoe Angstrom', 'Straße' -> 'Strasse', 'Æ' -> 'AE', 'Œ' -> 'OE',
-- 'Þ' -> 'TH', 'Ĳ' -> 'IJ', 'ŉ' -> 'n'); letter case is kept. Covers Latin-1 Supplement and Latin
-- Extended-A plus Romanian ș/ț; every other character (other scripts too) is left as is.
-- Built-ins only (no unaccent extension). NULL -> NULL.
CREATE OR REPLACE FUNCTION _pgmig.ascii_fold(s text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
           translate(s,
             'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïðñòóôõöøùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪīĬĭĮįİıĴĵĶķĸĹĺĻļĽľĿŀŁłŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŧŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžșțȘȚŊŋſ',
             'AAAAAACEEEEIIIIDNOOOOOOUUUUYaaaaaaceeeeiiiidnoooooouuuuyyAaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiJjKkkLlLlLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzstSTNns'),
           'ß', 'ss'), 'ŉ', 'n'), 'Æ', 'AE'), 'æ', 'ae'), 'Œ', 'OE'), 'œ', 'oe'), 'Þ', 'TH'), 'þ', 'th'), 'Ĳ', 'IJ'), 'ĳ', 'ij')
$fn$;
COMMENT ON FUNCTION _pgmig.ascii_fold(text) IS
  'pgmig: Latin accents and ligatures spelled in ASCII (Zoë -> Zoe, ß -> ss); other characters unchanged';

-- email_from_template: an email address from a template, for rows that have none.
--   Placeholders: {first}, {last}, {id} (exactly so, lower case). Each value is
--   accent-folded (ascii_fold), lowercased, and stripped of everything but a-z, 0-9, '_'
--   and '-': spaces, apostrophes, dots and other scripts are removed
--   ('Mary Ann' -> maryann, 'O''Brien' -> obrien, 'Zoë' -> zoe). A NULL value counts as ''.
--   The result is lowercased; runs of dots become one dot, and dots left at the start of the
--   address or just before '@' (by an empty value) are removed
--   ('{first}.{last}@school.example' with last NULL -> 'ann@school.example').
--   Returns NULL when the template is NULL or the result is not a plausible address:
--   local part of a-z 0-9 . _ + - (no leading, trailing or double dot), one '@', a domain of
--   dot-separated labels with at least one dot (so a name in no Latin script, with a
--   template of only {first}/{last}, gives NULL: put {id} in the template).
--   Uniqueness is not checked: a template without {id} can give the same address twice.
CREATE OR REPLACE FUNCTION _pgmig.email_from_template(template text, first_name text, last_name text, id text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT CASE WHEN e ~ '^[a-z0-9_+-]+(\.[a-z0-9_+-]+)*@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$'
              THEN e END
    FROM (SELECT regexp_replace(regexp_replace(
                   lower(replace(replace(replace(template,
                     '{first}', regexp_replace(lower(_pgmig.ascii_fold(coalesce(first_name, ''))), '[^a-z0-9_-]+', '', 'g')),
                     '{last}', regexp_replace(lower(_pgmig.ascii_fold(coalesce(last_name, ''))), '[^a-z0-9_-]+', '', 'g')),
                     '{id}', regexp_replace(lower(_pgmig.ascii_fold(coalesce(id, ''))), '[^a-z0-9_-]+', '', 'g'))),
                   '\.{2,}', '.', 'g'),
                 '^\.+|\.+(?=@)', '', 'g') AS e) AS filled
$fn$;
COMMENT ON FUNCTION _pgmig.email_from_template(text, text, text, text) IS
  'pgmig: email from a template with {first}, {last}, {id} (folded to a-z0-9_-); NULL if the result is not a plausible address';

-- new_password_hash: a bcrypt hash ('$2a$NN$...', 60 characters) of a fresh random password
-- (18 random bytes from gen_random_bytes, base64: 24 characters, 144 bits), at bcrypt cost
-- `cost` (4 to 31, default 10).
-- The password itself never leaves this function: it is not returned, stored, logged or
-- raised, so nobody knows it - pair the hash with a must-reset flag in the target row so
-- the user sets a password of their own. VOLATILE: every call gives another password and
-- salt. Cost 10 takes some tens of milliseconds per call; since the password is 144 random
-- bits, no guessing attack needs the cost's slowdown, so a lower cost (6: ~2 ms) is safe
-- for these placeholder hashes on large tables.
-- pgcrypto's functions are looked up in its own schema only (public, extensions where
-- Supabase installs it, …), after pg_catalog: the function is created under that path and
-- keeps it (SET search_path FROM CURRENT); the caller's path is put back right after.
DO $fn$
BEGIN
  PERFORM pg_catalog.set_config('pgmig.caller_search_path', pg_catalog.current_setting('search_path'), false);
  PERFORM pg_catalog.set_config('search_path', 'pg_catalog, ' || pg_catalog.quote_ident(n.nspname) || ', pg_temp', false)
     FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pgcrypto';
END
$fn$;
CREATE OR REPLACE FUNCTION _pgmig.new_password_hash(cost integer DEFAULT 10)
RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE
SET search_path FROM CURRENT
AS $fn$
  SELECT crypt(encode(gen_random_bytes(18), 'base64'), gen_salt('bf', cost))
$fn$;
DO $fn$
BEGIN
  PERFORM pg_catalog.set_config('search_path', pg_catalog.current_setting('pgmig.caller_search_path'), false);
END
$fn$;
COMMENT ON FUNCTION _pgmig.new_password_hash(integer) IS
  'pgmig: bcrypt hash (default cost 10) of a random password that is never returned, stored or logged; pair with a must-reset flag';

-- with_counter: a value with a counter, for the uniqueness repair `on_duplicate: suffix`.
--   An email address gets it as a plus tag before the '@' ('ana@school.org', 2 ->
--   'ana+2@school.org'): mail still reaches the same mailbox at most providers. Any other
--   text gets '-<n>' at the end ('ana', 2 -> 'ana-2'). NULL -> NULL.
CREATE OR REPLACE FUNCTION _pgmig.with_counter(value text, n integer)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT CASE WHEN value ~ '^[^@]+@[^@]+$'
              THEN regexp_replace(value, '@', '+' || n || '@')
              ELSE value || '-' || n
         END
$fn$;
COMMENT ON FUNCTION _pgmig.with_counter(text, integer) IS
  'pgmig: value with a counter for uniqueness repair: ana@x.org, 2 -> ana+2@x.org; other text -> value-2';
