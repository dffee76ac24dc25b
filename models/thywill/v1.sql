-- ThyWill v1: the SQLite database of the v1 app (SQLModel tables), with the corruption the
-- seed describes. Seed: 001_1b5878a1e86a430f ("ThyWill v2: Migration Strategy").
-- Build:  sqlite3 thywill-v1.db < models/thywill/v1.sql      (or models/thywill/build.sh FILE)
-- Stage:  pgmig stage sqlite:thywill-v1.db --db URL --schema v1
-- Deterministic: ids come from printf over row numbers, dates from fixed offsets.
PRAGMA foreign_keys = OFF;   -- v1 never turned them on: that is how orphans got in
BEGIN;

CREATE TABLE user (
    id                   VARCHAR NOT NULL PRIMARY KEY,   -- uuid4().hex
    display_name         VARCHAR NOT NULL,               -- '' and '   ' exist (seed check #2)
    religious_preference VARCHAR,                        -- NULL and '' -> 'unspecified' in v2
    prayer_style         VARCHAR,
    created_at           DATETIME NOT NULL               -- naive UTC, as SQLAlchemy writes it
);

CREATE TABLE prayer (
    id               VARCHAR NOT NULL PRIMARY KEY,
    author_id        VARCHAR NOT NULL REFERENCES user (id),
    text             TEXT NOT NULL,
    generated_prayer TEXT,
    target_audience  VARCHAR,                            -- NULL -> 'all' in v2
    flagged          BOOLEAN NOT NULL DEFAULT 0,
    created_at       DATETIME NOT NULL
);

CREATE TABLE prayermark (
    id        VARCHAR NOT NULL PRIMARY KEY,
    user_id   VARCHAR NOT NULL REFERENCES user (id),
    prayer_id VARCHAR NOT NULL REFERENCES prayer (id),
    created_at DATETIME NOT NULL
);

CREATE TABLE invitetoken (
    token           VARCHAR NOT NULL PRIMARY KEY,
    created_by_user VARCHAR NOT NULL REFERENCES user (id),
    used            BOOLEAN NOT NULL DEFAULT 0,
    used_by_user_id VARCHAR REFERENCES user (id),
    expires_at      DATETIME NOT NULL
);

CREATE TABLE role (
    id   VARCHAR NOT NULL PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE
);

CREATE TABLE user_role (
    user_id    VARCHAR NOT NULL REFERENCES user (id),
    role_id    VARCHAR NOT NULL REFERENCES role (id),
    granted_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, role_id)
);

-- 60 legitimate users: u1..u60.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
INSERT INTO user
SELECT printf('%08x%08x%016x', i * 2654435761 % 4294967296, i, i * 40503), 'Member ' || i,
       -- the guide maps `religious_preference or "unspecified"`: NULL and '' alike
       CASE i % 8 WHEN 0 THEN NULL WHEN 4 THEN '' ELSE CASE i % 4 WHEN 1 THEN 'christian' WHEN 2 THEN 'unspecified' ELSE 'catholic' END END,
       CASE WHEN i % 3 = 0 THEN 'in_community' END,
       datetime('2024-01-01 08:00:00', '+' || i || ' hours', '+' || (i * 37 % 60) || ' seconds')
  FROM n;

-- The corrupted users (seed: is_user_corrupted).
INSERT INTO user VALUES
    -- the known corrupted record
    ('12232388dbed436bbcc061e60e47ed99', 'Test User',  'unspecified', NULL, '2024-02-01 10:00:00'),
    -- empty display names
    ('aaaaaaaa00000000000000000000e001', '',           NULL,          NULL, '2024-02-02 10:00:00'),
    ('aaaaaaaa00000000000000000000e002', '   ',        'christian',   NULL, '2024-02-03 10:00:00'),
    -- rows v1 cannot fetch by their own id: ids that are not uuid4().hex (uppercase, a
    -- trailing newline from a hand import); the app's lookup by the normalized id misses them
    ('BBBBBBBB00000000000000000000F001', 'Lost Sheep',   NULL,        NULL, '2024-02-04 10:00:00'),
    ('bbbbbbbb00000000000000000000f002' || char(10), 'Hidden Member', NULL, NULL, '2024-02-05 10:00:00'),
    -- the guide's real corruption: a well-formed id whose entry in the primary key's index is
    -- missing (build.sh removes it), so `SELECT id FROM user WHERE id = ?` finds nothing
    ('c0ffee00000000000000000000000001', 'Unfindable Member', '', NULL, '2024-02-06 10:00:00');

-- 3 prayers per user, legitimate or not (the corrupted users' prayers are rejected with them).
WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 3)
INSERT INTO prayer
SELECT printf('%08x%08x%016x', u.rowid * 97 + k.j, k.j, u.rowid * 7 + k.j), u.id,
       'Please pray for request ' || u.rowid || '.' || k.j,
       CASE WHEN k.j <> 2 THEN 'Lord, hear the request of ' || u.display_name END,
       CASE k.j WHEN 1 THEN 'all' WHEN 2 THEN NULL ELSE 'christians_only' END,
       (u.rowid + k.j) % 17 = 0,
       datetime(u.created_at, '+' || k.j || ' days')
  FROM user u, k;

-- Orphan prayers: their author is gone.
INSERT INTO prayer VALUES
    ('cccccccc00000000000000000000c001', 'dddddddd00000000000000000000d001', 'Orphan prayer 1', NULL, 'all', 0, '2024-03-01 09:00:00'),
    ('cccccccc00000000000000000000c002', 'dddddddd00000000000000000000d002', 'Orphan prayer 2', NULL, NULL,  0, '2024-03-02 09:00:00');

-- Marks: every user marks the prayers of the next two users (legitimate or not).
INSERT INTO prayermark
SELECT printf('%08x%08x%016x', m.rowid * 131 + p.rowid, p.rowid, m.rowid), m.id, p.id, datetime(p.created_at, '+1 hours')
  FROM user m JOIN user a ON a.rowid IN (m.rowid + 1, m.rowid + 2)
  JOIN prayer p ON p.author_id = a.id;

-- Orphan marks: prayer gone, user gone.
INSERT INTO prayermark VALUES
    ('eeeeeeee00000000000000000000e001', (SELECT id FROM user WHERE rowid = 1), 'ffffffff00000000000000000000f404', '2024-03-03 09:00:00'),
    ('eeeeeeee00000000000000000000e002', 'dddddddd00000000000000000000d003', (SELECT id FROM prayer WHERE rowid = 1), '2024-03-03 09:05:00');

-- Invites: each of the first 20 users and every corrupted user made one; half were used.
INSERT INTO invitetoken
SELECT printf('tok%05d', u.rowid), u.id, u.rowid % 2 = 0,
       CASE WHEN u.rowid % 2 = 0 THEN (SELECT v.id FROM user v WHERE v.rowid = u.rowid + 20) END,
       datetime(u.created_at, '+7 days')
  FROM user u WHERE u.rowid <= 20 OR u.rowid > 60;
-- An invite used by a corrupted user, made by a legitimate one.
INSERT INTO invitetoken VALUES ('tok09999', (SELECT id FROM user WHERE rowid = 3), 1, '12232388dbed436bbcc061e60e47ed99', '2024-02-08 10:00:00');

INSERT INTO role VALUES ('role-admin', 'admin'), ('role-moderator', 'moderator');
INSERT INTO user_role
SELECT id, 'role-admin', datetime(created_at, '+1 days') FROM user WHERE rowid IN (1, 2, 61)
UNION ALL
SELECT id, 'role-moderator', datetime(created_at, '+2 days') FROM user WHERE rowid IN (2, 5, 62);

COMMIT;
