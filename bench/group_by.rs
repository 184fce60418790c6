//! Stateful benchmark in three parts, on one data set (default 10,000,000 ~100-byte JSON
//! records, 1,000,000 distinct keys, 8 partitions, RocksDB stores under `<data dir>/state`):
//!
//! 1. **GROUP BY** (timed): `CREATE TABLE t AS SELECT <g>, COUNT(*) AS c, SUM(amount) AS s
//!    FROM events GROUP BY <g>;` from the statement until `wait_until_idle` (every input
//!    record processed: `seconds`, `cpu_seconds`), and on until the query's next commit has
//!    landed (changelog and sink hold everything processed: `committed_seconds`, which
//!    includes waiting for the commit interval, and `committed_cpu_seconds`). `<g>` is the
//!    value column `userid` (the grouping differs from the stream key, so the query
//!    repartitions) or, with `RUNNEL_BENCH_GROUPING=key`, the stream's key column `userkey`
//!    (no repartition). Verified with a pull scan of the table: exactly `keys` rows, the
//!    counts sum to the records and the sums to the generated total.
//! 2. **Pull lookups** (timed per call, one thread): `SELECT * FROM t WHERE <g> = 'user_N';`
//!    through `Engine::execute_text`; then, with the engine stopped, the raw store path: a
//!    `get` on the aggregation's RocksDB store (`Aggregate-Aggregate-Materialize`) of the key's partition.
//! 3. **Restore** (timed): stop the engine, reopen it with the state intact (the warm
//!    baseline: checkpoint + changelog tail), stop it, delete `<data dir>/state`, reopen it
//!    (every store is rebuilt from its whole changelog inside `Engine::open_with_data_dir`,
//!    before the query's threads start) until `wait_until_idle`.
//!
//! Run:  cargo bench --bench group_by
//!       RUNNEL_BENCH_GROUPING=key cargo bench --bench group_by
//!       RUNNEL_BENCH_RECORDS=1000000 RUNNEL_BENCH_KEYS=100000 cargo bench --bench group_by
//!
//! Env knobs: `RUNNEL_BENCH_RECORDS`, `RUNNEL_BENCH_KEYS`, `RUNNEL_BENCH_GROUPING`
//! (`value`/`key`), `RUNNEL_BENCH_THREADS` (default 2), `RUNNEL_BENCH_SQL_LOOKUPS` (default
//! 100,000), `RUNNEL_BENCH_RAW_LOOKUPS` (default 1,000,000), `RUNNEL_BENCH_DIR`,
//! `RUNNEL_BENCH_PROPS` (`name=value,...`: engine properties, e.g. for A/B runs).
//! Prints `RESULT` lines.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runnel::engine::{Config, Engine, Session, StatementResult};
use runnel::log::embedded::EmbeddedLog;
use runnel::log::{Bytes, Log, Record, TopicConfig};
use runnel::state::KeyValueStore;
use runnel::state::rocks::RocksStore;
use runnel::types::Value;

mod common;

use common::{REGIONS, Rng, cpu_seconds, env_usize, proc_status_kb};

const TOPIC: &str = "events";
const PARTITIONS: i32 = 8;
const BATCH: usize = 20_000;
/// A prime that does not divide the key count: `j -> j * P % keys` permutes the keys.
const SPREAD: u64 = 999_983;
/// The table is served from the aggregation's own store (see `runnel::plan::view`).
const STORE: &str = runnel::plan::view::AGGREGATE_STORE;

fn user(k: u64) -> String {
    format!("user_{k:07}")
}

/// A grouping key as the aggregate store holds it.
fn store_key(k: u64) -> Vec<u8> {
    runnel::state::codec::encode_row(&[Value::String(user(k))])
}

/// Phase 0, in a child process: create the topic and append `n` records over `keys` keys
/// (every key exactly `n / keys` times when `keys` divides `n`).
fn generate(dir: &Path, n: usize, keys: usize) {
    let start = Instant::now();
    let log = EmbeddedLog::open(dir).expect("open log");
    log.create_topic(TOPIC, &TopicConfig::new(PARTITIONS))
        .expect("create topic");
    let mut rng = Rng(42);
    let mut pending: Vec<Vec<Record>> = (0..PARTITIONS).map(|_| Vec::with_capacity(BATCH)).collect();
    let (mut bytes, mut total) = (0usize, 0i64);
    for i in 0..n as u64 {
        let r = rng.next();
        let k = (i % keys as u64) * SPREAD % keys as u64;
        let amount = (r % 1000) as i64;
        total += amount;
        let page = (r >> 17) % 10_000;
        let region = REGIONS[((r >> 44) % 8) as usize];
        let viewtime = 1_700_000_000_000i64 + i as i64;
        let key = user(k);
        let value = format!(
            r#"{{"userid":"{key}","amount":{amount},"pageid":"page_{page:05}","viewtime":{viewtime},"region":"{region}"}}"#
        );
        bytes += value.len();
        let p = runnel::log::partition_for_key(key.as_bytes(), PARTITIONS);
        let buf = &mut pending[p as usize];
        buf.push(Record {
            key: Some(Bytes::from(key)),
            value: Some(Bytes::from(value)),
            timestamp: viewtime,
            headers: Vec::new(),
        });
        if buf.len() >= BATCH {
            log.append(TOPIC, p, buf).expect("append");
            buf.clear();
        }
    }
    for (p, buf) in pending.iter().enumerate() {
        if !buf.is_empty() {
            log.append(TOPIC, p as i32, buf).expect("append");
        }
    }
    log.flush().expect("flush");
    println!(
        "GENERATED records={n} keys={keys} total_amount={total} avg_value_bytes={:.1} seconds={:.2} peak_rss_mb={:.1}",
        bytes as f64 / n.max(1) as f64,
        start.elapsed().as_secs_f64(),
        proc_status_kb("VmHWM:") as f64 / 1024.0
    );
}

fn open(data_dir: &Path, threads: usize) -> (Arc<dyn Log>, Arc<Engine>) {
    let log: Arc<dyn Log> = EmbeddedLog::open(data_dir).expect("open log");
    let mut config = Config::new();
    config.set("num.stream.threads", &threads.to_string()).expect("config");
    config.set("auto.offset.reset", "earliest").expect("config");
    // RUNNEL_BENCH_PROPS="name=value,name=value": extra engine properties for A/B runs.
    for pair in std::env::var("RUNNEL_BENCH_PROPS")
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').expect("RUNNEL_BENCH_PROPS entries are name=value");
        config.set(name.trim(), value.trim()).expect("config");
    }
    let engine = Engine::open_with_data_dir(log.clone(), config, Some(data_dir.to_path_buf())).expect("open engine");
    (log, engine)
}

fn rows(results: Vec<StatementResult>) -> Vec<Vec<Value>> {
    match results.into_iter().next() {
        Some(StatementResult::Rows(set)) => set.rows,
        _ => panic!("expected rows"),
    }
}

/// Sum of the end offsets of every topic whose name contains `part`.
fn records_in_topics(log: &dyn Log, part: &str) -> i64 {
    log.list_topics()
        .expect("topics")
        .into_iter()
        .filter(|t| t.name.contains(part))
        .map(|t| {
            (0..t.partitions)
                .map(|p| log.end_offset(&t.name, p).unwrap_or(0))
                .sum::<i64>()
        })
        .sum()
}

/// Waits until the GROUP BY query has committed offsets at the end of every partition of
/// its input topics (the source and, when it repartitions, the repartition topic): its
/// changelog and sink records for everything processed are written by then.
fn wait_until_committed(log: &dyn Log) {
    let suffix = format!("-{STORE}-changelog");
    let topics = log.list_topics().expect("topics");
    let group = topics
        .iter()
        .find_map(|t| t.name.strip_suffix(&suffix))
        .expect("the aggregation's changelog topic")
        .to_string();
    let inputs: Vec<(String, i32)> = topics
        .iter()
        .filter(|t| t.name == TOPIC || t.name.ends_with("-repartition"))
        .map(|t| (t.name.clone(), t.partitions))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let done = inputs.iter().all(|(topic, partitions)| {
            let committed = log.committed(&group, topic).expect("committed offsets");
            (0..*partitions).all(|p| {
                let end = log.end_offset(topic, p).unwrap_or(0);
                end == 0 || committed.get(&p).is_some_and(|c| *c >= end)
            })
        });
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "the query did not commit within 10 minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Records actually stored (read back) in every topic whose name contains `part`: after
/// compaction, fewer than the end offsets say.
fn stored_records(log: &dyn Log, part: &str) -> u64 {
    let mut total = 0u64;
    for t in log
        .list_topics()
        .expect("topics")
        .into_iter()
        .filter(|t| t.name.contains(part))
    {
        for p in 0..t.partitions {
            let mut consumer = log.consumer().expect("consumer");
            consumer
                .assign(&[(runnel::log::TopicPartition::new(t.name.clone(), p), 0)])
                .expect("assign");
            loop {
                let n = consumer.poll(100_000, Duration::ZERO).expect("poll").len();
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
        }
    }
    total
}

/// The directories of every `KsqlTable-Materialize` RocksDB store under `root`.
fn store_dirs(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == STORE) {
                out.push(path);
            } else {
                store_dirs(&path, out);
            }
        }
    }
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e6
}

fn main() {
    let n = env_usize("RUNNEL_BENCH_RECORDS", 10_000_000);
    let keys = env_usize("RUNNEL_BENCH_KEYS", 1_000_000);
    if let Ok(dir) = std::env::var("RUNNEL_BENCH_GENERATE") {
        generate(Path::new(&dir), n, keys);
        return;
    }
    let threads = env_usize("RUNNEL_BENCH_THREADS", 2);
    let sql_lookups = env_usize("RUNNEL_BENCH_SQL_LOOKUPS", 100_000);
    let raw_lookups = env_usize("RUNNEL_BENCH_RAW_LOOKUPS", 1_000_000);
    let by_key = std::env::var("RUNNEL_BENCH_GROUPING").is_ok_and(|v| v.eq_ignore_ascii_case("key"));
    let (group_col, variant) = if by_key {
        ("userkey", "no_repartition")
    } else {
        ("userid", "repartition")
    };

    let tmp = match std::env::var("RUNNEL_BENCH_DIR") {
        Ok(parent) => tempfile::tempdir_in(parent),
        Err(_) => tempfile::tempdir(),
    }
    .expect("temp dir");
    let data_dir = tmp.path().join("data");

    // Phase 0: generate in a child process (untimed, not in our RSS).
    eprintln!(
        "generating {n} records over {keys} keys into {} ...",
        data_dir.display()
    );
    let out = std::process::Command::new(std::env::current_exe().expect("current exe"))
        .env("RUNNEL_BENCH_GENERATE", &data_dir)
        .env("RUNNEL_BENCH_RECORDS", n.to_string())
        .env("RUNNEL_BENCH_KEYS", keys.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run generator");
    let gen_line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(out.status.success(), "generator failed: {gen_line}");
    eprintln!("{gen_line}");
    let total_amount: i64 = gen_line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("total_amount="))
        .and_then(|v| v.parse().ok())
        .expect("generator output");

    // Phase 1: GROUP BY (timed).
    let (log, engine) = open(&data_dir, threads);
    let mut session = Session::default();
    engine
        .execute_text(
            "CREATE STREAM events (userkey VARCHAR KEY, userid VARCHAR, amount BIGINT, pageid VARCHAR, \
             viewtime BIGINT, region VARCHAR) WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON');",
            &mut session,
        )
        .expect("create stream");
    let ctas = format!(
        "CREATE TABLE t AS SELECT {group_col}, COUNT(*) AS c, SUM(amount) AS s FROM events GROUP BY {group_col};"
    );
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    engine.execute_text(&ctas, &mut session).expect("ctas");
    let idle = engine.wait_until_idle(Duration::from_secs(3600));
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    assert!(idle, "the query did not catch up within an hour");
    // Processed is not yet committed: the last commit interval's changelog records, and the
    // record cache's rows for the sink, are written by the next commit. Wait for it (the
    // group's committed offsets reach the ends of its input topics) and count its work too.
    wait_until_committed(log.as_ref());
    let committed_secs = start.elapsed().as_secs_f64();
    let committed_cpu = cpu_seconds() - cpu_start;
    let peak_kb = proc_status_kb("VmHWM:");
    let errors = log
        .end_offset(runnel::runtime::processing_log::PROCESSING_LOG_TOPIC, 0)
        .unwrap_or(0);

    // Verify with a pull scan: every key once, counts and sums add up.
    let verify = |engine: &Arc<Engine>, session: &mut Session, what: &str| {
        let scan = rows(engine.execute_text("SELECT * FROM t;", session).expect("pull scan"));
        let count: i64 = scan.iter().map(|r| r[1].as_i64().expect("count")).sum();
        let sum: i64 = scan.iter().map(|r| r[2].as_i64().expect("sum")).sum();
        assert_eq!(scan.len(), keys, "{what}: table rows");
        assert_eq!(count, n as i64, "{what}: sum of COUNT(*)");
        assert_eq!(sum, total_amount, "{what}: sum of SUM(amount)");
    };
    verify(&engine, &mut session, "after GROUP BY");
    let sink_records: i64 = log
        .list_topics()
        .expect("topics")
        .into_iter()
        .filter(|t| t.name.eq_ignore_ascii_case("t"))
        .map(|t| {
            (0..t.partitions)
                .map(|p| log.end_offset(&t.name, p).unwrap_or(0))
                .sum::<i64>()
        })
        .sum();
    let changelog_records = records_in_topics(log.as_ref(), "-changelog");
    let repartition_records = records_in_topics(log.as_ref(), "-repartition");
    println!(
        "RESULT group_by variant={variant} records={n} keys={keys} threads={threads} partitions={PARTITIONS} \
         seconds={secs:.3} records_per_sec={:.0} cpu_seconds={cpu:.2} cpu_cores_used={:.2} peak_rss_mb={:.1} \
         committed_seconds={committed_secs:.3} committed_cpu_seconds={committed_cpu:.2} \
         table_rows={keys} changelog_records={changelog_records} repartition_records={repartition_records} \
         sink_records={} processing_log={errors}",
        n as f64 / secs,
        cpu / secs,
        peak_kb as f64 / 1024.0,
        sink_records,
    );

    // Phase 2a: pull lookups through SQL, one thread.
    let mut rng = Rng(7);
    let mut lat = Vec::with_capacity(sql_lookups);
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    for _ in 0..sql_lookups {
        let k = rng.next() % keys as u64;
        let q = format!("SELECT * FROM t WHERE {group_col} = '{}';", user(k));
        let t0 = Instant::now();
        let r = engine.execute_text(&q, &mut session).expect("pull lookup");
        lat.push(t0.elapsed());
        assert_eq!(rows(r).len(), 1, "lookup of {} found no row", user(k));
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    lat.sort();
    println!(
        "RESULT pull_lookup_sql lookups={sql_lookups} p50_us={:.1} p99_us={:.1} max_us={:.1} lookups_per_sec={:.0} cpu_cores_used={:.2}",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
        sql_lookups as f64 / secs,
        cpu / secs,
    );

    // Phase 3a: warm restart (state intact) — the baseline.
    engine.shutdown();
    drop(engine);
    drop(log);
    let start = Instant::now();
    let (log, engine) = open(&data_dir, threads);
    let opened = start.elapsed().as_secs_f64();
    assert!(
        engine.wait_until_idle(Duration::from_secs(3600)),
        "warm restart did not go idle"
    );
    let warm = start.elapsed().as_secs_f64();
    println!("RESULT restart_warm open_seconds={opened:.3} idle_seconds={warm:.3}");
    engine.shutdown();
    drop(engine);
    drop(log);

    // Phase 2b: the raw store path — a get on the RocksDB store of the key's partition.
    let state_dir = data_dir.join("state");
    let mut dirs = Vec::new();
    store_dirs(&state_dir, &mut dirs);
    dirs.sort();
    let stores: Vec<RocksStore> = dirs
        .iter()
        .map(|d| RocksStore::open(STORE, d).expect("open store"))
        .collect();
    // Which store holds which key: the first that has it (warm-up pass, untimed).
    let mut owner = vec![usize::MAX; keys];
    for (k, slot) in owner.iter_mut().enumerate() {
        let key = store_key(k as u64);
        *slot = stores
            .iter()
            .position(|s| s.get(&key).expect("get").is_some())
            .expect("key in no store");
    }
    let mut rng = Rng(7);
    let mut lat = Vec::with_capacity(raw_lookups);
    let start = Instant::now();
    for _ in 0..raw_lookups {
        let k = rng.next() % keys as u64;
        let t0 = Instant::now();
        let key = store_key(k);
        let v = stores[owner[k as usize]].get(&key).expect("get");
        lat.push(t0.elapsed());
        assert!(v.is_some());
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    println!(
        "RESULT pull_lookup_raw_store stores={} lookups={raw_lookups} p50_us={:.2} p99_us={:.2} max_us={:.1} lookups_per_sec={:.0}",
        stores.len(),
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
        raw_lookups as f64 / secs,
    );
    // What pull.rs does per key today: a get on every partition's store.
    let mut rng = Rng(7);
    let start = Instant::now();
    let m = raw_lookups / 4;
    for _ in 0..m {
        let k = rng.next() % keys as u64;
        let key = store_key(k);
        let hits = stores.iter().filter(|s| s.get(&key).expect("get").is_some()).count();
        assert_eq!(hits, 1);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "RESULT pull_lookup_raw_all_stores lookups={m} mean_us={:.2} lookups_per_sec={:.0}",
        secs * 1e6 / m as f64,
        m as f64 / secs,
    );
    drop(stores);

    // Phase 3b: full restore from the changelogs, as the log cleaner leaves them: it compacts
    // `cleanup.policy=compact` topics in the background while the query runs; one more pass
    // (timed apart) covers what it had not reached when the engine stopped.
    std::fs::remove_dir_all(&state_dir).expect("delete state dir");
    let start = Instant::now();
    let cleaned = EmbeddedLog::open(&data_dir)
        .expect("open log")
        .compact_now()
        .expect("compact");
    println!(
        "RESULT final_compaction_pass seconds={:.3} records_read={} records_kept={}",
        start.elapsed().as_secs_f64(),
        cleaned.read,
        cleaned.kept
    );
    let replayed = {
        let log = EmbeddedLog::open(&data_dir).expect("open log");
        stored_records(log.as_ref(), "-changelog")
    };
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    let (_log, engine) = open(&data_dir, threads);
    let opened = start.elapsed().as_secs_f64();
    assert!(
        engine.wait_until_idle(Duration::from_secs(3600)),
        "restore did not go idle"
    );
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    let mut session = Session::default();
    verify(&engine, &mut session, "after restore");
    println!(
        "RESULT restore keys={keys} changelog_records_written={changelog_records} changelog_records_replayed={replayed} \
         open_seconds={opened:.3} idle_seconds={secs:.3} net_seconds={:.3} keys_per_sec={:.0} changelog_records_per_sec={:.0} \
         cpu_seconds={cpu:.2} peak_rss_mb={:.1}",
        secs - warm,
        keys as f64 / (secs - warm).max(1e-9),
        replayed as f64 / (secs - warm).max(1e-9),
        proc_status_kb("VmHWM:") as f64 / 1024.0,
    );
    engine.shutdown();
}
