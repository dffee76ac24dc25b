-- Pinned for the whole session before anything else is read: names resolve in PostgreSQL's
-- own catalog first, so no function, operator or type of a user schema can stand in for a
-- built-in one (every other object is schema-qualified); a backslash inside '…' is an
-- ordinary character.
SET search_path = pg_catalog, pg_temp;
SET standard_conforming_strings = on;
-- The model's `timezone:` (UTC without one): zone conversions ignore the server's TimeZone.
SET TIME ZONE {{ time_zone|lit }};
-- Values as text (the seals' digests of V1 rows, text casts in the model) read the same
-- whatever the server, database or environment sets: PostgreSQL's defaults, pinned.
SET DateStyle = 'ISO, MDY';
SET IntervalStyle = postgres;
SET extra_float_digits = 1;
SET bytea_output = hex;
