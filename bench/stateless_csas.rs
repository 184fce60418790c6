//! Throughput benchmark: a stateless filter + projection `CREATE STREAM AS SELECT` over
//! N ~100-byte JSON records (default 10,000,000) on 8 partitions of the embedded log.
//!
//! Run:  cargo bench --bench stateless_csas
//!       RUNNEL_BENCH_RECORDS=1000000 cargo bench --bench stateless_csas
//!
//! Phases:
//! 1. generate (untimed): a child process (this same binary, `RUNNEL_BENCH_GENERATE=<dir>`)
//!    creates topic `pageviews` with 8 partitions and appends the records in large batches,
//!    then exits, so the data generator's memory does not count in the measured peak RSS.
//! 2. process (timed): this process opens the log and the engine (`num.stream.threads=2`,
//!    `commit.interval.ms=1000`), declares the source stream, runs the CSAS and waits until
//!    the query has consumed every input record. Throughput = input records / seconds from
//!    the CSAS statement to `wait_until_idle` returning true. Peak RSS = VmHWM of this process
//!    (which never held the generated data).
//!
//! Env knobs: `RUNNEL_BENCH_RECORDS` (records), `RUNNEL_BENCH_THREADS` (num.stream.threads,
//! default 2), `RUNNEL_BENCH_DIR` (a parent directory for the temporary data dir).
//! Prints one `RESULT` summary line.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use runnel::engine::{Config, Engine, Session};
use runnel::log::embedded::EmbeddedLog;
use runnel::log::{Bytes, Log, Record, TopicConfig};

mod common;

use common::{REGIONS, Rng, cpu_seconds, env_usize, proc_status_kb};

const TOPIC: &str = "pageviews";
const PARTITIONS: i32 = 8;
const BATCH: usize = 20_000;

/// Record `i`: key `user_<n>`, a ~100-byte JSON value. `duration` is uniform in 0..1000, so
/// `duration < 500` passes half of the rows.
fn record(rng: &mut Rng, i: u64) -> (String, String, i64, bool) {
    let r = rng.next();
    let user = r % 100_000;
    let page = (r >> 17) % 10_000;
    let duration = (r >> 34) % 1000;
    let region = REGIONS[((r >> 44) % 8) as usize];
    let viewtime = 1_700_000_000_000i64 + i as i64;
    let key = format!("user_{user}");
    let value = format!(
        r#"{{"pageid":"page_{page:05}","userid":"{key}","viewtime":{viewtime},"duration":{duration},"region":"{region}"}}"#
    );
    (key, value, viewtime, duration < 500)
}

/// Phase 1, in a child process: create the topic and append `n` records.
fn generate(dir: &Path, n: usize) {
    let start = Instant::now();
    let log = EmbeddedLog::open(dir).expect("open log");
    log.create_topic(TOPIC, &TopicConfig::new(PARTITIONS))
        .expect("create topic");
    let mut rng = Rng(42);
    let mut pending: Vec<Vec<Record>> = (0..PARTITIONS).map(|_| Vec::with_capacity(BATCH)).collect();
    let (mut bytes, mut passing) = (0usize, 0usize);
    for i in 0..n as u64 {
        let (key, value, ts, passes) = record(&mut rng, i);
        bytes += value.len();
        passing += passes as usize;
        let p = runnel::log::partition_for_key(key.as_bytes(), PARTITIONS);
        let buf = &mut pending[p as usize];
        buf.push(Record {
            key: Some(Bytes::from(key)),
            value: Some(Bytes::from(value)),
            timestamp: ts,
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
    // The parent parses this line.
    println!(
        "GENERATED records={n} passing={passing} avg_value_bytes={:.1} seconds={:.2} peak_rss_mb={:.1}",
        bytes as f64 / n.max(1) as f64,
        start.elapsed().as_secs_f64(),
        proc_status_kb("VmHWM:") as f64 / 1024.0
    );
}

fn main() {
    let n = env_usize("RUNNEL_BENCH_RECORDS", 10_000_000);
    if let Ok(dir) = std::env::var("RUNNEL_BENCH_GENERATE") {
        generate(Path::new(&dir), n);
        return;
    }
    let threads = env_usize("RUNNEL_BENCH_THREADS", 2);

    let tmp = match std::env::var("RUNNEL_BENCH_DIR") {
        Ok(parent) => tempfile::tempdir_in(parent),
        Err(_) => tempfile::tempdir(),
    }
    .expect("temp dir");
    let data_dir = tmp.path().join("data");

    // Phase 1: generate in a child process (untimed, not in our RSS).
    eprintln!("generating {n} records into {} ...", data_dir.display());
    let out = std::process::Command::new(std::env::current_exe().expect("current exe"))
        .env("RUNNEL_BENCH_GENERATE", &data_dir)
        .env("RUNNEL_BENCH_RECORDS", n.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run generator");
    let gen_line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(out.status.success(), "generator failed: {gen_line}");
    eprintln!("{gen_line}");
    let passing: usize = gen_line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("passing="))
        .and_then(|v| v.parse().ok())
        .expect("generator output");

    // Phase 2: process (timed).
    let rss_before_open = proc_status_kb("VmRSS:");
    let log: Arc<dyn Log> = EmbeddedLog::open(&data_dir).expect("open log");
    let mut config = Config::new();
    config.set("num.stream.threads", &threads.to_string()).expect("config");
    config.set("commit.interval.ms", "1000").expect("config");
    config.set("auto.offset.reset", "earliest").expect("config");
    let engine = Engine::open(log.clone(), config).expect("open engine");
    let mut session = Session::default();
    engine
        .execute_text(common::PAGEVIEWS_STREAM, &mut session)
        .expect("create stream");

    let csas = "CREATE STREAM short_views AS SELECT userkey, UCASE(pageid) AS page, region, \
                viewtime / 1000 AS view_secs, duration * 2 + 1 AS d2 \
                FROM pageviews WHERE duration < 500 EMIT CHANGES;";
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    engine.execute_text(csas, &mut session).expect("csas");
    let idle = engine.wait_until_idle(Duration::from_secs(3600));
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    assert!(idle, "the query did not catch up within an hour");
    let peak_kb = proc_status_kb("VmHWM:");
    let rss_kb = proc_status_kb("VmRSS:");

    // Check the work was really done: the sink holds exactly the passing rows and nothing
    // went to the processing log.
    let sink_topic = log
        .list_topics()
        .expect("topics")
        .into_iter()
        .find(|t| t.name.eq_ignore_ascii_case("short_views"))
        .expect("sink topic");
    let written: i64 = (0..sink_topic.partitions)
        .map(|p| log.end_offset(&sink_topic.name, p).unwrap_or(0))
        .sum();
    let errors = log
        .end_offset(runnel::runtime::processing_log::PROCESSING_LOG_TOPIC, 0)
        .unwrap_or(0);
    engine.shutdown();
    assert_eq!(
        written as usize, passing,
        "sink has {written} records, expected {passing} (processing log: {errors})"
    );

    println!(
        "RESULT stateless_csas records={n} threads={threads} partitions={PARTITIONS} output={written} \
         seconds={secs:.3} records_per_sec={:.0} cpu_seconds={cpu:.2} cpu_cores_used={:.2} peak_rss_mb={:.1} final_rss_mb={:.1} rss_before_open_mb={:.1} processing_log={errors}",
        n as f64 / secs,
        cpu / secs,
        peak_kb as f64 / 1024.0,
        rss_kb as f64 / 1024.0,
        rss_before_open as f64 / 1024.0,
    );
}
