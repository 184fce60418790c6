//! Aggregation state across crashes: a `GROUP BY` table whose process is killed (`kill -9`)
//! several times mid-stream ends with the same contents as a run that was never interrupted.
//!
//! Grouping by the stream's key keeps the aggregation in the task that reads the input, and
//! there the result is exact: the changelogs carry the input offsets the state reflects, so
//! a restart skips input its state already holds. Grouping by another column goes through a
//! repartition topic first, and a crash before the offset commit writes some repartitioned
//! records twice (at least once), so there the test asserts that nothing is lost.
//!
//! Every test runs on the embedded log and, when `RUNNEL_TEST_KAFKA` names a broker, on
//! Kafka (`kafka::` tests; reported as ignored without a broker); `kafka-eos::` runs the
//! repartitioned case under `processing.guarantee=exactly_once_v2` and asserts it exact.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A table's contents: key → (COUNT, SUM).
type Table = BTreeMap<String, (i64, i64)>;

const KEYS: i64 = 17;

/// The log a test runs on.
enum Backend {
    Embedded,
    /// Kafka at this bootstrap address; each data directory gets a topic prefix of its own.
    Kafka(String),
    /// Kafka with `processing.guarantee=exactly_once_v2`.
    KafkaExactlyOnce(String),
}

impl Backend {
    /// Records written; keys are `k0`..`k16`. With the settings below the query needs about
    /// 2.5 s (debug build) to work through them on the embedded log, so the kills below land
    /// mid-stream. Each `INSERT` waits for the broker's acknowledgement on Kafka, so fewer
    /// records there, read more slowly.
    fn records(&self) -> i64 {
        match self {
            Backend::Embedded => 20_000,
            Backend::Kafka(_) | Backend::KafkaExactlyOnce(_) => 3_000,
        }
    }

    /// How much longer a run takes to get going. On Kafka a process restarted after a kill
    /// waits for the consumer group to expire the killed member (the session timeout, 6 s
    /// here) before it gets its partitions, so its kills come later.
    fn slowdown(&self) -> u64 {
        match self {
            Backend::Embedded => 1,
            Backend::Kafka(_) | Backend::KafkaExactlyOnce(_) => 20,
        }
    }

    /// The topic prefix a data directory's process uses on Kafka.
    fn prefix(&self, dir: &Path) -> String {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("sr{}{name}-", std::process::id())
    }

    fn args(&self, dir: &Path) -> Vec<String> {
        match self {
            Backend::Embedded => vec!["--set".into(), "max.poll.records=3".into()],
            Backend::Kafka(servers) | Backend::KafkaExactlyOnce(servers) => {
                let guarantee = if matches!(self, Backend::KafkaExactlyOnce(_)) {
                    "processing.guarantee=exactly_once_v2"
                } else {
                    "processing.guarantee=at_least_once"
                };
                vec![
                    "--set".into(),
                    guarantee.into(),
                    "--set".into(),
                    "max.poll.records=30".into(),
                    "--set".into(),
                    "kafka.session.timeout.ms=6000".into(),
                    "--set".into(),
                    "kafka.heartbeat.interval.ms=500".into(),
                    "--set".into(),
                    "runnel.pull.wait.ms=30000".into(),
                    "--bootstrap-servers".into(),
                    servers.clone(),
                    "--set".into(),
                    format!("runnel.kafka.topic.prefix={}", self.prefix(dir)),
                ]
            }
        }
    }
}

/// Small polls and frequent commits: many commits, so kills land between and inside them.
/// Every poll and commit is a round trip to the broker on Kafka, so polls there are larger.
const SETTINGS: &[&str] = &[
    "--set",
    "commit.interval.ms=20",
    "--set",
    "statestore.cache.max.bytes=0",
];

/// `sql` in a file: scripts of thousands of inserts are too long for one argument.
fn script(sql: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("a temp file");
    file.write_all(sql.as_bytes()).expect("the script is written");
    file
}

fn runnel(b: &Backend, dir: &Path, sql: &str) -> Output {
    let file = script(sql);
    let out = Command::new(env!("CARGO_BIN_EXE_runnel"))
        .arg("--data-dir")
        .arg(dir)
        .args(b.args(dir))
        .args(SETTINGS)
        .args(["--output", "json", "-f"])
        .arg(file.path())
        .stdin(Stdio::null())
        .output()
        .expect("the runnel binary runs");
    assert!(
        out.status.success(),
        "{sql}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn inserts(range: std::ops::Range<i64>) -> String {
    range
        .map(|i| format!("INSERT INTO nums (id, k, n) VALUES ({i}, 'k{}', {i});\n", i % KEYS))
        .collect()
}

/// Keyed by `k`: `GROUP BY k` aggregates in the task reading the input.
const KEYED: &str = "CREATE STREAM nums (k VARCHAR KEY, id INT, n BIGINT) \
     WITH (KAFKA_TOPIC='nums', VALUE_FORMAT='JSON', PARTITIONS=2);\n";

/// Keyed by `id`: `GROUP BY k` repartitions first (two sub-topologies).
const REKEYED: &str = "CREATE STREAM nums (id INT KEY, k VARCHAR, n BIGINT) \
     WITH (KAFKA_TOPIC='nums', VALUE_FORMAT='JSON', PARTITIONS=2);\n";

/// COUNT and SUM per key.
const TABLE: &str = "CREATE TABLE totals AS SELECT k, COUNT(*) AS c, SUM(n) AS s FROM nums GROUP BY k;\n";

/// The table as a pull query reads it: key → (count, sum).
fn read_table(b: &Backend, dir: &Path) -> Table {
    let out = runnel(b, dir, "SELECT * FROM totals;");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| Some((v["K"].as_str()?.to_string(), (v["C"].as_i64()?, v["S"].as_i64()?))))
        .collect()
}

/// Starts the engine on `dir` with `sql` (the persistent query resumes), lets it run for
/// `ms`, then kills it without warning.
fn run_and_kill(b: &Backend, dir: &Path, sql: &str, ms: u64) {
    let file = script(sql);
    let mut child = Command::new(env!("CARGO_BIN_EXE_runnel"))
        .arg("--data-dir")
        .arg(dir)
        .args(b.args(dir))
        .args(SETTINGS)
        .args(["--timeout", "60", "-f"])
        .arg(file.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the runnel binary starts");
    std::thread::sleep(Duration::from_millis(ms * b.slowdown()));
    // SIGKILL: no commit, no checkpoint, no flush.
    child.kill().expect("the child can be killed");
    let _ = child.wait();
}

/// The table once it has caught up, or its last reading. A pull query waits for the query's
/// sources, but not yet for a repartition topic still being written by the query's first
/// sub-topology, so an early reading can miss the last records; reading again (each run
/// restarts the query) converges. Lost or twice-counted records never converge to `want`.
fn table(b: &Backend, dir: &Path, want: &Table) -> Table {
    let mut last = read_table(b, dir);
    for _ in 0..5 {
        if &last == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        last = read_table(b, dir);
    }
    last
}

/// Every committed record of a topic (read_committed), values by key in offset order.
fn committed_updates(servers: &str, prefix: &str, topic: &str) -> BTreeMap<String, Vec<String>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", format!("{prefix}checker"))
        .set("isolation.level", "read_committed")
        .create()
        .expect("a consumer");
    let wire = format!("{prefix}{topic}");
    let md = consumer
        .fetch_metadata(Some(&wire), Duration::from_secs(10))
        .expect("metadata");
    let partitions = md.topics().first().map_or(0, |t| t.partitions().len() as i32);
    let mut list = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition_offset(&wire, p, rdkafka::Offset::Beginning).unwrap();
    }
    consumer.assign(&list).unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut quiet = std::time::Instant::now();
    while quiet.elapsed() < Duration::from_secs(3) {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            quiet = std::time::Instant::now();
            let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            out.entry(key).or_default().push(value);
        }
    }
    out
}

/// COUNT and SUM per key of `(key, n)` inputs.
fn totals(inputs: impl IntoIterator<Item = (String, i64)>) -> Table {
    let mut out: Table = BTreeMap::new();
    for (k, n) in inputs {
        let e = out.entry(k).or_default();
        e.0 += 1;
        e.1 += n;
    }
    out
}

fn expected(b: &Backend) -> Table {
    totals((0..b.records()).map(|i| (format!("k{}", i % KEYS), i)))
}

/// The records of the input stream (a kill during a script of inserts cuts it short).
fn inputs(b: &Backend, dir: &Path) -> Vec<(i64, String, i64)> {
    let out = runnel(b, dir, "SELECT id, k, n FROM nums;");
    let mut rows: Vec<(i64, String, i64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| Some((v["ID"].as_i64()?, v["K"].as_str()?.to_string(), v["N"].as_i64()?)))
        .collect();
    rows.sort();
    rows
}

/// Writes the records with the query killed at different points while it works through
/// them, more records arriving between (and during) the crashes; returns the table once
/// caught up, and the table of an uninterrupted run over the records that were written.
fn crash_and_compare(b: &Backend, schema: &str) -> (Table, Table) {
    let third = b.records() / 3;
    let crashed = tempfile::tempdir().unwrap();
    let dir = crashed.path();
    runnel(b, dir, &format!("{schema}{}", inserts(0..third)));
    // The CTAS starts on a backlog and is killed partway through it.
    run_and_kill(b, dir, &format!("{TABLE}SELECT * FROM totals EMIT CHANGES;"), 400);
    // Restarts resume the query from its commits; inserts land while it runs.
    run_and_kill(
        b,
        dir,
        &format!("{}SELECT * FROM totals EMIT CHANGES;", inserts(third..2 * third)),
        600,
    );
    for ms in [150, 300, 450] {
        run_and_kill(b, dir, "SELECT * FROM totals EMIT CHANGES;", ms);
    }
    runnel(b, dir, &inserts(2 * third..b.records()));
    run_and_kill(b, dir, "SELECT * FROM totals EMIT CHANGES;", 700);
    run_and_kill(b, dir, "SELECT * FROM totals EMIT CHANGES;", 250);

    // The reference: the records that made it into the stream, the query never interrupted.
    let written = inputs(b, dir);
    assert!(
        written.len() as i64 > third,
        "most inserts landed: {} of {}",
        written.len(),
        b.records()
    );
    let want = totals(written.iter().map(|(_, k, n)| (k.clone(), *n)));
    let clean = tempfile::tempdir().unwrap();
    let replay: String = written
        .iter()
        .map(|(id, k, n)| format!("INSERT INTO nums (id, k, n) VALUES ({id}, '{k}', {n});\n"))
        .collect();
    runnel(b, clean.path(), &format!("{schema}{replay}{TABLE}"));
    let reference = table(b, clean.path(), &want);
    assert_eq!(reference, want, "the uninterrupted run counts every record once");
    // A pull query waits for the restarted query to catch up with its input.
    let after = table(b, dir, &reference);
    if let Backend::KafkaExactlyOnce(servers) = b {
        // The committed output itself: with the record cache off, every input record makes
        // exactly one update of its key, so an exact run has as many updates per key as the
        // key has inputs, and ends on the same row.
        let updates = committed_updates(servers, &b.prefix(dir), "TOTALS");
        for (k, (count, sum)) in &reference {
            let got = updates.get(k).map(Vec::as_slice).unwrap_or_default();
            assert_eq!(got.len() as i64, *count, "{k}: committed updates {got:?}");
            let last: serde_json::Value = serde_json::from_str(got.last().map_or("null", String::as_str)).unwrap();
            assert_eq!(
                (last["C"].as_i64(), last["S"].as_i64()),
                (Some(*count), Some(*sum)),
                "{k}"
            );
        }
    }
    (after, reference)
}

fn killed_and_restarted_aggregations_equal_an_uninterrupted_run(b: &Backend) {
    let (after_crashes, reference) = crash_and_compare(b, KEYED);
    assert_eq!(after_crashes, reference, "no record lost or counted twice");
}

fn killed_and_restarted_repartitioned_aggregations_lose_nothing(b: &Backend) {
    let (after_crashes, reference) = crash_and_compare(b, REKEYED);
    assert_eq!(
        after_crashes.keys().collect::<Vec<_>>(),
        reference.keys().collect::<Vec<_>>()
    );
    for (k, (count, sum)) in &reference {
        let (c, s) = after_crashes[k];
        assert!(
            c >= *count && s >= *sum,
            "{k}: ({c}, {s}) lost records of ({count}, {sum})"
        );
    }
}

/// Under exactly-once processing even the repartitioned aggregation, whose repartition
/// topic a crash would make an at-least-once run write twice, ends exactly equal to the
/// uninterrupted run: output, changelogs and offsets are committed together or not at all.
fn killed_and_restarted_exactly_once_aggregations_are_exact(b: &Backend) {
    let (after_crashes, reference) = crash_and_compare(b, REKEYED);
    assert_eq!(after_crashes, reference, "no record lost or counted twice");
}

fn a_clean_restart_keeps_the_table_and_adds_to_it(b: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    runnel(b, dir.path(), &format!("{KEYED}{}{TABLE}", inserts(0..100)));
    let mut first_hundred = BTreeMap::new();
    for i in 0..100 {
        let e: &mut (i64, i64) = first_hundred.entry(format!("k{}", i % KEYS)).or_default();
        e.0 += 1;
        e.1 += i;
    }
    assert_eq!(table(b, dir.path(), &first_hundred), first_hundred);
    // The restarted query restores its counts and adds the new records to them.
    runnel(b, dir.path(), &inserts(100..b.records()));
    assert_eq!(table(b, dir.path(), &expected(b)), expected(b));
}

/// The embedded log compacts changelogs (`cleanup.policy=compact`): after a pass, a store
/// rebuilt from scratch reads one record per key and holds the same table.
fn a_deleted_state_is_rebuilt_from_the_compacted_changelog() {
    use runnel::log::{Log, TopicPartition};
    let b = Backend::Embedded;
    let dir = tempfile::tempdir().unwrap();
    runnel(&b, dir.path(), &format!("{REKEYED}{TABLE}{}", inserts(0..b.records())));
    assert_eq!(table(&b, dir.path(), &expected(&b)), expected(&b));
    let (written, stored) = {
        let log = runnel::log::embedded::EmbeddedLog::open(dir.path()).expect("the log opens");
        log.compact_now().expect("compaction runs");
        let (mut written, mut stored) = (0i64, 0usize);
        for topic in log.list_topics().unwrap() {
            if !topic.name.ends_with("-changelog") {
                continue;
            }
            for p in 0..topic.partitions {
                written += log.end_offset(&topic.name, p).unwrap();
                let mut consumer = log.consumer().unwrap();
                consumer
                    .assign(&[(TopicPartition::new(topic.name.clone(), p), 0)])
                    .unwrap();
                loop {
                    let n = consumer.poll(10_000, Duration::ZERO).unwrap().len();
                    if n == 0 {
                        break;
                    }
                    stored += n;
                }
            }
        }
        (written, stored)
    };
    // Of the many updates per key written, one record per key and a position marker per
    // partition stay.
    assert!(written > 10 * KEYS, "{written} changelog records written");
    assert!(
        stored as i64 <= KEYS + 2,
        "{stored} changelog records left after compaction"
    );
    std::fs::remove_dir_all(dir.path().join("state")).unwrap();
    assert_eq!(table(&b, dir.path(), &expected(&b)), expected(&b));
}

/// One test, run once per log.
type RestoreTest = fn(&Backend);

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let kafka = std::env::var("RUNNEL_TEST_KAFKA").ok().filter(|s| !s.trim().is_empty());
    let tests: [(&str, RestoreTest); 3] = [
        (
            "killed_and_restarted_aggregations_equal_an_uninterrupted_run",
            killed_and_restarted_aggregations_equal_an_uninterrupted_run,
        ),
        (
            "killed_and_restarted_repartitioned_aggregations_lose_nothing",
            killed_and_restarted_repartitioned_aggregations_lose_nothing,
        ),
        (
            "a_clean_restart_keeps_the_table_and_adds_to_it",
            a_clean_restart_keeps_the_table_and_adds_to_it,
        ),
    ];
    let mut trials = vec![libtest_mimic::Trial::test(
        "a_deleted_state_is_rebuilt_from_the_compacted_changelog",
        || {
            a_deleted_state_is_rebuilt_from_the_compacted_changelog();
            Ok(())
        },
    )];
    let servers = kafka.clone();
    trials.push(
        libtest_mimic::Trial::test(
            "kafka-eos::killed_and_restarted_exactly_once_aggregations_are_exact",
            move || {
                killed_and_restarted_exactly_once_aggregations_are_exact(&Backend::KafkaExactlyOnce(
                    servers.clone().unwrap_or_default(),
                ));
                Ok(())
            },
        )
        .with_ignored_flag(kafka.is_none()),
    );
    for (name, test) in tests {
        trials.push(libtest_mimic::Trial::test(name, move || {
            test(&Backend::Embedded);
            Ok(())
        }));
        let servers = kafka.clone();
        trials.push(
            libtest_mimic::Trial::test(format!("kafka::{name}"), move || {
                test(&Backend::Kafka(servers.clone().unwrap_or_default()));
                Ok(())
            })
            .with_ignored_flag(kafka.is_none()),
        );
    }
    libtest_mimic::run(&args, trials).exit();
}
