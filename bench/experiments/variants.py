#!/usr/bin/env python3
"""Variants of a compiled migrate.sql, one per candidate cause of the gap to the floor.

    variants.py MIGRATE_SQL OUT_DIR   -> OUT_DIR/<variant>/migrate.sql

Each variant changes one thing (see VARIANTS); experiments.sh times them on the same data.
"""
import os
import re
import sys

src = open(sys.argv[1]).read()
out = sys.argv[2]


def unlogged(s):
    # id maps as UNLOGGED tables: no WAL for them
    return s.replace("CREATE TABLE _pgmig.map_", "CREATE UNLOGGED TABLE _pgmig.map_")


def pk_after(s):
    # keep steps: id map without its PRIMARY KEY while rows go in; the key is built
    # afterwards in one sorted pass (like the new-key maps already do)
    def repl(m):
        return f"CREATE TABLE {m.group(1)} ({m.group(2)});"
    s2, n = re.subn(r"CREATE TABLE (_pgmig\.map_\w+) \(([^()]*), PRIMARY KEY \(([^()]*)\)\);", repl, s)
    maps = re.findall(r"CREATE TABLE (_pgmig\.map_\w+) \((id uuid)\);", s2)
    for table, _ in maps:
        # first GET DIAGNOSTICS after this map's CREATE TABLE
        i = s2.index(f"CREATE TABLE {table} (")
        j = s2.index("GET DIAGNOSTICS n_out = ROW_COUNT;", i) + len("GET DIAGNOSTICS n_out = ROW_COUNT;")
        s2 = s2[:j] + f"\n  ALTER TABLE {table} ADD PRIMARY KEY (id);" + s2[j:]
    return s2


def no_count(s):
    # measures the cost of the "Source rows" count scans: skip them (counts wrong, timing only)
    return re.sub(r"SELECT count\(\*\), [^\n]*\n  INTO n_in, n_filtered\n(?:.*\n)*?.*;\n",
                  "n_in := 0; n_filtered := 0;\n", s)


def no_rejects(s):
    # measures the cost of the reject-rule scans: skip their INSERTs (timing only)
    return re.sub(r"  INSERT INTO _pgmig\.rejects \(model, step, rule, reason, source_key, source_row\)\n(?:.*\n)*?.*;\n",
                  "", s)


def one_reject_scan(s):
    # all reject rules of a step in ONE scan: rule number from a CASE over the conditions
    # (first match wins), instead of one INSERT … SELECT per rule
    steps = s.split("-- Reject rule 1 ")
    out_parts = [steps[0]]
    for part in steps[1:]:
        block_end = part.index("  SELECT count(*) INTO n_rejected")
        block = "-- Reject rule 1 " + part[:block_end]
        inserts = re.findall(
            r"SELECT ('[^']*'), ('[^']*'), (\d+), ('(?:[^']|'')*'), (jsonb_build_object\([^\n]*\)), (to_jsonb\(\w+\))\n((?:.*\n)*?)  WHERE ((?:.*\n)*?.*);\n",
            block)
        if not inserts:
            out_parts.append(block + part[block_end:])
            continue
        model, step, _, _, key, row, frm, _ = inserts[0]
        conds = []
        for (_, _, num, reason, _, _, _, where) in inserts:
            last = where.strip().split("\n")[-1].strip()
            last = re.sub(r"^AND ", "", last)
            conds.append((num, reason, last))
        case_rule = "CASE " + " ".join(f"WHEN {c} THEN {n}" for n, _, c in conds) + " END"
        case_reason = "CASE " + " ".join(f"WHEN {c} THEN {r}" for _, r, c in conds) + " END"
        anyc = " OR ".join(c for _, _, c in conds)
        new = (f"-- Reject rules, one scan\n  INSERT INTO _pgmig.rejects (model, step, rule, reason, source_key, source_row)\n"
               f"  SELECT {model}, {step}, {case_rule}, {case_reason}, {key}, {row}\n{frm}  WHERE {anyc};\n")
        out_parts.append(new + part[block_end:])
    return "".join(out_parts)


VARIANTS = {
    "baseline": lambda s: s,
    "unlogged_maps": unlogged,
    "map_pk_after_insert": pk_after,
    "no_count_scan": no_count,
    "no_reject_scans": no_rejects,
    "one_reject_scan": one_reject_scan,
}

for name, f in VARIANTS.items():
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "migrate.sql"), "w").write(f(src))
    print(name)
