-- School system v1: separate teachers, parents and students, each with its own login.
-- Seed: 002_639db37274cbbd65 ("V1 to V2 Database Migration System").
-- Loaded with `SET search_path = v1`; names are unqualified on purpose.
--
-- What v1 gets wrong (and v2 fixes): every person kind is its own table with "direct
-- authentication" (a plaintext password column), emails are optional and not unique
-- (one address can sit on a teacher and a parent, or on two parents), phones and
-- addresses are free-form text, names are one full_name, grades and subjects are text.

CREATE TABLE schools (
    id          serial      PRIMARY KEY,
    name        text        NOT NULL,
    address     text,                       -- one line, comma separated, any country
    phone       text,                       -- free-form
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE teachers (
    id          serial      PRIMARY KEY,
    school_id   integer     NOT NULL REFERENCES schools (id),
    full_name   text        NOT NULL,       -- 'Cher' .. 'Juan Carlos de Cruz', stray spaces
    email       text,                       -- NULL or '' happen; not unique
    phone       text,                       -- free-form: '(212) 555-0100', 'n/a', ...
    address     text,                       -- one line, comma separated
    subject     text,                       -- free text: 'Mathematics', ..., or unknown
    password    text,                       -- PLAINTEXT ("direct authentication")
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_teachers_school_id ON teachers (school_id);

CREATE TABLE parents (
    id          serial      PRIMARY KEY,
    school_id   integer     NOT NULL REFERENCES schools (id),
    full_name   text        NOT NULL,
    email       text,                       -- not unique; may equal a teacher's email
    phone       text,
    address     text,
    password    text,                       -- PLAINTEXT
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_parents_school_id ON parents (school_id);

-- Students never log in with a password in v1; one parent at most (parent_id), and that
-- parent need not belong to the student's school.
CREATE TABLE students (
    id             serial      PRIMARY KEY,
    school_id      integer     NOT NULL REFERENCES schools (id),
    parent_id      integer     REFERENCES parents (id),
    full_name      text        NOT NULL,
    email          text,                    -- mostly missing
    phone          text,
    date_of_birth  date,
    grade          text,                    -- 'Grade 1' .. 'Grade 12', or NULL
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idx_students_school_id ON students (school_id);
CREATE INDEX idx_students_parent_id ON students (parent_id);
