\set id random(1, 2000000000)
INSERT INTO bench_events (id, k, v) VALUES (:id, :id % 100, 1) ON CONFLICT DO NOTHING;
SELECT n FROM bench_counts WHERE k = :id % 100;
