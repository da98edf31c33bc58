-- q3: local item suggestion: people in OR, ID or CA who sell in category 10 (unbounded join).
CREATE MATERIALIZED VIEW nexmark_q3 AS
SELECT p.name, p.city, p.state, a.id
FROM auction AS a
JOIN person AS p ON a.seller = p.id
WHERE a.category = 10 AND (p.state = 'OR' OR p.state = 'ID' OR p.state = 'CA');
