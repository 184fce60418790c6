//! Throughput on Apache Kafka: Runnel's stateless CSAS and a `GROUP BY` COUNT against Kafka's
//! own producer and consumer perf tools, on the same broker in the same run.
//!
//! Run:  cargo bench --bench kafka
//!       RUNNEL_BENCH_RECORDS=2000000 cargo bench --bench kafka
//!
//! The broker: `RUNNEL_BENCH_KAFKA=host:port`, or else `scripts/kafka start` (the same
//! single-node KRaft broker the tests use). Everything this run makes lives under a topic
//! prefix of its own.
//!
//! Phases:
//! 1. generate (untimed): N ~100-byte JSON records into `pageviews`, 8 partitions, keyed by
//!    user (100,000 users).
//! 2. raw (Kafka's tools, timed by themselves, run at the same time as each other):
//!    `ConsumerPerformance` reads the N input records while `ProducerPerformance` writes N
//!    100-byte records to another 8-partition topic. Raw consume+produce rate = N / the
//!    longer of the two runs: what a copy from one topic to another could reach here with
//!    Kafka's own Java clients.
//! 3. stateless CSAS (timed): a projection of every record (no filter, so it reads and writes
//!    N records like the raw pair) until the query has consumed everything; checks the sink
//!    holds N records.
//! 4. GROUP BY COUNT (timed): `CREATE TABLE ... SELECT userid, COUNT(*) ... GROUP BY userid`
//!    over the same input (a repartition, then the aggregate); checks the table has one row
//!    per user.
//!
//! Env knobs: `RUNNEL_BENCH_RECORDS` (default 1,000,000), `RUNNEL_BENCH_THREADS`
//! (num.stream.threads, default 2). Prints `RESULT` lines.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use runnel::engine::{Config, Engine, Session};
use runnel::log::kafka::{KafkaLog, KafkaLogOptions};
use runnel::log::{Bytes, Log, Record, TopicConfig};

mod common;

use common::{REGIONS, Rng, cpu_seconds, env_usize};

const PARTITIONS: i32 = 8;

fn repo_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn broker() -> String {
    if let Ok(b) = std::env::var("RUNNEL_BENCH_KAFKA") {
        return b;
    }
    let out = Command::new(repo_root().join("scripts/kafka"))
        .arg("start")
        .output()
        .expect("scripts/kafka runs");
    assert!(
        out.status.success(),
        "scripts/kafka start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .expect("an address")
        .trim()
        .to_string()
}

/// Returns the seconds taken and the number of distinct users written.
fn generate(log: &dyn Log, n: usize) -> (f64, usize) {
    let start = Instant::now();
    log.create_topic("pageviews", &TopicConfig::new(PARTITIONS))
        .expect("create topic");
    let mut rng = Rng(42);
    let mut users = std::collections::HashSet::new();
    let mut pending: Vec<Vec<Record>> = (0..PARTITIONS).map(|_| Vec::new()).collect();
    for i in 0..n as u64 {
        let r = rng.next();
        let user = r % 100_000;
        users.insert(user);
        let key = format!("user_{user}");
        let value = format!(
            r#"{{"pageid":"page_{:05}","userid":"{key}","viewtime":{},"duration":{},"region":"{}"}}"#,
            (r >> 17) % 10_000,
            1_700_000_000_000u64 + i,
            (r >> 34) % 1000,
            REGIONS[((r >> 44) % 8) as usize]
        );
        let p = runnel::log::partition_for_key(key.as_bytes(), PARTITIONS);
        let buf = &mut pending[p as usize];
        buf.push(Record {
            key: Some(Bytes::from(key)),
            value: Some(Bytes::from(value)),
            timestamp: 1_700_000_000_000 + i as i64,
            headers: Vec::new(),
        });
        if buf.len() >= 10_000 {
            log.send("pageviews", p, buf).expect("send");
            buf.clear();
        }
    }
    for (p, buf) in pending.iter().enumerate() {
        log.send("pageviews", p as i32, buf).expect("send");
    }
    log.await_sends().expect("acknowledged");
    (start.elapsed().as_secs_f64(), users.len())
}

fn classpath() -> String {
    let out = Command::new(repo_root().join("scripts/kafka"))
        .arg("classpath")
        .output()
        .expect("scripts/kafka classpath");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Runs Kafka's consumer and producer perf tools at the same time; returns their rates and
/// the combined rate (N / the longer run).
fn raw_rates(servers: &str, prefix: &str, log: &dyn Log, n: usize) -> (f64, f64, f64) {
    log.create_topic("raw_out", &TopicConfig::new(PARTITIONS))
        .expect("create raw_out");
    let cp = classpath();
    let start = Instant::now();
    let consumer = Command::new("java")
        .args(["-Xmx512m", "-cp", &cp, "org.apache.kafka.tools.ConsumerPerformance"])
        .args(["--bootstrap-server", servers, "--topic", &format!("{prefix}pageviews")])
        .args(["--messages", &n.to_string(), "--timeout", "120000"])
        .args(["--group", &format!("{prefix}raw-consumer")])
        .output_async();
    let producer = Command::new("java")
        .args(["-Xmx512m", "-cp", &cp, "org.apache.kafka.tools.ProducerPerformance"])
        .args(["--topic", &format!("{prefix}raw_out"), "--num-records", &n.to_string()])
        .args(["--record-size", "100", "--throughput", "-1", "--producer-props"])
        .args([&format!("bootstrap.servers={servers}"), "acks=all", "linger.ms=5"])
        .output_async();
    let c = consumer.join().expect("consumer thread");
    let p = producer.join().expect("producer thread");
    let wall = start.elapsed().as_secs_f64();
    let c_text = String::from_utf8_lossy(&c.stdout).to_string();
    let p_text = String::from_utf8_lossy(&p.stdout).to_string();
    // ConsumerPerformance: a CSV header, then a line whose 6th field is nMsg.sec.
    let consume = c_text
        .lines()
        .last()
        .and_then(|l| l.split(',').nth(5))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_else(|| {
            panic!(
                "ConsumerPerformance output: {c_text} {}",
                String::from_utf8_lossy(&c.stderr)
            )
        });
    // ProducerPerformance: "N records sent, X records/sec (...)" last.
    let produce = p_text
        .lines()
        .last()
        .and_then(|l| l.split(',').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| {
            panic!(
                "ProducerPerformance output: {p_text} {}",
                String::from_utf8_lossy(&p.stderr)
            )
        });
    // Each tool's own rate excludes its JVM start; the pair together moves N in and N out
    // in the longer of the two measured runs.
    let combined = consume.min(produce);
    eprintln!("raw tools: consume {consume:.0}/s, produce {produce:.0}/s, wall {wall:.1} s with JVM starts");
    (consume, produce, combined)
}

/// Starts a command and collects its output on another thread.
trait OutputAsync {
    fn output_async(&mut self) -> std::thread::JoinHandle<std::process::Output>;
}

impl OutputAsync for Command {
    fn output_async(&mut self) -> std::thread::JoinHandle<std::process::Output> {
        let child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("java runs");
        std::thread::spawn(move || child.wait_with_output().expect("java finishes"))
    }
}

fn engine(log: Arc<dyn Log>, threads: usize) -> Arc<Engine> {
    let mut config = Config::new();
    config.set("num.stream.threads", &threads.to_string()).expect("config");
    config.set("commit.interval.ms", "1000").expect("config");
    config.set("auto.offset.reset", "earliest").expect("config");
    Engine::open(log, config).expect("open engine")
}

fn timed(engine: &Arc<Engine>, session: &mut Session, sql: &str) -> (f64, f64) {
    let cpu = cpu_seconds();
    let start = Instant::now();
    engine.execute_text(sql, session).expect("statement");
    assert!(engine.wait_until_idle(Duration::from_secs(3600)), "caught up");
    (start.elapsed().as_secs_f64(), cpu_seconds() - cpu)
}

fn main() {
    let n = env_usize("RUNNEL_BENCH_RECORDS", 1_000_000);
    let threads = env_usize("RUNNEL_BENCH_THREADS", 2);
    let servers = broker();
    let prefix = format!("bench{}-", std::process::id());
    let log: Arc<dyn Log> = KafkaLog::connect(KafkaLogOptions {
        bootstrap_servers: servers.clone(),
        topic_prefix: prefix.clone(),
        ..KafkaLogOptions::default()
    })
    .expect("connect");
    eprintln!("generating {n} records on Kafka at {servers} ...");
    let (gen_secs, users) = generate(log.as_ref(), n);
    eprintln!(
        "generated in {gen_secs:.1} s ({:.0}/s through Runnel's producer)",
        n as f64 / gen_secs
    );

    let (consume, produce, raw) = raw_rates(&servers, &prefix, log.as_ref(), n);

    let engine = engine(log.clone(), threads);
    let mut session = Session::default();
    engine
        .execute_text(common::PAGEVIEWS_STREAM, &mut session)
        .expect("create stream");
    let (csas_secs, csas_cpu) = timed(
        &engine,
        &mut session,
        "CREATE STREAM projected AS SELECT userkey, UCASE(pageid) AS page, region, \
         viewtime / 1000 AS view_secs, duration * 2 + 1 AS d2 FROM pageviews EMIT CHANGES;",
    );
    let written: i64 = (0..PARTITIONS)
        .map(|p| log.end_offset("PROJECTED", p).unwrap_or(0))
        .sum();
    assert_eq!(written as usize, n, "the CSAS wrote every record");
    let csas_rate = n as f64 / csas_secs;
    println!(
        "RESULT kafka_stateless_csas records={n} threads={threads} seconds={csas_secs:.2} records_per_sec={csas_rate:.0} \
         cpu_cores_used={:.2} raw_consume_per_sec={consume:.0} raw_produce_per_sec={produce:.0} raw_pair_per_sec={raw:.0} \
         ratio_to_raw={:.2}",
        csas_cpu / csas_secs,
        csas_rate / raw
    );

    let (agg_secs, agg_cpu) = timed(
        &engine,
        &mut session,
        "CREATE TABLE views_per_user AS SELECT userid, COUNT(*) AS views FROM pageviews GROUP BY userid;",
    );
    let rows = match engine.execute_text("SELECT * FROM views_per_user;", &mut session) {
        Ok(results) => results
            .into_iter()
            .map(|r| match r {
                runnel::engine::StatementResult::Rows(set) => set.rows.len(),
                _ => 0,
            })
            .sum::<usize>(),
        Err(e) => panic!("pull query: {e}"),
    };
    engine.shutdown();
    assert_eq!(rows, users, "one row per user");
    println!(
        "RESULT kafka_group_by_count records={n} threads={threads} seconds={agg_secs:.2} records_per_sec={:.0} cpu_cores_used={:.2}",
        n as f64 / agg_secs,
        agg_cpu / agg_secs
    );
}
