CREATE INDEX ON pg_temp.hierarchy_rows ({% for i in 1..=n %}hierarchy_key_{{ i }}{% if !loop.last %}, {% endif %}{% endfor %});
CREATE INDEX ON pg_temp.hierarchy_rows ({% for i in 1..=n %}hierarchy_parent_{{ i }}{% if !loop.last %}, {% endif %}{% endfor %});
CREATE INDEX ON pg_temp.hierarchy_rows (hierarchy_depth);
ANALYZE pg_temp.hierarchy_rows;
UPDATE pg_temp.hierarchy_rows AS r SET hierarchy_depth = 0
WHERE {% for i in 1..=n %}r.hierarchy_parent_{{ i }} IS NULL{% if !loop.last %} OR {% endif %}{% endfor %}
   OR ({% for i in 1..=n %}r.hierarchy_parent_{{ i }} = r.hierarchy_key_{{ i }}{% if !loop.last %} AND {% endif %}{% endfor %})
   OR NOT EXISTS (SELECT 1 FROM pg_temp.hierarchy_rows AS p WHERE {% for i in 1..=n %}p.hierarchy_key_{{ i }} = r.hierarchy_parent_{{ i }}{% if !loop.last %} AND {% endif %}{% endfor %});
hierarchy_level := 0;
LOOP
  UPDATE pg_temp.hierarchy_rows AS r SET hierarchy_depth = hierarchy_level + 1
  FROM pg_temp.hierarchy_rows AS p
  WHERE p.hierarchy_depth = hierarchy_level
    AND {% for i in 1..=n %}r.hierarchy_parent_{{ i }} = p.hierarchy_key_{{ i }}{% if !loop.last %} AND {% endif %}{% endfor %}
    AND r.hierarchy_depth IS NULL;
  EXIT WHEN NOT FOUND;
  hierarchy_level := hierarchy_level + 1;
END LOOP;
