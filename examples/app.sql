-- A small headless Runnel app: `runnel run examples/app.sql --bootstrap-servers HOST:PORT`
-- (docker-compose.yml runs it next to a Kafka broker).
--
-- Every statement says IF NOT EXISTS because the app restarts with this same file: on
-- start, Runnel first replays its command topic on Kafka, which re-creates these streams
-- and tables and resumes their queries from their committed offsets; then it runs this
-- file again. Without IF NOT EXISTS that second CREATE would fail with "already exists"
-- and the service would stop. With it, a repeated CREATE is a no-op that prints a message.
-- (To change a query, use CREATE OR REPLACE, or TERMINATE and DROP it from a shell.)

-- Page views, keyed by user. Runnel creates the topic with 3 partitions if it is missing.
-- Record values are JSON, e.g. {"page": "/home", "duration_ms": 1200}.
CREATE STREAM IF NOT EXISTS pageviews (user_id VARCHAR KEY, page VARCHAR, duration_ms INT)
  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON', PARTITIONS=3);

-- Views and total time per user: a table kept in a RocksDB state store, backed by a
-- changelog topic, and written to the topic pageviews_per_user.
CREATE TABLE IF NOT EXISTS pageviews_per_user WITH (KAFKA_TOPIC='pageviews_per_user') AS
  SELECT user_id, COUNT(*) AS views, SUM(duration_ms) AS total_ms
  FROM pageviews
  GROUP BY user_id
  EMIT CHANGES;

-- Views longer than ten seconds, copied to the topic long_views as they arrive.
CREATE STREAM IF NOT EXISTS long_views WITH (KAFKA_TOPIC='long_views') AS
  SELECT * FROM pageviews
  WHERE duration_ms > 10000
  EMIT CHANGES;
