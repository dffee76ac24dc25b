-- School system v2: one central users table, roles through user_roles, a profile per role.
-- Seed: 002_639db37274cbbd65 ("V1 to V2 Database Migration System").
-- Loaded into `public`; names are unqualified. gen_random_uuid() is built in (PG 13+).
-- Every foreign key column is the leading column of an index (a PRIMARY KEY or UNIQUE
-- constraint whose first column is the FK column counts as that index).
--
-- The reference tables (permission_modules .. roles) are filled by the migration's
-- reference data (the seed's setup_v2.py), not by this file.

-- Reference data ----------------------------------------------------------------------

-- Permission modules (the seed's "permission modules and permissions").
CREATE TABLE permission_modules (
    id    serial PRIMARY KEY,
    code  text   NOT NULL UNIQUE,
    name  text   NOT NULL
);

-- Permissions, each in a module; the code is unique across modules ('users.manage').
CREATE TABLE permissions (
    id         serial  PRIMARY KEY,
    module_id  integer NOT NULL REFERENCES permission_modules (id),
    code       text    NOT NULL UNIQUE,
    name       text    NOT NULL
);

CREATE INDEX idx_permissions_module_id ON permissions (module_id);

-- Grade systems ("grade systems and levels"), e.g. a K-12 system.
CREATE TABLE grade_systems (
    id    serial PRIMARY KEY,
    code  text   NOT NULL UNIQUE,
    name  text   NOT NULL
);

-- Class levels of a grade system, in order (position); v1's 'Grade 7' maps to one.
-- Index on grade_system_id: the UNIQUE (grade_system_id, code) constraint.
CREATE TABLE class_levels (
    id               serial  PRIMARY KEY,
    grade_system_id  integer NOT NULL REFERENCES grade_systems (id),
    code             text    NOT NULL,
    name             text    NOT NULL,
    position         integer NOT NULL,
    CONSTRAINT class_levels_grade_system_id_code_key UNIQUE (grade_system_id, code)
);

-- Curriculums a school can follow ("default curriculums").
CREATE TABLE curriculums (
    id    serial PRIMARY KEY,
    code  text   NOT NULL UNIQUE,
    name  text   NOT NULL
);

-- Subject categories ("subject categories and subjects").
CREATE TABLE subject_categories (
    id    serial PRIMARY KEY,
    code  text   NOT NULL UNIQUE,
    name  text   NOT NULL
);

-- Subjects a teacher can teach; v1's free-text teachers.subject maps to one (or none).
CREATE TABLE subjects (
    id           serial  PRIMARY KEY,
    code         text    NOT NULL UNIQUE,
    name         text    NOT NULL,
    category_id  integer REFERENCES subject_categories (id)
);

CREATE INDEX idx_subjects_category_id ON subjects (category_id);

-- Kinds of user: teacher, parent, student (and admin).
CREATE TABLE user_types (
    id    serial PRIMARY KEY,
    code  text   NOT NULL UNIQUE,
    name  text   NOT NULL
);

-- Roles a user can hold; each role belongs to one user type.
CREATE TABLE roles (
    id            serial  PRIMARY KEY,
    code          text    NOT NULL UNIQUE,
    name          text    NOT NULL,
    user_type_id  integer NOT NULL REFERENCES user_types (id)
);

CREATE INDEX idx_roles_user_type_id ON roles (user_type_id);

-- The permissions a role grants. Index on role_id: the primary key.
CREATE TABLE role_permissions (
    role_id        integer NOT NULL REFERENCES roles (id),
    permission_id  integer NOT NULL REFERENCES permissions (id),
    PRIMARY KEY (role_id, permission_id)
);

CREATE INDEX idx_role_permissions_permission_id ON role_permissions (permission_id);

-- Core data -----------------------------------------------------------------------------

-- Schools, with the v1 one-line address split into parts and the phone in E.164.
CREATE TABLE schools (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name           text        NOT NULL,
    email          text,
    phone          text        CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),   -- E.164
    street         text,
    city           text,
    region         text,
    postal_code    text,
    country        text,
    curriculum_id  integer     REFERENCES curriculums (id),
    created_at     timestamptz NOT NULL
);

CREATE INDEX idx_schools_curriculum_id ON schools (curriculum_id);

-- Every person who can log in: one row per migrated teacher, parent and student (or one
-- per person, when the migration merges a teacher and a parent with the same email).
-- Email is mandatory and unique (generated when v1 had none), phone unique in E.164.
-- Only bcrypt hashes: v1's plaintext passwords are never copied; the migration sets a new
-- random password and must_reset_password.
CREATE TABLE users (
    id                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email                text        NOT NULL UNIQUE,
    phone                text        UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),
    first_name           text        NOT NULL,
    middle_name          text,
    last_name            text,
    password_hash        text        NOT NULL CHECK (password_hash LIKE '$2%'),   -- bcrypt
    must_reset_password  boolean     NOT NULL DEFAULT true,
    user_type_id         integer     NOT NULL REFERENCES user_types (id),
    created_at           timestamptz NOT NULL
);

CREATE INDEX idx_users_user_type_id ON users (user_type_id);

-- Roles held by a user, optionally scoped to a school (the seed's UserRole).
-- Index on user_id: the UNIQUE (user_id, role_id) constraint.
CREATE TABLE user_roles (
    id         uuid    PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid    NOT NULL REFERENCES users (id),
    role_id    integer NOT NULL REFERENCES roles (id),
    school_id  uuid    REFERENCES schools (id),
    CONSTRAINT user_roles_user_id_role_id_key UNIQUE (user_id, role_id)
);

CREATE INDEX idx_user_roles_role_id ON user_roles (role_id);
CREATE INDEX idx_user_roles_school_id ON user_roles (school_id);

-- Teacher data of a user (from v1 teachers). Index on user_id: the primary key.
CREATE TABLE teacher_profiles (
    user_id      uuid    PRIMARY KEY REFERENCES users (id),
    school_id    uuid    NOT NULL REFERENCES schools (id),
    subject_id   integer REFERENCES subjects (id),
    street       text,
    city         text,
    region       text,
    postal_code  text,
    country      text
);

CREATE INDEX idx_teacher_profiles_school_id ON teacher_profiles (school_id);
CREATE INDEX idx_teacher_profiles_subject_id ON teacher_profiles (subject_id);

-- Parent data of a user (from v1 parents). Index on user_id: the primary key.
CREATE TABLE parent_profiles (
    user_id      uuid PRIMARY KEY REFERENCES users (id),
    school_id    uuid NOT NULL REFERENCES schools (id),
    street       text,
    city         text,
    region       text,
    postal_code  text,
    country      text
);

CREATE INDEX idx_parent_profiles_school_id ON parent_profiles (school_id);

-- Student data of a user (from v1 students): the parent is a user too, and the v1 grade
-- text becomes a class level. Index on user_id: the primary key.
CREATE TABLE student_profiles (
    user_id         uuid    PRIMARY KEY REFERENCES users (id),
    school_id       uuid    NOT NULL REFERENCES schools (id),
    parent_user_id  uuid    REFERENCES users (id),
    class_level_id  integer REFERENCES class_levels (id),
    date_of_birth   date
);

CREATE INDEX idx_student_profiles_school_id ON student_profiles (school_id);
CREATE INDEX idx_student_profiles_parent_user_id ON student_profiles (parent_user_id);
CREATE INDEX idx_student_profiles_class_level_id ON student_profiles (class_level_id);
