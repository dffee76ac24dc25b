-- School system v1 sample data, deterministic, at any scale.
--
--   psql -v ON_ERROR_STOP=1 -v scale=N [-v schema=v1] -f sample.sql
--
-- scale defaults to 1, schema to v1 (the tables of v1.sql must exist there, empty).
-- Rows grow linearly with scale; per unit of scale:
--     5 schools, 40 teachers, 150 parents, 250 students
-- Same scale -> identical rows: ids are the row numbers (the serial sequences are set past
-- them), every other value a function of the row number (no random(), no now()).
-- All timestamps lie in 2023-2024.
--
-- Shape: teacher t works at school (t - 1) / 8 + 1, parent p belongs to school
-- (p - 1) / 30 + 1, student s attends school k + 1 with k = (s - 1) / 50 and r = (s - 1) % 50;
-- its parent is k * 30 + r % 30 + 1 (same school; parents with r < 20 have two children).
--
-- Helpers (pg_temp functions of this session, dropped with it):
--   sample_name(n)       n % 20 = 0  one word ('Cher', 'Madonna', ...)
--                        n % 20 = 1  three words ('Mary Ann Smith')
--                        n % 20 = 2  four words ('Juan Carlos de Cruz')
--                        n % 20 = 3  extra spaces ('  Anna   Smith ')
--                        n % 20 = 4  accented ('Zoë Ångström', 'José Núñez', ...)
--                        else        two words ('Anna Smith', "Liam O'Brien")
--   sample_phone(g, v)   person number g (teacher t: g = t, parent p: 2,000,000 + p,
--                        student s: 4,000,000 + s, school i: 6,000,000 + i) gives one number:
--                        area code in 212/312/415/617/713/206/303/404, exchange in 220..999
--                        (never N11), line 4 digits; UK numbers +44 20 7uuu llll. Distinct g
--                        -> distinct numbers. v % 12 picks the spelling:
--                          0 '(212) 220-7919'     1 '212.220.7919'     2 '+1 212 220 7919'
--                          3 '1-212-220-7919'     4 '+44 20 7000 7919' 5 '00 44 20 7000 7919'
--                          6 '220-7919' (7 digits: invalid)            7 'n/a'
--                          8 NULL                 9 '+1 (212) 220-7919 x12'
--                         10 '2122207919'        11 '212-220-7919'
--   sample_address(n)    n % 10 = 0  '12 Main St, Springfield, IL 62704, USA'
--                        n % 10 = 1  '5 Rue Cler, 75008 Paris, France'
--                        n % 10 = 2  'Flat 2, 10 Downing St, London SW1A 2AA, UK'
--                        n % 10 = 3  one part: '42 Oak Ave' or 'Springfield'
--                        n % 10 = 4  NULL
--                        n % 10 = 5  US without country: '7 Oak Ave, Chicago, IL 60614'
--                        n % 10 = 6  five parts: 'Apt 4B, 221 Elm St, Boston, MA 02118, USA'
--                        n % 10 = 7  'Hauptstraße 5, 10115 Berlin, Germany'
--                        n % 10 = 8  no spaces after commas: '9 Elm St,Boston,MA 02118'
--                        n % 10 = 9  ZIP+4: '1600 Park Blvd, Denver, CO 80202-1234, United States'
--
-- Hard cases (the seed's "Data Transformations" and "Email/phone uniqueness handling"),
-- planted at every scale; counts per unit of scale (exact at scale 1):
--   emails     teachers t % 20 = 0 missing: t % 40 = 0 '' , else NULL          (2, 5 %)
--              parents  p % 20 = 13 missing: p % 40 = 13 '', else NULL        (7 at scale 1, 5 %)
--              students s % 5 IN (0, 1, 2) missing: s % 10 = 0 '', else NULL   (150, 60 %)
--              parents  p % 50 = 7: the email of teacher
--                          t = 40 * (j / 3) + (3, 17, 29)[j % 3], j = (p - 7) / 50
--                       (teacher and parent share an email)                     (3 pairs)
--              parents  p % 75 = 40: the email of parent p - 1 (two parents)    (2 pairs)
--   phones     teachers t % 20 = 7 spelled '(AAA) EEE-LLLL' (variant 0), and parent
--                       p % 75 = 22 has the same number as teacher t = 20 * j + 7,
--                       j = (p - 22) / 75, spelled by variant (2, 1, 3, 10)[j % 4]
--                       (same number after normalization, different text)       (2 pairs)
--              everyone else: teachers sample_phone(t, t % 12), parents
--                       sample_phone(2000000 + p, p % 12), students s % 4 = 0
--                       sample_phone(4000000 + s, (s / 4) % 12) else NULL, schools
--                       sample_phone(6000000 + i, i % 12)
--   names      sample_name(t), sample_name(100000 + p), sample_name(200000 + s): every
--              kind of name in every table (teachers: 2 of each odd kind per unit)
--   addresses  sample_address(t), (p), (i) for teachers, parents, schools
--   students   s % 10 = 1 parent_id NULL                                        (25, 10 %)
--              else s % 83 = 0 parent at the next school: ((k + 1) % n_schools) * 30
--                       + r % 30 + 1                                            (3 at scale 1)
--              s % 15 = 0 grade NULL, else 'Grade ' || (1 + s % 12)              (16 at scale 1)
--              s % 31 = 0 date_of_birth NULL                                    (8 at scale 1)
--   teachers   t % 40 = 22 subject 'Underwater Basket Weaving' (unknown)         (1)
--              else t % 13 = 0 subject NULL                                     (3 at scale 1)
--              else ('Mathematics', 'English', 'Science', 'History', 'Art')[t % 5]
--   passwords  teachers 'password' || t, parents 'password' || (100000 + p): plaintext,
--              never to be copied to v2 (students have none in v1)

\if :{?scale}
\else
\set scale 1
\endif
\if :{?schema}
\else
\set schema v1
\endif

SET search_path = :"schema";

SELECT 5   * :'scale'::integer AS n_schools,
       40  * :'scale'::integer AS n_teachers,
       150 * :'scale'::integer AS n_parents,
       250 * :'scale'::integer AS n_students
\gset

-- Helpers ----------------------------------------------------------------------------
CREATE FUNCTION pg_temp.sample_name(n bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
SELECT CASE n % 20
         WHEN 0 THEN (ARRAY['Cher', 'Madonna', 'Prince', 'Bono', 'Sting', 'Adele'])[1 + (n / 20) % 6]
         WHEN 1 THEN x.g1 || ' ' || x.g2 || ' ' || x.sn
         WHEN 2 THEN x.g1 || ' ' || x.g2 || ' ' || x.pt || ' ' || x.sn
         WHEN 3 THEN '  ' || x.g1 || '   ' || x.sn || ' '
         WHEN 4 THEN (ARRAY['Zoë Ångström', 'José Núñez', 'Renée Dubé', 'Björn Ødegård',
                            'François Lefèvre', 'Chloé Müller', 'Søren Kierkegård',
                            'Łukasz Wiśniewski'])[1 + (n / 20) % 8]
         ELSE x.g1 || ' ' || x.sn
       END
  FROM (SELECT (ARRAY['Anna', 'Liam', 'Mary', 'Juan', 'Olivia', 'Noah', 'Emma', 'James',
                      'Sophia', 'Lucas', 'Mia', 'Ethan', 'Ava', 'Mateo', 'Isabella', 'Oliver',
                      'Amelia', 'Elijah', 'Harper', 'Aiden', 'Fatima', 'Wei', 'Priya'])
                 [1 + (n * 7) % 23] AS g1,
               (ARRAY['Ann', 'Carlos', 'Grace', 'Lee', 'Rose', 'Paul', 'Marie', 'John',
                      'Elizabeth', 'Michael', 'Jane'])[1 + (n * 3) % 11] AS g2,
               (ARRAY['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller',
                      'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez',
                      'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
                      'Lee', 'Perez', 'Thompson', 'White', 'O''Brien', 'Smith-Jones', 'Cruz',
                      'Nguyen', 'Kim'])[1 + (n * 13) % 29] AS sn,
               (ARRAY['de', 'van', 'von', 'da', 'del'])[1 + (n / 20) % 5] AS pt) AS x
$$;

CREATE FUNCTION pg_temp.sample_phone(g bigint, v integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
SELECT CASE v % 12
         WHEN 0  THEN format('(%s) %s-%s', x.a, x.e, x.l)
         WHEN 1  THEN format('%s.%s.%s', x.a, x.e, x.l)
         WHEN 2  THEN format('+1 %s %s %s', x.a, x.e, x.l)
         WHEN 3  THEN format('1-%s-%s-%s', x.a, x.e, x.l)
         WHEN 4  THEN format('+44 20 7%s %s', x.u, x.l)
         WHEN 5  THEN format('00 44 20 7%s %s', x.u, x.l)
         WHEN 6  THEN format('%s-%s', x.e, x.l)
         WHEN 7  THEN 'n/a'
         WHEN 8  THEN NULL
         WHEN 9  THEN format('+1 (%s) %s-%s x%s', x.a, x.e, x.l, 10 + g % 90)
         WHEN 10 THEN x.a || x.e || x.l
         ELSE         format('%s-%s-%s', x.a, x.e, x.l)
       END
  FROM (SELECT (ARRAY['212', '312', '415', '617', '713', '206', '303', '404'])[1 + g % 8] AS a,
               ((2 + ((g / 10000) % 640) / 80) * 100 + 20 + (g / 10000) % 80)::text AS e,
               lpad(((g * 7919) % 10000)::text, 4, '0') AS l,
               lpad(((g / 10000) % 1000)::text, 3, '0') AS u) AS x
$$;

CREATE FUNCTION pg_temp.sample_address(n bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
SELECT CASE n % 10
         WHEN 0 THEN format('%s %s, %s, %s %s, USA', x.num, x.st, x.city, x.state, x.zip)
         WHEN 1 THEN format('%s Rue %s, 750%s Paris, France', x.num, x.rue,
                            lpad((1 + n % 20)::text, 2, '0'))
         WHEN 2 THEN format('Flat %s, %s %s, London %s, UK', 1 + n % 9, x.num, x.ukst, x.ukpc)
         WHEN 3 THEN CASE WHEN (n / 10) % 2 = 0 THEN x.num || ' ' || x.st ELSE x.city END
         WHEN 4 THEN NULL
         WHEN 5 THEN format('%s %s, %s, %s %s', x.num, x.st, x.city, x.state, x.zip)
         WHEN 6 THEN format('Apt %s%s, %s %s, %s, %s %s, USA', 1 + n % 9,
                            (ARRAY['A', 'B', 'C'])[1 + n % 3], x.num, x.st, x.city, x.state, x.zip)
         WHEN 7 THEN format('%s %s, %s Berlin, Germany',
                            (ARRAY['Hauptstraße', 'Friedrichstraße', 'Schönhauser Allee'])[1 + n % 3],
                            x.num, 10115 + n % 80)
         WHEN 8 THEN format('%s %s,%s,%s %s', x.num, x.st, x.city, x.state, x.zip)
         ELSE        format('%s %s, %s, %s %s-%s, United States', x.num, x.st, x.city, x.state,
                            x.zip, lpad(((n * 37) % 10000)::text, 4, '0'))
       END
  FROM (SELECT 1 + (n * 17) % 240 AS num,
               (ARRAY['Main St', 'Oak Ave', 'Elm St', 'Maple Dr', 'Cedar Ln', 'Park Blvd',
                      'Washington Ave'])[1 + (n / 10) % 7] AS st,
               c.city, c.state, c.zip,
               (ARRAY['Cler', 'de Rivoli', 'du Faubourg Saint-Honoré', 'Mouffetard'])[1 + (n / 10) % 4] AS rue,
               (ARRAY['Downing St', 'Baker St', 'Abbey Rd', 'High St'])[1 + (n / 10) % 4] AS ukst,
               (ARRAY['SW1A 2AA', 'NW1 6XE', 'NW8 9AY', 'EC1A 1BB'])[1 + (n / 10) % 4] AS ukpc
          FROM (SELECT (ARRAY['Springfield', 'Chicago', 'Boston', 'Austin', 'Seattle', 'Denver',
                              'New York', 'San Francisco'])[1 + (n / 10) % 8] AS city,
                       (ARRAY['IL', 'IL', 'MA', 'TX', 'WA', 'CO', 'NY', 'CA'])[1 + (n / 10) % 8] AS state,
                       (ARRAY['62704', '60614', '02118', '78701', '98101', '80202', '10001',
                              '94103'])[1 + (n / 10) % 8] AS zip) AS c) AS x
$$;

-- Schools ------------------------------------------------------------------------------
INSERT INTO schools (id, name, address, phone, email, created_at)
SELECT i,
       (ARRAY['Lincoln', 'Riverside', 'Oakwood', 'Hillcrest', 'St. Mary''s', 'Greenfield',
              'Maple Leaf'])[1 + i % 7] || ' '
       || (ARRAY['Elementary School', 'High School', 'Academy', 'International School',
                 'Primary School'])[1 + i % 5],
       pg_temp.sample_address(i),
       pg_temp.sample_phone(6000000 + i, i % 12),
       CASE WHEN i % 5 = 4 THEN NULL ELSE format('office@school%s.example.edu', i) END,
       timestamptz '2023-01-02 08:00:00+00' + (i % 1000) * interval '5 hours'
  FROM generate_series(1, :n_schools) AS i;

-- Teachers -----------------------------------------------------------------------------
INSERT INTO teachers (id, school_id, full_name, email, phone, address, subject, password,
                      created_at)
SELECT t,
       (t - 1) / 8 + 1,
       pg_temp.sample_name(t),
       CASE WHEN t % 20 = 0 THEN CASE WHEN t % 40 = 0 THEN '' END
            ELSE format('teacher%s@school%s.example.edu', t, (t - 1) / 8 + 1)
       END,
       CASE WHEN t % 20 = 7 THEN pg_temp.sample_phone(t, 0)
            ELSE pg_temp.sample_phone(t, t % 12)
       END,
       pg_temp.sample_address(t),
       CASE WHEN t % 40 = 22 THEN 'Underwater Basket Weaving'
            WHEN t % 13 = 0 THEN NULL
            ELSE (ARRAY['Mathematics', 'English', 'Science', 'History', 'Art'])[1 + t % 5]
       END,
       'password' || t,
       timestamptz '2023-03-01 00:00:00+00' + ((t::bigint * 7919) % 400000) * interval '1 minute'
  FROM generate_series(1, :n_teachers) AS t;

-- Parents ------------------------------------------------------------------------------
INSERT INTO parents (id, school_id, full_name, email, phone, address, password, created_at)
SELECT p,
       (p - 1) / 30 + 1,
       pg_temp.sample_name(100000 + p),
       CASE WHEN p % 20 = 13 THEN CASE WHEN p % 40 = 13 THEN '' END
            WHEN p % 50 = 7 THEN                       -- a teacher's email
                 format('teacher%s@school%s.example.edu', x.et, (x.et - 1) / 8 + 1)
            WHEN p % 75 = 40 THEN                      -- the email of parent p - 1
                 format('parent%s@%s', p - 1,
                        (ARRAY['example.com', 'example.net', 'example.org', 'mail.example'])
                        [1 + (p - 1) % 4])
            ELSE format('parent%s@%s', p,
                        (ARRAY['example.com', 'example.net', 'example.org', 'mail.example'])
                        [1 + p % 4])
       END,
       CASE WHEN p % 75 = 22 THEN                      -- teacher 20 j + 7's number, respelled
                 pg_temp.sample_phone(20 * ((p - 22) / 75) + 7,
                                      (ARRAY[2, 1, 3, 10])[1 + ((p - 22) / 75) % 4])
            ELSE pg_temp.sample_phone(2000000 + p, p % 12)
       END,
       pg_temp.sample_address(p),
       'password' || (100000 + p),
       timestamptz '2023-06-01 00:00:00+00' + ((p::bigint * 7919) % 500000) * interval '1 minute'
  FROM generate_series(1, :n_parents) AS p
 CROSS JOIN LATERAL (
       SELECT 40 * (((p - 7) / 50) / 3)
              + (ARRAY[3, 17, 29])[1 + ((p - 7) / 50) % 3] AS et   -- teacher sharing the email
       ) AS x;

-- Students -----------------------------------------------------------------------------
INSERT INTO students (id, school_id, parent_id, full_name, email, phone, date_of_birth,
                      grade, created_at)
SELECT s,
       x.k + 1,
       CASE WHEN s % 10 = 1 THEN NULL
            WHEN s % 83 = 0 THEN ((x.k + 1) % :n_schools) * 30 + x.r % 30 + 1
            ELSE x.k * 30 + x.r % 30 + 1
       END,
       pg_temp.sample_name(200000 + s),
       CASE WHEN s % 5 IN (0, 1, 2) THEN CASE WHEN s % 10 = 0 THEN '' END
            ELSE format('student%s@school%s.example.edu', s, x.k + 1)
       END,
       CASE WHEN s % 4 = 0 THEN pg_temp.sample_phone(4000000 + s, (s / 4) % 12) END,
       CASE WHEN s % 31 = 0 THEN NULL
            ELSE date '2017-09-01' - (x.g - 1) * 365 - (s * 37) % 365
       END,
       CASE WHEN s % 15 = 0 THEN NULL ELSE 'Grade ' || x.g END,
       timestamptz '2023-09-01 00:00:00+00' + ((s::bigint * 7919) % 600000) * interval '1 minute'
  FROM generate_series(1, :n_students) AS s
 CROSS JOIN LATERAL (
       SELECT (s - 1) / 50 AS k,
              (s - 1) % 50 AS r,
              1 + s % 12   AS g
       ) AS x;

-- Sequences past the explicit ids, so later inserts by default do not collide.
SELECT setval(pg_get_serial_sequence('schools', 'id'), :n_schools),
       setval(pg_get_serial_sequence('teachers', 'id'), :n_teachers),
       setval(pg_get_serial_sequence('parents', 'id'), :n_parents),
       setval(pg_get_serial_sequence('students', 'id'), :n_students)
\g /dev/null

ANALYZE schools, teachers, parents, students;
