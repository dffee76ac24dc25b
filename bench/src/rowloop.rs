//! The row-by-row client baseline (the seeds' approach): reads V1 rows through the `postgres`
//! crate and inserts each V2 row with its own statement, in one transaction, doing the
//! workout model's transformations in the client. V1 is read in batches through portals
//! (a server-side cursor), so memory holds only the keys the later steps look up.
//!
//! Values travel as text (`$n::text::uuid`…): the crate is built without uuid/chrono/numeric
//! support, and every row is one round trip either way.

use std::collections::{BTreeSet, HashMap, HashSet};

use postgres::Client;

const BATCH: i32 = 5_000;

fn label(day_label: Option<String>, muscle_group: &str) -> String {
    day_label.unwrap_or_else(|| {
        match muscle_group {
            "chest" | "shoulders" | "triceps" => "Push Day",
            "back" | "biceps" => "Pull Day",
            "quads" | "hamstrings" | "glutes" => "Leg Day",
            _ => "Upper Body",
        }
        .to_string()
    })
}

/// `{"a","b"}`: a text[] literal.
fn array_literal(items: &BTreeSet<String>) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

fn num_lt0(v: &Option<String>) -> bool {
    v.as_deref()
        .and_then(|s| s.parse::<f64>().ok())
        .is_some_and(|x| x < 0.0)
}

/// Runs the migration; returns the number of V2 rows inserted.
pub fn run(client: &mut Client) -> Result<u64, postgres::Error> {
    let mut tx = client.transaction()?;
    let mut inserted = 0u64;

    // ---- plans (oldest first: the k-th of one (user_id, name) is renamed name-k) and their weeks
    let ins_plan = tx.prepare(
        "INSERT INTO public.workout_plans (id, user_id, name, description, goal, total_weeks, current_week, \
         status, created_at, updated_at) VALUES ($1::text::uuid, $2::text::uuid, $3, $4, $5, $6, 1, $7, \
         $8::text::timestamptz, $9::text::timestamptz)",
    )?;
    let ins_week = tx.prepare(
        "INSERT INTO public.workout_weeks (plan_id, week_number, start_date, end_date) \
         VALUES ($1::text::uuid, $2, $3::text::date + ($2 - 1) * 7, $3::text::date + $2 * 7 - 1) RETURNING id::text",
    )?;
    let mut v1_plans: HashSet<String> = HashSet::new();
    let mut kept: HashMap<String, i32> = HashMap::new(); // plan id -> weeks
    let mut seen: HashMap<(String, String), i32> = HashMap::new();
    let mut weeks: HashMap<(String, i32), String> = HashMap::new();
    let portal = tx.bind(
        "SELECT id::text, user_id::text, name, description, goal, duration_weeks, start_date::text, is_active, \
         created_at::text, updated_at::text FROM v1.workout_plans ORDER BY created_at, id",
        &[],
    )?;
    loop {
        let rows = tx.query_portal(&portal, BATCH)?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let id: String = r.get(0);
            v1_plans.insert(id.clone());
            let user: Option<String> = r.get(1);
            let Some(user) = user else { continue };
            let name: String = r.get(2);
            let k = seen.entry((user.clone(), name.clone())).or_insert(0);
            *k += 1;
            let name = if *k == 1 { name } else { format!("{name}-{k}") };
            let description: Option<String> = r.get(3);
            let goal: Option<String> = r.get(4);
            let dw: i32 = r.get::<_, Option<i32>>(5).unwrap_or(4);
            let start: String = r.get(6);
            let active: bool = r.get(7);
            let created: String = r.get(8);
            let updated: String = r.get(9);
            let goal = goal.unwrap_or_else(|| "general_fitness".into());
            let status = if active { "active" } else { "completed" };
            tx.execute(
                &ins_plan,
                &[
                    &id,
                    &user,
                    &name,
                    &description,
                    &goal,
                    &dw,
                    &status,
                    &created,
                    &updated,
                ],
            )?;
            inserted += 1;
            for n in 1..=dw {
                let wid: String = tx.query_one(&ins_week, &[&id, &n, &start])?.get(0);
                weeks.insert((id.clone(), n), wid);
                inserted += 1;
            }
            kept.insert(id, dw);
        }
    }
    drop(portal);
    drop(seen);

    // ---- days: one per (plan, label) group of exercises, in every week of a kept plan
    let ins_day = tx.prepare(
        "INSERT INTO public.workout_days (week_id, day_label, muscle_groups) \
         VALUES ($1::text::uuid, $2, $3::text::text[]) RETURNING id::text",
    )?;
    let mut groups: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
    let portal = tx.bind(
        "SELECT plan_id::text, day_label, muscle_group FROM v1.exercises",
        &[],
    )?;
    loop {
        let rows = tx.query_portal(&portal, BATCH)?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let plan: String = r.get(0);
            let mg: String = r.get(2);
            let l = label(r.get(1), &mg);
            groups.entry((plan, l)).or_default().insert(mg);
        }
    }
    drop(portal);
    let mut days1: HashMap<(String, String), String> = HashMap::new(); // (plan, label) -> week-1 day
    for ((plan, l), mgs) in &groups {
        let Some(&dw) = kept.get(plan) else { continue };
        let arr = array_literal(mgs);
        for n in 1..=dw {
            let wid = &weeks[&(plan.clone(), n)];
            let did: String = tx.query_one(&ins_day, &[wid, l, &arr])?.get(0);
            inserted += 1;
            if n == 1 {
                days1.insert((plan.clone(), l.clone()), did);
            }
        }
    }
    drop(groups);
    drop(weeks);

    // ---- exercises
    let ins_ex = tx.prepare(
        "INSERT INTO public.exercises (id, day_id, name, muscle_group, sets, target_reps_min, target_reps_max, \
         target_weight, rest_seconds, notes, order_index) VALUES ($1::text::uuid, $2::text::uuid, $3, $4, $5, $6, \
         $7, $8::text::numeric, $9, $10, $11)",
    )?;
    let mut exercises: HashSet<String> = HashSet::new();
    let portal = tx.bind(
        "SELECT id::text, plan_id::text, name, muscle_group, day_label, sets, reps_min, reps_max, weight::text, \
         rest_seconds, notes, order_index FROM v1.exercises",
        &[],
    )?;
    loop {
        let rows = tx.query_portal(&portal, BATCH)?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let plan: String = r.get(1);
            if !v1_plans.contains(&plan) {
                continue; // orphan
            }
            let sets: i32 = r.get(5);
            let reps_min: Option<i32> = r.get(6);
            let weight: Option<String> = r.get(8);
            if sets <= 0 || reps_min.is_some_and(|x| x <= 0) || num_lt0(&weight) {
                continue; // invalid
            }
            if !kept.contains_key(&plan) {
                continue; // plan rejected
            }
            let id: String = r.get(0);
            let mg: String = r.get(3);
            let l = label(r.get(4), &mg);
            let day = &days1[&(plan, l)];
            let name: String = r.get(2);
            let reps_max: Option<i32> = r.get(7);
            let rest: i32 = r.get::<_, Option<i32>>(9).unwrap_or(90);
            let notes: Option<String> = r.get(10);
            let order: i32 = r.get(11);
            tx.execute(
                &ins_ex,
                &[
                    &id, day, &name, &mg, &sets, &reps_min, &reps_max, &weight, &rest, &notes,
                    &order,
                ],
            )?;
            inserted += 1;
            exercises.insert(id);
        }
    }
    drop(portal);
    drop(v1_plans);

    // ---- the day each session trained: per (session, plan, label), its logged sets
    let mut trained: HashMap<String, Vec<(String, String, i64)>> = HashMap::new();
    let portal = tx.bind(
        "SELECT l.session_id::text, e.plan_id::text, e.day_label, e.muscle_group \
         FROM v1.exercise_logs l JOIN v1.exercises e ON e.id = l.exercise_id",
        &[],
    )?;
    loop {
        let rows = tx.query_portal(&portal, BATCH)?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let session: String = r.get(0);
            let plan: String = r.get(1);
            let mg: String = r.get(3);
            let l = label(r.get(2), &mg);
            let sets = trained.entry(session).or_default();
            match sets.iter_mut().find(|(p, x, _)| *p == plan && *x == l) {
                Some(found) => found.2 += 1,
                None => sets.push((plan, l, 1)),
            }
        }
    }
    drop(portal);

    // ---- sessions
    let ins_s = tx.prepare(
        "INSERT INTO public.workout_sessions (id, user_id, plan_id, day_id, started_at, completed_at, status, notes) \
         VALUES ($1::text::uuid, $2::text::uuid, $3::text::uuid, $8::text::uuid, $4::text::timestamptz, \
         $5::text::timestamptz, $6, $7)",
    )?;
    let mut sessions: HashSet<String> = HashSet::new();
    let portal = tx.bind(
        "SELECT id::text, user_id::text, plan_id::text, started_at::text, completed_at::text, notes, \
         started_at < now() - interval '24 hours' FROM v1.workout_sessions",
        &[],
    )?;
    loop {
        let rows = tx.query_portal(&portal, BATCH)?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let plan: String = r.get(2);
            if !kept.contains_key(&plan) {
                continue;
            }
            let id: String = r.get(0);
            let user: String = r.get(1);
            let started: String = r.get(3);
            let completed: Option<String> = r.get(4);
            let notes: Option<String> = r.get(5);
            let stale: bool = r.get(6);
            let status = match (&completed, stale) {
                (Some(_), _) => "completed",
                (None, true) => "abandoned",
                (None, false) => "in_progress",
            };
            // Most logged sets of the session's own plan, ties to the smallest label.
            let day: Option<&String> = trained
                .get(&id)
                .and_then(|sets| {
                    sets.iter()
                        .filter(|(p, _, _)| *p == plan)
                        .max_by(|a, b| a.2.cmp(&b.2).then_with(|| b.1.cmp(&a.1)))
                })
                .and_then(|(p, l, _)| days1.get(&(p.clone(), l.clone())));
            tx.execute(
                &ins_s,
                &[
                    &id, &user, &plan, &started, &completed, &status, &notes, &day,
                ],
            )?;
            inserted += 1;
            sessions.insert(id);
        }
    }
    drop(portal);
    drop(trained);
    drop(days1);

    // ---- logs
    let ins_l = tx.prepare(
        "INSERT INTO public.exercise_logs (id, session_id, exercise_id, set_number, reps, weight, completed_at) \
         VALUES ($1::text::uuid, $2::text::uuid, $3::text::uuid, $4, $5, $6::text::numeric, $7::text::timestamptz)",
    )?;
    let portal = tx.bind(
        "SELECT id::text, session_id::text, exercise_id::text, set_number, reps, weight::text, completed_at::text \
         FROM v1.exercise_logs",
        &[],
    )?;
    loop {
        let rows = tx.query_portal(&portal, BATCH)?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let session: String = r.get(1);
            if !sessions.contains(&session) {
                continue;
            }
            // A log whose exercise was not migrated keeps no exercise.
            let exercise: Option<String> =
                Some(r.get::<_, String>(2)).filter(|e| exercises.contains(e));
            let id: String = r.get(0);
            let set_number: i32 = r.get(3);
            let reps: Option<i32> = r.get(4);
            let weight: Option<String> = r.get(5);
            let completed: String = r.get(6);
            tx.execute(
                &ins_l,
                &[
                    &id,
                    &session,
                    &exercise,
                    &set_number,
                    &reps,
                    &weight,
                    &completed,
                ],
            )?;
            inserted += 1;
        }
    }
    drop(portal);
    tx.commit()?;
    Ok(inserted)
}
