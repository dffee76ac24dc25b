//! `--entities`: the school model migrated in subsets (schools, then teachers, then parents
//! and students), each refused until the steps it needs are done, rolled back in reverse.

use std::path::Path;

use crate::support::scripts::{count, must_pass, stderr};
use crate::support::{cluster, repo_root, TestDb};

fn school() -> std::path::PathBuf {
    repo_root().join("models/school")
}

/// The school model's scripts for `entities` only.
fn compiled(entities: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let selection = pgmig::compile::Selection {
        entities: entities.iter().map(|e| e.to_string()).collect(),
        only: None,
    };
    let c = pgmig::compile::compile_selected(
        &school().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(school().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(school().join("v2.sql")),
        &selection,
    )
    .unwrap_or_else(|e| panic!("--entities {entities:?} must compile: {e:?}"));
    pgmig::compile::write(&c.scripts, dir.path()).unwrap();
    dir
}

fn school_db(name: &str) -> TestDb {
    let db = cluster().create_db(name);
    db.execute("CREATE SCHEMA v1");
    db.load_in_schema(&school().join("v1.sql"), "v1");
    db.load_in_schema(&school().join("v2.sql"), "public");
    db.load_in_schema(&school().join("sample.sql"), "v1");
    db
}

fn refused(db: &TestDb, dir: &Path, script: &str, says: &str) {
    let out = db.psql_file(dir.join(script), &[]);
    assert!(!out.status.success(), "{script} must be refused");
    assert!(
        stderr(&out).contains(says),
        "{script}: expected `{says}` in:\n{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_entity_is_bad_input_with_a_suggestion() {
    let err = pgmig::compile::compile_selected(
        &school().join("model.yaml"),
        &pgmig::SchemaInput::Ddl(school().join("v1.sql")),
        &pgmig::SchemaInput::Ddl(school().join("v2.sql")),
        &pgmig::compile::Selection {
            entities: vec!["teacher".to_string()],
            only: None,
        },
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().contains("`teacher` names no step")
            && err.to_string().contains("did you mean `teachers`?"),
        "{err}"
    );
}

#[test]
fn an_entity_selects_the_steps_reading_its_v1_table_and_names_what_it_needs() {
    let dir = compiled(&["teachers"]);
    let plan = std::fs::read_to_string(dir.path().join("PLAN.md")).unwrap();
    for step in [
        "`teacher_users` → `public.users`",
        "`teacher_roles` → `public.user_roles`",
        "`teacher_profiles` → `public.teacher_profiles`",
    ] {
        assert!(plan.contains(step), "PLAN.md lacks {step}");
    }
    assert!(
        !plan.contains("`parent_users`"),
        "parents are not in the subset"
    );
    // Only `schools` is needed: the user_roles foreign key to users reads teacher_users' map only.
    assert!(plan.contains("- schools (teacher_roles needs it"), "{plan}");
    assert!(!plan.contains("- parent_users ("), "{plan}");
}

#[test]
fn subsets_run_in_dependency_order_and_roll_back_in_reverse() {
    let db = school_db("entities");
    let before = db.table_md5s(&["public"]);
    let schools = compiled(&["schools"]);
    let teachers = compiled(&["teachers"]);
    let rest = compiled(&["parents", "students"]);

    // Teachers need their schools, and the schools' administrators (teacher_users' e-mail
    // repair keeps the values admin_users put in users first): refused, nothing is written.
    refused(
        &db,
        teachers.path(),
        "migrate.sql",
        "needs these steps migrated first: admin_users, schools",
    );
    refused(
        &db,
        teachers.path(),
        "precheck.sql",
        "needs these steps migrated first: admin_users, schools",
    );
    assert_eq!(
        db.table_md5s(&["public"]),
        before,
        "a refused subset changed V2"
    );

    must_pass(
        db.psql_file(schools.path().join("migrate.sql"), &[]),
        "migrate schools",
    );
    must_pass(
        db.psql_file(teachers.path().join("precheck.sql"), &[]),
        "precheck teachers",
    );
    must_pass(
        db.psql_file(teachers.path().join("migrate.sql"), &[]),
        "migrate teachers",
    );
    must_pass(
        db.psql_file(teachers.path().join("verify.sql"), &[]),
        "verify teachers",
    );
    refused(
        &db,
        teachers.path(),
        "migrate.sql",
        "already migrated in this database: teacher_profiles, teacher_roles, teacher_users",
    );
    // The whole model is not verified yet: parents and students are missing.
    refused(
        &db,
        &repo_root().join("out/school"),
        "verify.sql",
        "no completed migration",
    );
    refused(
        &db,
        schools.path(),
        "rollback.sql",
        "need the rows this rollback would remove: teacher_profiles, teacher_roles",
    );

    must_pass(
        db.psql_file(rest.path().join("migrate.sql"), &[]),
        "migrate parents and students",
    );
    // The run summary (the log) says how many values the repairs changed, as _pgmig.changes has them.
    let message: String = db
        .client()
        .query_one("SELECT message FROM _pgmig.log WHERE model = 'school' AND step = 'parent_users' AND status = 'done'", &[])
        .unwrap()
        .get(0);
    let changes = count(
        &db,
        "SELECT count(*) FROM _pgmig.changes WHERE model = 'school' AND step = 'parent_users'",
    );
    assert!(changes > 0, "the sample plants collisions");
    assert_eq!(
        message,
        format!("{changes} values repaired (_pgmig.changes)")
    );
    assert_eq!(count(&db, "SELECT count(*) FROM _pgmig.log WHERE model = 'school' AND step = '(all)' AND status = 'done'"), 1);
    // Three subsets make what one full run makes: the full verify passes.
    must_pass(
        db.psql_file(repo_root().join("out/school/verify.sql"), &[]),
        "full verify after the subsets",
    );
    let users = count(&db, "SELECT count(*) FROM users");
    // A user per V1 person, and an administrator per school.
    let sources = count(&db, "SELECT (SELECT count(*) FROM v1.schools) + (SELECT count(*) FROM v1.teachers) + (SELECT count(*) FROM v1.parents) + (SELECT count(*) FROM v1.students)");
    assert_eq!(users, sources);

    // Back in reverse; reference rows stay until the last subset is rolled back.
    refused(&db, schools.path(), "rollback.sql", "teacher_profiles");
    must_pass(
        db.psql_file(rest.path().join("rollback.sql"), &[]),
        "rollback parents and students",
    );
    must_pass(
        db.psql_file(teachers.path().join("rollback.sql"), &[]),
        "rollback teachers",
    );
    assert!(
        count(&db, "SELECT count(*) FROM roles") > 0,
        "reference rows removed while schools is still migrated"
    );
    must_pass(
        db.psql_file(schools.path().join("rollback.sql"), &[]),
        "rollback schools",
    );
    assert_eq!(
        db.table_md5s(&["public"]),
        before,
        "V2 differs from before the subsets"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM _pgmig.reference WHERE model = 'school'"
        ),
        0
    );

    // And the subsets can run again.
    must_pass(
        db.psql_file(schools.path().join("migrate.sql"), &[]),
        "migrate schools again",
    );
}

/// Without repair rules, the same email from a teacher and a parent (and a phone shared by
/// them) is a blocking precheck finding with sample keys, and migrate would fail.
#[test]
fn collisions_without_a_repair_rule_are_blocking_precheck_findings() {
    let text = std::fs::read_to_string(school().join("model.yaml")).unwrap();
    let edited = text
        .replace("      - { column: email, on_duplicate: suffix }\n", "")
        .replace("      - { column: phone, on_duplicate: clear }\n", "")
        .replace("    repair:\n", "");
    assert!(
        !edited.contains("repair:"),
        "the edit must remove every repair rule"
    );
    let model_dir = tempfile::tempdir().unwrap();
    std::fs::write(model_dir.path().join("model.yaml"), edited).unwrap();
    let dir = crate::support::compile_ddl(
        &model_dir.path().join("model.yaml"),
        &school().join("v1.sql"),
        &school().join("v2.sql"),
    );
    let db = school_db("entities_norepair");
    let out = db.psql_file(dir.path().join("precheck.sql"), &[]);
    assert!(
        !out.status.success(),
        "precheck must fail on the collisions"
    );
    let notices = stderr(&out);
    let finding = |label: &str| {
        notices
            .lines()
            .find(|l| l.contains("BLOCKING  parent_users") && l.contains(label))
            .map(str::to_string)
    };
    let email = finding("UNIQUE users_email_key: step teacher_users makes the same value")
        .unwrap_or_else(|| panic!("{notices}"));
    let phone = finding("UNIQUE users_phone_key: step teacher_users makes the same value")
        .unwrap_or_else(|| panic!("{notices}"));
    // Sample keys are V1 parent ids.
    assert!(email.contains("e.g. {\"id\": "), "{email}");
    assert!(phone.contains("e.g. {\"id\": "), "{phone}");
    let planted: i64 = count(
        &db,
        "SELECT count(*) FROM v1.parents p WHERE EXISTS (SELECT 1 FROM v1.teachers t WHERE lower(btrim(t.email)) = lower(btrim(p.email)) AND btrim(p.email) <> '')",
    );
    assert!(
        email.contains(&format!(": {planted} rows")),
        "expected {planted} rows: {email}"
    );
}

/// The guide's order is a rule: "Teachers Next, Parents Then". A parent sharing a teacher's
/// e-mail gets the suffix because the teacher's user is there first; parents migrated before
/// teachers would keep the address and hand the teachers the suffixes. So a subset whose
/// repairs depend on rows of steps not yet migrated is refused, naming them, and nothing is
/// written; in the guide's order, no teacher's e-mail or phone is changed.
#[test]
fn parents_before_teachers_are_refused_naming_the_steps_their_repairs_need() {
    let db = school_db("entities_repair_order");
    let schools = compiled(&["schools"]);
    let teachers = compiled(&["teachers"]);
    let parents = compiled(&["parents"]);
    let plan = std::fs::read_to_string(parents.path().join("PLAN.md")).unwrap();
    assert!(
        plan.contains("- teacher_users (parent_users needs it: its repair of public.users (email, phone) keeps the values teacher_users put there first)"),
        "{plan}"
    );
    must_pass(
        db.psql_file(schools.path().join("migrate.sql"), &[]),
        "migrate schools",
    );
    let before = db.table_md5s(&["public"]);
    for script in ["precheck.sql", "migrate.sql"] {
        refused(
            &db,
            parents.path(),
            script,
            "needs these steps migrated first: teacher_users",
        );
    }
    assert_eq!(
        db.table_md5s(&["public"]),
        before,
        "a refused subset changed V2"
    );

    must_pass(
        db.psql_file(teachers.path().join("migrate.sql"), &[]),
        "migrate teachers",
    );
    must_pass(
        db.psql_file(parents.path().join("migrate.sql"), &[]),
        "migrate parents",
    );
    // The guide's rule on the migrated users: every teacher keeps its V1 e-mail (normalized);
    // the parents sharing one got the suffix.
    let teachers_changed = count(
        &db,
        "SELECT count(*) FROM v1.teachers t JOIN _pgmig.map_teacher_users m ON m.source_id = t.id
           JOIN public.users u ON u.id = m.id
          WHERE nullif(lower(btrim(t.email)), '') IS NOT NULL AND u.email <> lower(btrim(t.email))",
    );
    assert_eq!(teachers_changed, 0, "a teacher lost its e-mail");
    let parents_suffixed = count(
        &db,
        "SELECT count(*) FROM v1.parents p JOIN _pgmig.map_parent_users m ON m.source_id = p.id
           JOIN public.users u ON u.id = m.id
           JOIN v1.teachers t ON lower(btrim(t.email)) = lower(btrim(p.email))
          WHERE u.email = replace(lower(btrim(p.email)), '@', '+2@')",
    );
    assert_eq!(
        parents_suffixed, 3,
        "the sample's teacher/parent shared e-mails"
    );
}
