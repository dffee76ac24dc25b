//! The in-place migration as the templates see it: every piece of SQL ready to print.

use askama::Template;

use super::prebuild::{prebuilt, Prebuilt};
use super::query::{
    Check, ColumnPair, Conversion, ConvertedValue, ExpectedColumn, ExpectedConstraint,
    ExpectedIndex, KeyMatch, Query, Shape, TableColumn, TableObject, ValueMatch,
};
use super::{Definition, InPlace, Obj, ObjKind, TableChange, TypeChange};
use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Deferrable, FkAction, QualName, Table};
use crate::plan::TableSize;

use crate::emit::filters;

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct ChangeView {
    /// The column, and the new column the fill writes (`pgmig_new_…`), as they are.
    pub column: String,
    pub temp: String,
    pub old_type: String,
    pub new_type: String,
    /// The conversion of `t.column`.
    pub conv_t: String,
    /// Precheck's helper telling whether a value converts (its parameter is named like the
    /// column); its body is the model's `using`, or a cast to the new type.
    pub helper: String,
    pub using: Option<String>,
    /// "cast" or "using (model.yaml:N)".
    pub how: String,
}

#[derive(Debug, Clone)]
pub struct TableView {
    pub name: String,
    /// The table's name as it is (the lock retries' notices quote it).
    pub step: String,
    pub procedure: String,
    pub backup: String,
    /// The backup's seal in `_pgmig.seals`: its subject.
    pub seal_subject: String,
    /// The backup's columns, the key and the old values (what the fill copies, the sync
    /// triggers keep and the seal's digest reads), and the key alone: names as they are
    /// (templates/inplace/sync.sql prints the lists).
    pub backup_columns: Vec<String>,
    pub key: Vec<String>,
    pub changes: Vec<ChangeView>,
    /// Statements of the swap (after the drops), and of the reverse swap in rollback.
    pub swap: Vec<ColumnStep>,
    pub unswap: Vec<ColumnStep>,
    /// rollback: per changed column, the rows the application wrote or changed since migrate
    /// (no backup, or a value other than the backup's converted): counted, then kept.
    pub since: Vec<Check>,
    /// The application's writes during the fill: see [`Sync`].
    pub sync: Sync,
    /// NOT NULL constraints the swap sets, each proven first by a validated CHECK (see
    /// [`NotNullCheck`]) so that SET NOT NULL under the swap's lock scans nothing.
    pub not_null_checks: Vec<NotNullCheck>,
}

/// Keeps the new columns and the backup in step with the application's writes from the
/// moment the new columns exist until the swap: a BEFORE trigger converts the written value
/// into the new column (the fill's conversion), an AFTER trigger keeps the backup's copy of
/// the row's key and old values (a SECURITY DEFINER function: the application's role has
/// no rights on _pgmig).
#[derive(Debug, Clone)]
pub struct Sync {
    pub convert_function: String,
    pub backup_function: String,
    /// Trigger names as they are: (BEFORE INSERT, BEFORE UPDATE, AFTER INSERT OR DELETE,
    /// AFTER UPDATE).
    pub convert_insert: String,
    pub convert_update: String,
    pub backup_write: String,
    pub backup_update: String,
    /// The columns whose type changes: an UPDATE that changes one of their old values
    /// converts (the fill's own UPDATE changes none, so it converts once, not twice).
    pub typed: Vec<String>,
    /// The backup's columns but the key: what its ON CONFLICT updates (none when the
    /// backup holds only the key).
    pub old_values: Vec<String>,
    pub conversions: Vec<SyncConversion>,
    /// The backup's columns with V1's types, the key first: the AFTER trigger's function
    /// reads them from the row and refuses a row whose column has another type now.
    pub kept: Vec<KeptColumn>,
}

/// A column the AFTER trigger copies into the backup (or finds the backup's row by), and the
/// type the backup has for it, as the catalog prints it.
#[derive(Debug, Clone)]
pub struct KeptColumn {
    pub column: String,
    pub data_type: String,
}

#[derive(Debug, Clone)]
pub struct SyncConversion {
    /// The new column and the column, as they are.
    pub temp: String,
    /// The conversion of `NEW.column`.
    pub conv_new: String,
    pub column: String,
    /// `users.id`, for the application's error message.
    pub label: String,
    pub new_type: String,
    pub how: String,
}

/// A `CHECK (column IS NOT NULL) NOT VALID` added, then validated (reads and writes go on),
/// before the swap: PostgreSQL's SET NOT NULL skips its scan when a valid CHECK proves it.
#[derive(Debug, Clone)]
pub struct NotNullCheck {
    pub name: String,
    /// The column as it is named before the swap (the new column of a type change), as it
    /// is.
    pub column: String,
}

/// One statement of the swap, or of rollback's reverse swap, on a table's columns (names as
/// they are, a type or a default as the catalog prints it); inplace/column_step.sql prints it.
#[derive(Debug, Clone)]
pub enum ColumnStep {
    AddColumn {
        column: String,
        data_type: String,
    },
    DropColumn {
        column: String,
    },
    RenameColumn {
        from: String,
        to: String,
    },
    SetNotNull {
        column: String,
    },
    DropNotNull {
        column: String,
    },
    SetDefault {
        column: String,
        default: String,
    },
    DropDefault {
        column: String,
    },
    DropConstraint {
        name: String,
    },
    /// rollback's UPDATE of the old-typed columns.
    Restore(Restore),
}

/// A constraint the swap adds NOT VALID and phase 3 validates (or rollback re-creates NOT
/// VALID and validates).
#[derive(Debug, Clone)]
pub struct Validate {
    pub table: String,
    /// The constraint's name, as it is.
    pub name: String,
}

pub struct View {
    pub model: String,
    /// The compile's fingerprint ([`crate::emit::fingerprint`]); empty while it is computed.
    pub fingerprint: String,
    pub model_file: String,
    pub schema: String,
    pub batch_size: u64,
    pub version: &'static str,
    pub tables: Vec<TableView>,
    pub drops: Vec<Obj>,
    /// Every object V2 re-creates (PLAN.md's table).
    pub creates: Vec<Obj>,
    /// V2's keys, UNIQUE constraints and indexes, built before the swap, attached in it.
    pub prebuilt: Vec<Prebuilt>,
    /// What the swap creates itself: CHECKs and foreign keys, NOT VALID (catalog only).
    pub swap_creates: Vec<Obj>,
    /// Every CHECK and foreign key the swap creates NOT VALID that V2 has valid: phase 3
    /// validates them.
    pub validates: Vec<Validate>,
    /// rollback: V2's objects dropped (reverse create order) and V1's re-created, CHECKs and
    /// foreign keys NOT VALID.
    pub undrops: Vec<Obj>,
    pub uncreates: Vec<Obj>,
    /// Every CHECK and foreign key rollback re-creates NOT VALID that V1 has valid: validated
    /// after the guard has seen what they resolved to.
    pub revalidates: Vec<Validate>,
    pub locked: String,
    pub locked_list: Vec<String>,
    pub findings: Vec<Check>,
    pub checks: Vec<Check>,
    /// PLAN.md: one line per column change.
    pub plan_changes: Vec<String>,
    /// The implicit-code guard's `text[]` of the tables this migration alters (written by
    /// migrate and rollback, read by verify and cleanup), and of the types its conversions
    /// cast to.
    pub implicit_tables: String,
    pub implicit_cast_types: String,
    /// The guard's `text[]` of the functions the `using` expressions call.
    pub implicit_called_functions: String,
    /// PLAN.md, compiled against a live V1: a table row per locked table (rows, size), and
    /// the estimate of the fill and of the builds before the swap. None from DDL files.
    pub plan_sizes: Option<PlanSizes>,
    /// Whether any table has a NOT NULL proven before the swap (migrate's phase 1b).
    pub has_not_null_checks: bool,
    /// Every column the swap drops and renames another into (and rollback's reverse swap
    /// too): their column privileges are carried across (templates/inplace/column_grants.sql).
    pub swapped_columns: Vec<TableColumn>,
    /// precheck's list of those privileges (a NOTE, not a finding); None without a swap.
    pub carried_grants: Option<Check>,
}

fn change_of<'a>(t: &'a TableChange, col: &str) -> Option<&'a TypeChange> {
    t.types.iter().find(|c| c.column == col)
}

impl View {
    pub fn new(m: &InPlace, fingerprint: &str) -> View {
        let model_slug = slug(&m.model);
        let mut tables = Vec::new();
        let mut findings = Vec::new();
        let mut checks = Vec::new();
        let mut plan_changes = Vec::new();
        // Tables whose values rollback has restored so far (it restores in `m.tables`' order).
        let mut rolled_back: Vec<QualName> = Vec::new();
        for t in &m.tables {
            let name = t.name.to_string();
            let backup = QualName::new(
                "_pgmig",
                format!("backup_{model_slug}_{}", slug(&t.name.name)),
            );
            let mut backup_cols: Vec<String> = t.key.clone();
            for c in &t.types {
                if !backup_cols.contains(&c.column) {
                    backup_cols.push(c.column.clone());
                }
            }
            let changes: Vec<ChangeView> = t
                .types
                .iter()
                .map(|c| ChangeView {
                    column: c.column.clone(),
                    temp: format!("pgmig_new_{}", c.column),
                    old_type: c.old_type.clone(),
                    new_type: c.new_type.clone(),
                    conv_t: c.conversion("t"),
                    helper: format!(
                        "pg_temp.pgmig_converts_{}_{}",
                        slug(&t.name.name),
                        slug(&c.column)
                    ),
                    using: c.using.clone(),
                    how: if c.using.is_some() {
                        format!("using ({}:{})", m.model_file, c.using_line)
                    } else {
                        "cast".into()
                    },
                })
                .collect();
            let mut swap = Vec::new();
            let mut unswap = Vec::new();
            for c in &t.types {
                let (col, temp) = (c.column.clone(), format!("pgmig_new_{}", c.column));
                swap.push(ColumnStep::DropColumn {
                    column: col.clone(),
                });
                swap.push(ColumnStep::RenameColumn {
                    from: temp,
                    to: col,
                });
            }
            let mut since = Vec::new();
            if !t.types.is_empty() {
                let old_cols: Vec<String> = t
                    .types
                    .iter()
                    .map(|c| format!("pgmig_old_{}", c.column))
                    .collect();
                for (c, old) in t.types.iter().zip(&old_cols) {
                    unswap.push(ColumnStep::AddColumn {
                        column: old.clone(),
                        data_type: c.old_type.clone(),
                    });
                }
                let restored = restore_old_values(m, t, &backup, &rolled_back);
                since.extend(restored.since);
                unswap.push(ColumnStep::Restore(restored.statement));
                for (c, old) in t.types.iter().zip(&old_cols) {
                    let col = c.column.clone();
                    unswap.push(ColumnStep::DropColumn {
                        column: col.clone(),
                    });
                    unswap.push(ColumnStep::RenameColumn {
                        from: old.clone(),
                        to: col,
                    });
                }
            }
            rolled_back.push(t.name.clone());
            let mut not_null_checks = Vec::new();
            for (col, a1, a2) in &t.attrs {
                let typed = change_of(t, col).is_some();
                let sets_not_null = a2.not_null && (typed || !a1.not_null);
                // (from, to): the new column starts nullable and without a default.
                for (list, from_nn, from_def, to) in [
                    (
                        &mut swap,
                        if typed { false } else { a1.not_null },
                        if typed { None } else { a1.default.clone() },
                        a2,
                    ),
                    (
                        &mut unswap,
                        if typed { false } else { a2.not_null },
                        if typed { None } else { a2.default.clone() },
                        a1,
                    ),
                ] {
                    let column = col.clone();
                    if to.not_null && !from_nn {
                        list.push(ColumnStep::SetNotNull { column });
                    } else if !to.not_null && from_nn {
                        list.push(ColumnStep::DropNotNull { column });
                    }
                    if to.default != from_def {
                        let column = col.clone();
                        list.push(match &to.default {
                            Some(d) => ColumnStep::SetDefault {
                                column,
                                default: d.clone(),
                            },
                            None => ColumnStep::DropDefault { column },
                        });
                    }
                }
                if sets_not_null {
                    // The CHECK that proved it (validated before the swap) has done its job.
                    let check = crate::check::names::derived("pgmig_not_null_", col);
                    swap.push(ColumnStep::DropConstraint {
                        name: check.clone(),
                    });
                    not_null_checks.push(NotNullCheck {
                        name: check,
                        column: if typed {
                            format!("pgmig_new_{col}")
                        } else {
                            col.clone()
                        },
                    });
                }
                let what = match change_of(t, col) {
                    Some(c) => format!(
                        "`{}.{}`: `{}` → `{}` by {}",
                        t.name.name,
                        col,
                        c.old_type,
                        c.new_type,
                        if c.using.is_some() {
                            format!("`using` ({}:{})", m.model_file, c.using_line)
                        } else {
                            "cast".into()
                        }
                    ),
                    None => format!(
                        "`{}.{}`: type unchanged (`{}`)",
                        t.name.name,
                        col,
                        a2.default.as_deref().unwrap_or("")
                    )
                    .replace(" (``)", ""),
                };
                let mut extra = Vec::new();
                if a1.not_null != a2.not_null {
                    extra.push(if a2.not_null {
                        "NOT NULL added".to_string()
                    } else {
                        "NOT NULL dropped".to_string()
                    });
                }
                if a1.default != a2.default {
                    extra.push(format!(
                        "default {} → {}",
                        a1.default
                            .as_deref()
                            .map_or("none".into(), |d| format!("`{d}`")),
                        a2.default
                            .as_deref()
                            .map_or("none".into(), |d| format!("`{d}`"))
                    ));
                }
                plan_changes.push(if extra.is_empty() {
                    what
                } else {
                    format!("{what}; {}", extra.join("; "))
                });
                if a2.not_null && !a1.not_null {
                    findings.push(Check {
                        notice: format!("{}.{}: NULL, and V2 makes it NOT NULL", t.name.name, col),
                        comment: format!("{}.{}: NULL into NOT NULL", t.name.name, col),
                        query: Query::NullIntoNotNull {
                            table: name.clone(),
                            key: t.key.clone(),
                            column: col.clone(),
                        },
                    });
                }
            }
            for (c, tc) in changes.iter().zip(&t.types) {
                findings.push(Check {
                    notice: format!(
                        "{}.{}: does not convert to {}",
                        t.name.name, tc.column, tc.new_type
                    ),
                    comment: format!(
                        "{}.{}: values that do not convert to {}",
                        t.name.name, tc.column, tc.new_type
                    ),
                    query: Query::NotConverting {
                        table: name.clone(),
                        key: t.key.clone(),
                        column: tc.column.clone(),
                        helper: c.helper.clone(),
                    },
                });
                // verify: every backed-up value converted, through the backup. Compared as
                // the text of values of the new type: a UUID spelled in braces, without
                // hyphens or in upper case has its canonical form's text as a uuid; and
                // values the type's equality calls equal but the application tells apart
                // (numeric 2.50 and 2.5000, interval '1 mon' and '30 days', float8 0 and -0,
                // text under a nondeterministic collation) differ (pin.sql pins the settings
                // text output depends on; COLLATE "C" compares bytes). After the swap the key
                // columns have their new types: the backup joins through the conversion of
                // its old values.
                checks.push(Check {
                    notice: format!(
                        "{}.{}: every value equals its backed-up original",
                        t.name.name, tc.column
                    ),
                    comment: format!(
                        "{}.{}: converted values equal the originals in {backup}",
                        t.name.name, tc.column
                    ),
                    query: Query::DiffersFromBackup {
                        table: name.clone(),
                        backup: backup.to_string(),
                        key: key_matches(t),
                        column: tc.column.clone(),
                        converted: tc.conversion("bk"),
                        new_type: tc.new_type.clone(),
                    },
                });
            }
            let sync = sync_of(t, &model_slug, &changes, &backup_cols);
            tables.push(TableView {
                name: name.clone(),
                step: t.name.name.clone(),
                procedure: QualName::new(
                    "_pgmig",
                    format!("inplace_{model_slug}_{}", slug(&t.name.name)),
                )
                .to_string(),
                backup: backup.to_string(),
                seal_subject: format!("backup of {name}"),
                backup_columns: backup_cols,
                key: t.key.clone(),
                changes,
                swap,
                unswap,
                since,
                sync,
                not_null_checks,
            });
        }

        // Precheck: keys and foreign keys V2 re-creates, on the converted values.
        let converted = |table: &QualName, col: &str, alias: &'static str| ConvertedValue {
            alias,
            column: col.to_string(),
            conversion: m
                .tables
                .iter()
                .find(|t| &t.name == table)
                .and_then(|t| change_of(t, col))
                .map(|c| Conversion {
                    helper: format!("pg_temp.pgmig_converts_{}_{}", slug(&table.name), slug(col)),
                    expression: c.conversion(alias),
                }),
        };
        let v2 = |n: &QualName| m.v2_tables.iter().find(|t| &t.name == n);
        for o in &m.creates {
            let Some(t2) = v2(&o.table) else { continue };
            let name = o.table.to_string();
            match o.kind {
                ObjKind::PrimaryKey | ObjKind::Unique => {
                    let key = t2
                        .primary_key
                        .iter()
                        .chain(&t2.uniques)
                        .find(|k| k.name == o.name)
                        .unwrap();
                    let exprs: Vec<ConvertedValue> = key
                        .columns
                        .iter()
                        .map(|c| converted(&o.table, c, "t"))
                        .collect();
                    findings.push(Check {
                        notice: format!(
                            "{}: {} {}: duplicate values after the conversion",
                            o.table.name,
                            kind_word(o.kind),
                            o.name
                        ),
                        comment: format!(
                            "{}: {} {} on the converted values",
                            o.table.name,
                            kind_word(o.kind),
                            o.name
                        ),
                        query: Query::DuplicateKeys {
                            table: name,
                            values: exprs,
                        },
                    });
                }
                ObjKind::ForeignKey => {
                    let fk = t2.foreign_keys.iter().find(|f| f.name == o.name).unwrap();
                    let key = m
                        .tables
                        .iter()
                        .find(|t| t.name == o.table)
                        .map(|t| t.key.clone())
                        .unwrap_or_default();
                    findings.push(Check {
                        notice: format!("{}: FOREIGN KEY {}: no {} row (orphan)", o.table.name, o.name, fk.references.name),
                        comment: format!("{}: FOREIGN KEY {} → {}: orphans (rows whose value does not convert are counted above)", o.table.name, o.name, fk.references),
                        query: Query::OrphansAfterConversion {
                            table: name,
                            key,
                            columns: fk.columns.clone(),
                            converted: fk
                                .columns
                                .iter()
                                .map(|c| converted(&o.table, c, "c"))
                                .collect(),
                            parent: fk.references.to_string(),
                            matches: fk
                                .columns
                                .iter()
                                .zip(&fk.referenced_columns)
                                .map(|(c, p)| ValueMatch {
                                    parent: converted(&fk.references, p, "p"),
                                    child: converted(&o.table, c, "c"),
                                })
                                .collect(),
                        },
                    });
                }
                _ => {}
            }
        }

        // Views that read a changed column: the swap can't drop a column a view reads, and
        // pgmig does not rewrite views; found here, before anything is written.
        let changed: Vec<TableColumn> = m
            .tables
            .iter()
            .flat_map(|t| {
                t.types.iter().map(move |c| TableColumn {
                    table: t.name.to_string(),
                    column: c.column.clone(),
                })
            })
            .collect();
        if !changed.is_empty() {
            findings.push(Check {
                notice: "views that read a changed column (drop them before migrate, re-create them after)".into(),
                comment: "views that read a changed column: the swap would fail on them".into(),
                query: Query::ViewsOnChanged {
                    changed: changed.clone(),
                },
            });
        }

        // Column privileges live on the column (pg_attribute.attacl), not in pg_depend: the
        // swap carries them, each granted again by its grantor (SET ROLE), so precheck lists
        // them and finds those whose grantor the role running the scripts cannot become.
        let carried_grants = (!changed.is_empty()).then(|| Check {
            notice: "column privileges carried across the swap (granted again on the new column, each by its grantor)".into(),
            comment: "column privileges of the changed columns, which the swap carries".into(),
            query: Query::ColumnGrantsCarried {
                changed: changed.clone(),
            },
        });

        // Every other object in the database that hangs on a changed column, or on a key or
        // index the swap drops (a foreign key of a table the model does not list, an index,
        // a trigger, a policy, a statistics object, an owned sequence...): the swap would
        // fail on it after the whole fill, or drop it silently. Views have their own finding.
        if !changed.is_empty() {
            let known = m
                .drops
                .iter()
                .map(|o| TableObject {
                    table: o.table.to_string(),
                    name: o.name.clone(),
                })
                .collect();
            // The sync triggers of a fill under way read the changed columns: migrate's own.
            let own_triggers = m
                .tables
                .iter()
                .filter(|t| !t.types.is_empty())
                .flat_map(|t| {
                    let model_slug = &model_slug;
                    SYNC_TRIGGERS.iter().map(move |p| TableObject {
                        table: t.name.to_string(),
                        name: sync_name(p, model_slug, &t.name),
                    })
                })
                .collect();
            findings.push(Check {
                notice: "objects outside the model on a changed column or a dropped key (drop them before migrate, re-create them after)".into(),
                comment: "objects the swap would fail on or drop silently: what depends on a changed column or on a key or index migrate drops, but those migrate drops and re-creates itself".into(),
                query: Query::ObjectsOnChanged {
                    changed: changed.clone(),
                    known,
                    own_triggers,
                },
            });
        }
        // The column privileges the swap could not grant again (see `carried_grants`).
        if !changed.is_empty() {
            findings.push(Check {
                notice: "column privileges on a changed column whose grantor the role running migrate cannot become (SET ROLE)".into(),
                comment: "column privileges the swap could not grant again: it grants each as its grantor".into(),
                query: Query::GrantorsOutOfReach {
                    changed: changed.clone(),
                },
            });
        }

        // Verify: no orphan under any foreign key of the locked tables, and V2's shape.
        for t2 in &m.v2_tables {
            for fk in &t2.foreign_keys {
                checks.push(Check {
                    notice: format!("{}: FOREIGN KEY {}: no orphans", t2.name.name, fk.name),
                    comment: format!(
                        "{}: FOREIGN KEY {} → {}: no orphans",
                        t2.name.name, fk.name, fk.references
                    ),
                    query: Query::Orphans {
                        table: t2.name.to_string(),
                        parent: fk.references.to_string(),
                        columns: fk
                            .columns
                            .iter()
                            .zip(&fk.referenced_columns)
                            .map(|(c, p)| ColumnPair {
                                column: c.clone(),
                                referenced: p.clone(),
                            })
                            .collect(),
                    },
                });
            }
            checks.extend(shape_checks(t2));
        }
        if !changed.is_empty() {
            checks.push(Check {
                notice: "column privileges V1's columns had are on the migrated columns".into(),
                comment: "column privileges migrate's swap recorded in _pgmig.column_grants, held by the migrated columns".into(),
                query: Query::ColumnGrantsMissing {
                    model: m.model.clone(),
                },
            });
        }

        let mut validates = Vec::new();
        let prebuilt = prebuilt(m);
        let swap_creates: Vec<Obj> = m
            .creates
            .iter()
            .filter(|o| matches!(o.kind, ObjKind::Check | ObjKind::ForeignKey))
            .cloned()
            .collect();
        for o in &swap_creates {
            // A constraint V2 has NOT VALID stays so: its create says it, nothing validates it.
            if !o.not_valid {
                validates.push(Validate {
                    table: o.table.to_string(),
                    name: o.name.clone(),
                });
            }
        }
        let mut undrops: Vec<Obj> = m.creates.clone();
        undrops.sort_by_key(|o| (std::cmp::Reverse(o.kind), o.table.clone(), o.name.clone()));
        let mut uncreates: Vec<Obj> = m.drops.clone();
        uncreates.sort_by_key(|o| (o.kind, o.table.clone(), o.name.clone()));
        let revalidates = uncreates
            .iter()
            .filter(|o| matches!(o.kind, ObjKind::Check | ObjKind::ForeignKey) && !o.not_valid)
            .map(|o| Validate {
                table: o.table.to_string(),
                name: o.name.clone(),
            })
            .collect();
        let plan_sizes = m.sizes.as_ref().map(|sizes| PlanSizes::new(m, sizes));
        let locked_list: Vec<String> = m.locked.iter().map(|n| n.to_string()).collect();
        let has_not_null_checks = tables.iter().any(|t| !t.not_null_checks.is_empty());
        let implicit_tables =
            crate::sql_text::text_array(tables.iter().map(|t| &t.name).chain(locked_list.iter()));
        let cast_types: BTreeSet<String> = m
            .tables
            .iter()
            .flat_map(|t| &t.types)
            .flat_map(TypeChange::cast_types)
            .chain(
                m.creates
                    .iter()
                    .chain(&m.drops)
                    .flat_map(|o| o.definition.cast_types()),
            )
            .collect();
        let implicit_cast_types = crate::sql_text::text_array(cast_types.iter());
        let called_functions: BTreeSet<String> = m
            .tables
            .iter()
            .flat_map(|t| &t.types)
            .flat_map(TypeChange::called_functions)
            .chain(
                m.creates
                    .iter()
                    .chain(&m.drops)
                    .flat_map(|o| o.definition.called_functions()),
            )
            .collect();
        let implicit_called_functions = crate::sql_text::text_array(called_functions.iter());
        View {
            model: m.model.clone(),
            fingerprint: fingerprint.to_string(),
            model_file: m.model_file.clone(),
            schema: m.schema.clone(),
            batch_size: m.batch_size,
            version: env!("CARGO_PKG_VERSION"),
            tables,
            drops: m.drops.clone(),
            creates: m.creates.clone(),
            prebuilt,
            swap_creates,
            validates,
            undrops,
            uncreates,
            revalidates,
            locked: locked_list.join(", "),
            locked_list,
            findings,
            checks,
            plan_changes,
            implicit_tables,
            implicit_cast_types,
            implicit_called_functions,
            plan_sizes,
            has_not_null_checks,
            swapped_columns: changed,
            carried_grants,
        }
    }
}

/// PLAN.md's rows of the locked tables' sizes, and its estimates: the fill, and the builds
/// before the swap (one pass over a table per key and index built CONCURRENTLY, at the
/// measured [`crate::stats::SWAP_ROWS_PER_SECOND`], reads and writes going on). The swap
/// itself reads no table: its window does not depend on their sizes.
#[derive(Debug, Clone)]
pub struct PlanSizes {
    pub tables: Vec<TableSizeRow>,
    /// The rows the fill writes, and how long that takes at `fill_rate` rows/s.
    pub filled_rows: String,
    pub fill_time: String,
    pub fill_rate: i64,
    /// The rows the builds before the swap read, and how long at `build_rate` rows/s.
    pub built_rows: String,
    pub build_time: String,
    pub build_rate: i64,
}

/// A locked table's row in PLAN.md: its name, rows and size as people read them.
#[derive(Debug, Clone)]
pub struct TableSizeRow {
    pub table: String,
    pub rows: String,
    pub size: String,
}

impl PlanSizes {
    fn new(m: &InPlace, sizes: &BTreeMap<QualName, TableSize>) -> PlanSizes {
        use crate::emit::view::{human_bytes, human_seconds};
        use crate::stats::{FILL_ROWS_PER_SECOND, SWAP_ROWS_PER_SECOND};
        let size = |n: &QualName| {
            sizes
                .get(n)
                .copied()
                .unwrap_or(TableSize { rows: 0, bytes: 0 })
        };
        let tables = m
            .locked
            .iter()
            .map(|n| TableSizeRow {
                table: n.to_string(),
                rows: thousands(size(n).rows),
                size: human_bytes(size(n).bytes),
            })
            .collect();
        let filled: i64 = m
            .tables
            .iter()
            .filter(|t| !t.types.is_empty())
            .map(|t| size(&t.name).rows)
            .sum();
        let built: i64 = m
            .creates
            .iter()
            .filter(|o| {
                matches!(
                    o.kind,
                    ObjKind::PrimaryKey | ObjKind::Unique | ObjKind::Index
                )
            })
            .map(|o| size(&o.table).rows)
            .sum();
        PlanSizes {
            tables,
            filled_rows: thousands(filled),
            fill_time: human_seconds(filled as f64 / FILL_ROWS_PER_SECOND as f64),
            fill_rate: FILL_ROWS_PER_SECOND,
            built_rows: thousands(built),
            build_time: human_seconds(built as f64 / SWAP_ROWS_PER_SECOND as f64),
            build_rate: SWAP_ROWS_PER_SECOND,
        }
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// The name of one of a table's sync functions or triggers: `pgmig_keep_write_uuid_users`.
fn sync_name(prefix: &str, model_slug: &str, table: &QualName) -> String {
    crate::check::names::derived(prefix, &format!("{model_slug}_{}", slug(&table.name)))
}

/// The sync triggers' prefixes (see [`Sync`]).
const SYNC_TRIGGERS: [&str; 4] = [
    "pgmig_convert_insert_",
    "pgmig_convert_update_",
    "pgmig_keep_write_",
    "pgmig_keep_update_",
];

/// The triggers' names and the conversions of one table (see [`Sync`]); `backed` is the
/// backup's columns, the key first.
fn sync_of(t: &TableChange, model_slug: &str, changes: &[ChangeView], backed: &[String]) -> Sync {
    let named = |prefix: &str| sync_name(prefix, model_slug, &t.name);
    Sync {
        convert_function: QualName::new("_pgmig", named("convert_")).to_string(),
        backup_function: QualName::new("_pgmig", named("keep_")).to_string(),
        convert_insert: named(SYNC_TRIGGERS[0]),
        convert_update: named(SYNC_TRIGGERS[1]),
        backup_write: named(SYNC_TRIGGERS[2]),
        backup_update: named(SYNC_TRIGGERS[3]),
        typed: t.types.iter().map(|c| c.column.clone()).collect(),
        old_values: backed
            .iter()
            .filter(|c| !t.key.contains(c))
            .cloned()
            .collect(),
        conversions: t
            .types
            .iter()
            .zip(changes)
            .map(|(c, v)| SyncConversion {
                temp: v.temp.clone(),
                conv_new: c.conversion("NEW"),
                column: v.column.clone(),
                label: format!("{}.{}", t.name.name, c.column),
                new_type: c.new_type.clone(),
                how: v.how.clone(),
            })
            .collect(),
        kept: t
            .key
            .iter()
            .zip(&t.key_types)
            .map(|(column, data_type)| KeptColumn {
                column: column.clone(),
                data_type: data_type.clone(),
            })
            .chain(
                t.types
                    .iter()
                    .filter(|c| !t.key.contains(&c.column))
                    .map(|c| KeptColumn {
                        column: c.column.clone(),
                        data_type: c.old_type.clone(),
                    }),
            )
            .collect(),
    }
}

/// Rollback's restore of a table's old values, and its counts of rows written since migrate.
struct Restored {
    statement: Restore,
    since: Vec<Check>,
}

/// The `UPDATE` that fills the old-typed columns before the reverse swap
/// (templates/inplace/query.sql's `restore` prints it). A row whose value still equals its
/// backed-up original converted gets the original back (its spelling included); any other (a
/// row the application inserted or changed since migrate) keeps the value it has, converted
/// back: through the parent's restored value when a V1 foreign key makes the spelling matter,
/// else by a cast.
#[derive(Debug, Clone)]
pub struct Restore {
    pub table: String,
    pub backup: String,
    /// The current row `cur` joined to its backup `bk`.
    pub key: Vec<KeyMatch>,
    pub columns: Vec<RestoredColumn>,
}

#[derive(Debug, Clone)]
pub struct RestoredColumn {
    /// The old-typed column the reverse swap renames back (`pgmig_old_…`).
    pub old: String,
    pub column: String,
    pub old_type: String,
    /// The conversion of `bk.column`: what an unchanged row holds.
    pub converted: String,
    pub parent: Option<ParentValue>,
}

/// A parent table restored before this one, joined under its alias by the conversion of its
/// restored value: the child's value takes the parent's V1 spelling.
#[derive(Debug, Clone)]
pub struct ParentValue {
    pub table: String,
    pub alias: String,
    pub column: String,
    pub converted: String,
}

/// The key of `t` joined to its backup `bk` (see [`KeyMatch`]).
fn key_matches(t: &TableChange) -> Vec<KeyMatch> {
    t.key
        .iter()
        .map(|k| KeyMatch {
            column: k.clone(),
            converted: change_of(t, k).map(|c| c.conversion("bk")),
        })
        .collect()
}

/// See [`Restore`]; `restored` lists the tables whose values rollback restored before.
fn restore_old_values(
    m: &InPlace,
    t: &TableChange,
    backup: &QualName,
    restored: &[QualName],
) -> Restored {
    let name = t.name.to_string();
    let v1 = m.v1_tables.iter().find(|v| v.name == t.name);
    let mut columns = Vec::new();
    let mut since = Vec::new();
    for (i, c) in t.types.iter().enumerate() {
        // A single-column V1 foreign key into a converted column of a table restored before.
        let parent = v1.and_then(|v| {
            v.foreign_keys.iter().find_map(|fk| {
                let [own] = fk.columns.as_slice() else {
                    return None;
                };
                let [referenced] = fk.referenced_columns.as_slice() else {
                    return None;
                };
                if own != &c.column || fk.references == t.name || !restored.contains(&fk.references)
                {
                    return None;
                }
                let pt = m.tables.iter().find(|p| p.name == fk.references)?;
                Some((fk.references.clone(), change_of(pt, referenced)?))
            })
        });
        columns.push(RestoredColumn {
            old: format!("pgmig_old_{}", c.column),
            column: c.column.clone(),
            old_type: c.old_type.clone(),
            converted: c.conversion("bk"),
            parent: parent.map(|(parent_table, pc)| {
                let alias = format!("p{i}");
                ParentValue {
                    table: parent_table.to_string(),
                    converted: pc.conversion(&alias),
                    alias,
                    column: pc.column.clone(),
                }
            }),
        });
        since.push(Check {
            notice: format!("{}.{}", t.name.name, c.column),
            comment: format!(
                "{}.{}: rows without a backup, or changed since migrate",
                t.name.name, c.column
            ),
            query: Query::ChangedSinceMigrate {
                table: name.clone(),
                backup: backup.to_string(),
                key: key_matches(t),
                column: c.column.clone(),
                converted: c.conversion("bk"),
            },
        });
    }
    Restored {
        statement: Restore {
            table: name,
            backup: backup.to_string(),
            key: key_matches(t),
            columns,
        },
        since,
    }
}

fn kind_word(k: ObjKind) -> &'static str {
    match k {
        ObjKind::PrimaryKey => "PRIMARY KEY",
        ObjKind::Unique => "UNIQUE",
        ObjKind::Check => "CHECK",
        ObjKind::Index => "INDEX",
        ObjKind::ForeignKey => "FOREIGN KEY",
    }
}

fn action(a: FkAction) -> &'static str {
    match a {
        FkAction::NoAction => "a",
        FkAction::Restrict => "r",
        FkAction::Cascade => "c",
        FkAction::SetNull => "n",
        FkAction::SetDefault => "d",
    }
}

/// verify's check that no constraint is left NOT VALID, but those V2 declares so.
fn validated_check(t: &Table, name: &str) -> Check {
    let declared: Vec<String> = t
        .checks
        .iter()
        .filter(|c| c.not_valid)
        .map(|c| c.name.clone())
        .chain(
            t.foreign_keys
                .iter()
                .filter(|fk| fk.not_valid)
                .map(|fk| fk.name.clone()),
        )
        .collect();
    let (notice, comment) = if declared.is_empty() {
        (
            format!("{name}: every constraint is validated"),
            format!("{name}: no constraint left NOT VALID"),
        )
    } else {
        (
            format!("{name}: every constraint is validated but V2's NOT VALID ones"),
            format!("{name}: no constraint left NOT VALID but those V2 adds NOT VALID"),
        )
    };
    Check {
        notice,
        comment,
        query: Query::NotValidated {
            table: t.name.to_string(),
            declared,
        },
    }
}

/// verify's checks that a table has V2's columns, constraints and indexes (as pg_catalog
/// shows them), each a query whose rows are the differences.
fn shape_checks(t: &Table) -> Vec<Check> {
    let d = |x: Deferrable| x != Deferrable::No;
    let key = |name: &str, kind, columns: &[String], deferrable| ExpectedConstraint {
        name: name.to_string(),
        kind,
        columns: columns.to_vec(),
        references: None,
        referenced_columns: Vec::new(),
        on_delete: None,
        on_update: None,
        deferrable,
    };
    let constraints = (t.primary_key.iter())
        .map(|pk| key(&pk.name, "p", &pk.columns, d(pk.deferrable)))
        .chain(
            t.uniques
                .iter()
                .map(|u| key(&u.name, "u", &u.columns, d(u.deferrable))),
        )
        .chain(t.checks.iter().map(|c| key(&c.name, "c", &[], false)))
        .chain(t.foreign_keys.iter().map(|f| ExpectedConstraint {
            references: Some(f.references.to_string()),
            referenced_columns: f.referenced_columns.clone(),
            on_delete: Some(action(f.on_delete)),
            on_update: Some(action(f.on_update)),
            ..key(&f.name, "f", &f.columns, d(f.deferrable))
        }))
        .collect();
    let columns = t
        .columns
        .iter()
        .map(|c| ExpectedColumn {
            name: c.name.clone(),
            data_type: c.data_type.clone(),
            not_null: c.not_null,
            default: c.default.clone(),
        })
        .collect();
    let indexes = t
        .indexes
        .iter()
        .map(|i| ExpectedIndex {
            name: i.name.clone(),
            unique: i.unique,
            method: i.method.clone(),
        })
        .collect();
    let table = t.name.to_string();
    let name = &t.name.name;
    vec![
        Check {
            notice: format!("{name}: columns, types, NOT NULL and defaults are V2's"),
            comment: format!("{name}: columns (name, type, NOT NULL, default) as in V2"),
            query: Query::Differences {
                table: table.clone(),
                shape: Shape::Columns(columns),
            },
        },
        Check {
            notice: format!("{name}: constraints are V2's"),
            comment: format!(
                "{name}: PRIMARY KEY, UNIQUE, CHECK and FOREIGN KEY constraints as in V2"
            ),
            query: Query::Differences {
                table: table.clone(),
                shape: Shape::Constraints(constraints),
            },
        },
        validated_check(t, name),
        Check {
            notice: format!("{name}: indexes are V2's"),
            comment: format!("{name}: indexes (other than the constraints') as in V2"),
            query: Query::Differences {
                table,
                shape: Shape::Indexes(indexes),
            },
        },
    ]
}

#[derive(Template)]
#[template(path = "inplace/precheck.sql")]
pub struct Precheck<'a> {
    pub v: &'a View,
    /// pin.sql's zone.
    pub time_zone: &'a str,
}

#[derive(Template)]
#[template(path = "inplace/migrate.sql")]
pub struct Migrate<'a> {
    pub v: &'a View,
    /// pin.sql's zone.
    pub time_zone: &'a str,
}

#[derive(Template)]
#[template(path = "inplace/verify.sql")]
pub struct Verify<'a> {
    pub v: &'a View,
    /// pin.sql's zone.
    pub time_zone: &'a str,
}

#[derive(Template)]
#[template(path = "inplace/rollback.sql")]
pub struct Rollback<'a> {
    pub v: &'a View,
    /// pin.sql's zone.
    pub time_zone: &'a str,
}

#[derive(Template)]
#[template(path = "inplace/cleanup.sql")]
pub struct Cleanup<'a> {
    pub v: &'a View,
    /// pin.sql's zone.
    pub time_zone: &'a str,
}

#[derive(Template)]
#[template(path = "inplace/PLAN.md")]
pub struct PlanPage<'a> {
    pub v: &'a View,
    /// migrate.sql's locks, statement by statement ([`crate::emit::locks::LockSection`]),
    /// for templates/locks.md, which the page ends with.
    pub table: &'a str,
}
