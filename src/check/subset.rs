//! `--entities`: a subset of a model's steps, compiled on their own.
//!
//! An entity names steps: a step by its name, or every step whose first `from` table is the
//! V1 table of that name (`teachers` selects teacher_users, teacher_roles, teacher_profiles).
//! The steps the subset needs and leaves out become prerequisites: the scripts refuse to run
//! until a migrate that included them is done.
//!
//! A step that repairs duplicates in a target table (`on_duplicate: suffix` or `clear`) needs
//! every earlier step into that table too: which values it changes depends on the rows they
//! put there first. Parents migrated before teachers would keep the e-mails the guide's order
//! gives to the teachers (and the teachers would get the suffixes).

use std::collections::BTreeSet;

use super::suggest::did_you_mean;
use crate::plan::{Dependency, Key, OtherMap, Plan, Subset};

/// The plan of `entities` only; an entity that names no step is an error naming the choices.
pub fn select(mut plan: Plan, entities: &[String]) -> Result<Plan, String> {
    if entities.is_empty() {
        return Ok(plan);
    }
    let mut chosen: BTreeSet<String> = BTreeSet::new();
    for entity in entities {
        let matching: Vec<String> = plan
            .steps
            .iter()
            .filter(|s| {
                &s.name == entity || s.source_table.as_ref().is_some_and(|t| &t.name == entity)
            })
            .map(|s| s.name.clone())
            .collect();
        if matching.is_empty() {
            let mut names: Vec<String> = plan.steps.iter().map(|s| s.name.clone()).collect();
            names.extend(
                plan.steps
                    .iter()
                    .filter_map(|s| s.source_table.as_ref().map(|t| t.name.clone())),
            );
            names.sort();
            names.dedup();
            let hint = did_you_mean(entity, &names).map_or_else(
                || format!("entities are step names or V1 tables: {}", names.join(", ")),
                |s| format!("did you mean `{s}`?"),
            );
            return Err(format!(
                "--entities: `{entity}` names no step of model {} ({hint})",
                plan.model
            ));
        }
        chosen.extend(matching);
    }
    let all_steps: Vec<String> = plan.steps.iter().map(|s| s.name.clone()).collect();
    let mut prerequisites: Vec<Dependency> = Vec::new();
    for s in plan.steps.iter().filter(|s| chosen.contains(&s.name)) {
        let repair_order = repaired_after(&plan, s);
        for d in s
            .after
            .iter()
            .chain(&repair_order)
            .filter(|d| !chosen.contains(&d.step))
        {
            if !prerequisites.iter().any(|p| p.step == d.step) {
                prerequisites.push(Dependency {
                    step: d.step.clone(),
                    reason: format!("{} needs it: {}", s.name, d.reason),
                });
            }
        }
    }
    let dependents: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| {
            !chosen.contains(&s.name)
                && s.after
                    .iter()
                    .chain(&repaired_after(&plan, s))
                    .any(|d| chosen.contains(&d.step))
        })
        .map(|s| s.name.clone())
        .collect();
    // Precheck looks for FK parents in the id maps of steps that run before: of the subset,
    // or of its prerequisites. Other steps' maps may not exist yet.
    let available: BTreeSet<String> = plan
        .steps
        .iter()
        .filter(|s| chosen.contains(&s.name) || prerequisites.iter().any(|p| p.step == s.name))
        .map(|s| s.map_table.to_string())
        .collect();
    let chosen_targets: BTreeSet<&crate::catalog::QualName> = plan
        .steps
        .iter()
        .filter(|s| chosen.contains(&s.name))
        .map(|s| &s.target)
        .collect();
    let other_maps: Vec<OtherMap> = plan
        .steps
        .iter()
        .filter(|s| !chosen.contains(&s.name) && chosen_targets.contains(&s.target))
        .map(|s| OtherMap {
            table: s.target.clone(),
            map_table: s.map_table.clone(),
            key_columns: match &s.key {
                Key::Keep { columns } => columns.clone(),
                Key::New { column, .. } => vec![column.clone()],
            },
            prerequisite: prerequisites.iter().any(|p| p.step == s.name),
        })
        .collect();
    plan.steps.retain(|s| chosen.contains(&s.name));
    // This subset's rollback deletes the rows of its own steps only: the foreign keys into
    // their tables are the ones it checks.
    let filled: BTreeSet<&crate::catalog::QualName> =
        plan.steps.iter().map(|s| &s.target).collect();
    let referrers = std::mem::take(&mut plan.referrers);
    plan.referrers = referrers
        .into_iter()
        .filter(|r| filled.contains(r.root()))
        .collect();
    for s in &mut plan.steps {
        for fk in &mut s.foreign_keys {
            fk.parent_maps.retain(|m| available.contains(m));
        }
    }
    plan.subset = Some(Subset {
        entities: entities.to_vec(),
        prerequisites,
        dependents,
        all_steps,
        other_maps,
    });
    Ok(plan)
}

/// The earlier steps (in the model's order) into the table `step` repairs duplicates in: its
/// repairs' outcome depends on the rows they put there first.
fn repaired_after(plan: &Plan, step: &crate::plan::Step) -> Vec<Dependency> {
    if step.repairs.is_empty() {
        return Vec::new();
    }
    let columns: Vec<&str> = step.repairs.iter().map(|r| r.column.as_str()).collect();
    plan.steps
        .iter()
        .take_while(|e| e.name != step.name)
        .filter(|e| e.target == step.target)
        .map(|e| Dependency {
            step: e.name.clone(),
            reason: format!(
                "its repair of {} ({}) keeps the values {} put there first",
                step.target,
                columns.join(", "),
                e.name
            ),
        })
        .collect()
}
