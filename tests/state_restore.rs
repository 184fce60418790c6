//! Aggregation state across crashes: a `GROUP BY` table whose process is killed (`kill -9`)
//! several times mid-stream ends with the same contents as a run that was never interrupted.
//!
//! Grouping by the stream's key keeps the aggregation in the task that reads the input, and
//! there the result is exact: the changelogs carry the input offsets the state reflects, so
//! a restart skips input its state already holds. Grouping by another column goes through a
//! repartition topic first, and a crash before the offset commit writes some repartitioned
//! records twice (at least once), so there the test asserts that nothing is lost.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A table's contents: key → (COUNT, SUM).
type Table = BTreeMap<String, (i64, i64)>;

/// Records written; keys are `k0`..`k16`. With the settings below the query needs about
/// 2.5 s (debug build) to work through them, so the kills below land mid-stream.
const RECORDS: i64 = 20_000;
const KEYS: i64 = 17;

/// Small polls and frequent commits: many commits, so kills land between and inside them.
const SETTINGS: &[&str] = &[
    "--set",
    "commit.interval.ms=20",
    "--set",
    "max.poll.records=3",
    "--set",
    "statestore.cache.max.bytes=0",
];

/// `sql` in a file: scripts of thousands of inserts are too long for one argument.
fn script(sql: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("a temp file");
    file.write_all(sql.as_bytes()).expect("the script is written");
    file
}

fn runnel(dir: &Path, sql: &str) -> Output {
    let file = script(sql);
    let out = Command::new(env!("CARGO_BIN_EXE_runnel"))
        .arg("--data-dir")
        .arg(dir)
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
fn read_table(dir: &Path) -> Table {
    let out = runnel(dir, "SELECT * FROM totals;");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| Some((v["K"].as_str()?.to_string(), (v["C"].as_i64()?, v["S"].as_i64()?))))
        .collect()
}

/// Starts the engine on `dir` with `sql` (the persistent query resumes), lets it run for
/// `ms`, then kills it without warning.
fn run_and_kill(dir: &Path, sql: &str, ms: u64) {
    let file = script(sql);
    let mut child = Command::new(env!("CARGO_BIN_EXE_runnel"))
        .arg("--data-dir")
        .arg(dir)
        .args(SETTINGS)
        .args(["--timeout", "60", "-f"])
        .arg(file.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the runnel binary starts");
    std::thread::sleep(Duration::from_millis(ms));
    // SIGKILL: no commit, no checkpoint, no flush.
    child.kill().expect("the child can be killed");
    let _ = child.wait();
}

/// The table once it has caught up, or its last reading. A pull query waits for the query's
/// sources, but not yet for a repartition topic still being written by the query's first
/// sub-topology, so an early reading can miss the last records; reading again (each run
/// restarts the query) converges. Lost or twice-counted records never converge to `want`.
fn table(dir: &Path, want: &Table) -> Table {
    let mut last = read_table(dir);
    for _ in 0..5 {
        if &last == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        last = read_table(dir);
    }
    last
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

fn expected() -> Table {
    totals((0..RECORDS).map(|i| (format!("k{}", i % KEYS), i)))
}

/// The records of the input stream (a kill during a script of inserts cuts it short).
fn inputs(dir: &Path) -> Vec<(i64, String, i64)> {
    let out = runnel(dir, "SELECT id, k, n FROM nums;");
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
fn crash_and_compare(schema: &str) -> (Table, Table) {
    let third = RECORDS / 3;
    let crashed = tempfile::tempdir().unwrap();
    let dir = crashed.path();
    runnel(dir, &format!("{schema}{}", inserts(0..third)));
    // The CTAS starts on a backlog and is killed partway through it.
    run_and_kill(dir, &format!("{TABLE}SELECT * FROM totals EMIT CHANGES;"), 400);
    // Restarts resume the query from its commits; inserts land while it runs.
    run_and_kill(
        dir,
        &format!("{}SELECT * FROM totals EMIT CHANGES;", inserts(third..2 * third)),
        600,
    );
    for ms in [150, 300, 450] {
        run_and_kill(dir, "SELECT * FROM totals EMIT CHANGES;", ms);
    }
    runnel(dir, &inserts(2 * third..RECORDS));
    run_and_kill(dir, "SELECT * FROM totals EMIT CHANGES;", 700);
    run_and_kill(dir, "SELECT * FROM totals EMIT CHANGES;", 250);

    // The reference: the records that made it into the stream, the query never interrupted.
    let written = inputs(dir);
    assert!(
        written.len() as i64 > third,
        "most inserts landed: {} of {RECORDS}",
        written.len()
    );
    let want = totals(written.iter().map(|(_, k, n)| (k.clone(), *n)));
    let clean = tempfile::tempdir().unwrap();
    let replay: String = written
        .iter()
        .map(|(id, k, n)| format!("INSERT INTO nums (id, k, n) VALUES ({id}, '{k}', {n});\n"))
        .collect();
    runnel(clean.path(), &format!("{schema}{replay}{TABLE}"));
    let reference = table(clean.path(), &want);
    assert_eq!(reference, want, "the uninterrupted run counts every record once");
    // A pull query waits for the restarted query to catch up with its input.
    (table(dir, &reference), reference)
}

#[test]
fn killed_and_restarted_aggregations_equal_an_uninterrupted_run() {
    let (after_crashes, reference) = crash_and_compare(KEYED);
    assert_eq!(after_crashes, reference, "no record lost or counted twice");
}

#[test]
fn killed_and_restarted_repartitioned_aggregations_lose_nothing() {
    let (after_crashes, reference) = crash_and_compare(REKEYED);
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

#[test]
fn a_clean_restart_keeps_the_table_and_adds_to_it() {
    let dir = tempfile::tempdir().unwrap();
    runnel(dir.path(), &format!("{KEYED}{}{TABLE}", inserts(0..100)));
    let mut first_hundred = BTreeMap::new();
    for i in 0..100 {
        let e: &mut (i64, i64) = first_hundred.entry(format!("k{}", i % KEYS)).or_default();
        e.0 += 1;
        e.1 += i;
    }
    assert_eq!(table(dir.path(), &first_hundred), first_hundred);
    // The restarted query restores its counts and adds the new records to them.
    runnel(dir.path(), &inserts(100..RECORDS));
    assert_eq!(table(dir.path(), &expected()), expected());
}
