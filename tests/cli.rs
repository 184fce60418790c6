//! The `runnel` binary as a user runs it: scripts, exit codes, output formats, restarts,
//! crashes, and bad input (malformed SQL, a busy or unusable data directory, corrupt data).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn runnel(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runnel"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the runnel binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SETUP: &str = "
CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT)
  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON', PARTITIONS=4, TIMESTAMP='viewtime');
INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('u1', 'home', 1000);
INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('u2', 'about', 2000);
CREATE STREAM home_views AS SELECT userid, UCASE(pageid) AS page, viewtime * 2 AS t2
  FROM pageviews WHERE pageid LIKE 'ho%' EMIT CHANGES;
";

#[test]
fn the_tour_runs_and_prints_json_rows() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!("{SETUP}\nSELECT * FROM home_views EMIT CHANGES LIMIT 1;");
    let out = runnel(dir.path(), &["--output", "json", "-e", &script]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out).trim(), r#"{"USERID":"u1","PAGE":"HOME","T2":2000}"#);
}

#[test]
fn csv_and_table_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = runnel(
        dir.path(),
        &[
            "--output",
            "csv",
            "-e",
            &format!("{SETUP}\nSELECT userid, pageid FROM pageviews WHERE viewtime > 1500;"),
        ],
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "USERID,PAGEID\nu2,about");
    let out = runnel(
        dir.path(),
        &["-e", "SELECT userid, pageid FROM pageviews WHERE viewtime > 1500;"],
    );
    let text = stdout(&out);
    assert!(text.contains("| USERID | PAGEID |"), "{text}");
    assert!(text.contains("| u2     | about  |"), "{text}");
    assert!(text.contains("1 row"), "{text}");
}

#[test]
fn a_failing_statement_stops_the_script_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let script = "CREATE STREAM s (id INT KEY, v STRING) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);\nSELEC * FROM s;\nSHOW STREAMS;";
    let out = runnel(dir.path(), &["-e", script]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("parse error at 1:1"), "{err}");
    assert!(err.contains("SELEC * FROM s;"), "{err}");
    assert!(
        !stdout(&out).contains("Stream Name"),
        "the script must stop at the failure"
    );
    let out = runnel(dir.path(), &["--continue-on-error", "-e", script]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("Stream Name"), "--continue-on-error goes on");
}

#[test]
fn scripts_come_from_files_and_standard_input_with_variables() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.sql");
    std::fs::write(&file, "DEFINE topic = 'things';\nCREATE STREAM s (id INT KEY, v STRING) WITH (KAFKA_TOPIC='${topic}', VALUE_FORMAT='JSON', PARTITIONS=1);\nSHOW TOPICS;").unwrap();
    let out = runnel(&dir.path().join("data"), &["-f", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("things"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_runnel"))
        .arg("--data-dir")
        .arg(dir.path().join("data2"))
        .args(["--output", "json", "--define", "n=7"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"SHOW VARIABLES;").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), r#"{"Variable Name":"n","Value":"7"}"#);
}

#[test]
fn a_push_query_in_a_script_needs_a_limit_or_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let script = "CREATE STREAM s (id INT KEY, v STRING) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);\nSELECT * FROM s EMIT CHANGES;";
    let out = runnel(dir.path(), &["-e", script]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("needs LIMIT n, or run the script with --timeout"),
        "{}",
        stderr(&out)
    );
    let started = Instant::now();
    let out = runnel(dir.path(), &["--timeout", "0.5", "-e", "SELECT * FROM s EMIT CHANGES;"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_restart_keeps_streams_queries_and_records_without_reprocessing() {
    let dir = tempfile::tempdir().unwrap();
    let out = runnel(
        dir.path(),
        &[
            "-e",
            &format!("{SETUP}\nSELECT * FROM home_views EMIT CHANGES LIMIT 1;"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Second run: the query is restored and resumes where it committed.
    let script = "INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('u3', 'hot', 3000);
SELECT * FROM home_views EMIT CHANGES LIMIT 2;";
    let out = runnel(dir.path(), &["--output", "json", "-e", script]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "{\"USERID\":\"u1\",\"PAGE\":\"HOME\",\"T2\":2000}\n{\"USERID\":\"u3\",\"PAGE\":\"HOT\",\"T2\":6000}"
    );
    // Nothing was processed twice: the sink holds exactly two records.
    let out = runnel(
        dir.path(),
        &["--output", "json", "-e", "SHOW QUERIES; SELECT userid FROM home_views;"],
    );
    let text = stdout(&out);
    assert!(text.contains("CSAS_HOME_VIEWS_1"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("{\"USERID\"")).count(),
        2,
        "{text}"
    );
}

#[test]
fn a_restart_replays_statements_with_the_session_properties_they_ran_with() {
    let dir = tempfile::tempdir().unwrap();
    // The stream and the query exist only because of the session's defaults.
    let script = "SET 'ksql.persistence.default.format.value'='JSON';
SET 'ksql.output.topic.name.prefix'='p_';
CREATE STREAM s (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='s', PARTITIONS=1);
CREATE STREAM o AS SELECT k, v * 2 AS v2 FROM s;";
    let out = runnel(dir.path(), &["-e", script]);
    assert!(out.status.success(), "{}", stderr(&out));
    let script = "INSERT INTO s (k, v) VALUES ('a', 21);
PRINT 'p_O' FROM BEGINNING LIMIT 1;";
    let out = runnel(dir.path(), &["-e", script]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("\"V2\":42"), "{text}");
}

#[test]
fn a_killed_process_loses_nothing_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut script = String::from(
        "CREATE STREAM nums (id INT KEY, n BIGINT) WITH (KAFKA_TOPIC='nums', VALUE_FORMAT='JSON', PARTITIONS=2);\n\
         CREATE STREAM doubled AS SELECT id, n * 2 AS d FROM nums;\n",
    );
    for i in 0..200 {
        script.push_str(&format!("INSERT INTO nums (id, n) VALUES ({i}, {i});\n"));
    }
    script.push_str("SELECT * FROM nums EMIT CHANGES;\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_runnel"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--timeout", "60", "-e", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Let the inserts land and the query run for a moment, then kill it without warning.
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    // A pull query waits for the query writing its source to catch up, so this sees every
    // record the restarted query will produce.
    let ids_of = |sql: &str| -> Vec<i64> {
        let out = runnel(dir.path(), &["--output", "json", "-e", sql]);
        assert!(out.status.success(), "{}", stderr(&out));
        let mut ids: Vec<i64> = stdout(&out)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["ID"].as_i64())
            .collect();
        ids.sort();
        ids
    };
    let inputs = ids_of("SELECT id FROM nums;");
    assert!(!inputs.is_empty(), "the killed run wrote its inputs");
    let mut outputs = ids_of("SELECT id FROM doubled;");
    // At least once: duplicates are allowed, losses are not.
    outputs.dedup();
    assert_eq!(outputs, inputs, "every input record reaches the sink");
}

#[test]
fn a_second_process_on_the_same_data_directory_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let mut holder = Command::new(env!("CARGO_BIN_EXE_runnel"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--timeout", "30", "-e", "CREATE STREAM s (id INT KEY) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1); SELECT * FROM s EMIT CHANGES;"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the holder has the directory (its pid is in the LOCK file), so the check
    // below never races it for the lock.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(dir.path().join("LOCK"))
        .map(|p| p.trim() != holder.id().to_string())
        .unwrap_or(true)
    {
        assert!(
            Instant::now() < deadline,
            "the first process never took the data directory"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = runnel(dir.path(), &["-e", "SHOW STREAMS;"]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("pid {}", holder.id())), "{err}");
    assert!(err.contains("--server"), "{err}");
}

#[test]
fn an_unusable_data_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = runnel(&file.join("data"), &["-e", "SHOW STREAMS;"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not-a-dir"), "{}", stderr(&out));
}

#[test]
fn corrupt_log_data_is_reported_not_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let mut script = String::from(
        "CREATE STREAM s (id INT KEY, v STRING) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);\n",
    );
    for i in 0..20 {
        script.push_str(&format!("INSERT INTO s (id, v) VALUES ({i}, 'value number {i}');\n"));
    }
    let out = runnel(dir.path(), &["-e", &script]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Damage a record in the middle of the partition's only segment.
    let seg_dir = dir.path().join("topics").join("s").join("0");
    let seg = std::fs::read_dir(&seg_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 8] {
        *b ^= 0xFF;
    }
    std::fs::write(&seg, bytes).unwrap();
    let out = runnel(dir.path(), &["-e", "SELECT * FROM s;"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("corrupt"), "{err}");
    assert!(err.contains(".log"), "the message names the file: {err}");
}

#[test]
fn undecodable_records_go_to_the_processing_log_and_the_query_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let script = "CREATE STREAM raw (id INT KEY, line STRING) WITH (KAFKA_TOPIC='data', VALUE_FORMAT='DELIMITED', KEY_FORMAT='KAFKA', PARTITIONS=1);
CREATE STREAM typed (id INT KEY, n INT) WITH (KAFKA_TOPIC='data', VALUE_FORMAT='JSON', KEY_FORMAT='KAFKA');
INSERT INTO raw (id, line) VALUES (1, 'not json');
CREATE STREAM ok AS SELECT id, n FROM typed;
SELECT MESSAGE->KIND AS kind, MESSAGE->TOPIC AS topic, MESSAGE->OFFSET AS off FROM RUNNEL_PROCESSING_LOG EMIT CHANGES LIMIT 1;";
    let out = runnel(dir.path(), &["--output", "json", "-e", script]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        r#"{"KIND":"DESERIALIZATION_ERROR","TOPIC":"data","OFF":0}"#
    );
    let out = runnel(dir.path(), &["--output", "json", "-e", "SHOW QUERIES;"]);
    assert!(stdout(&out).contains("RUNNING"), "{}", stdout(&out));
}

#[test]
fn a_full_disk_is_a_clear_error_and_keeps_what_was_written() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let setup = "CREATE STREAM s (id INT KEY, v STRING) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);\n\
                 INSERT INTO s (id, v) VALUES (0, 'before the disk filled');";
    let out = runnel(dir.path(), &["-e", setup]);
    assert!(out.status.success(), "{}", stderr(&out));
    // No file may grow past 64 KiB: writes beyond fail as on a full disk (EFBIG with SIGXFSZ
    // ignored, the same error path as ENOSPC).
    let mut script = String::new();
    for i in 1..2000 {
        script.push_str(&format!(
            "INSERT INTO s (id, v) VALUES ({i}, 'a value that takes some room on disk {i}');\n"
        ));
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &script).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runnel"));
    cmd.arg("--data-dir")
        .arg(dir.path())
        .arg("-f")
        .arg(file.path())
        .stdin(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 64 * 1024,
                rlim_max: 64 * 1024,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the failing INSERT fails the script: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("log error"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // With room again, the log opens cleanly and holds every acknowledged record, in order.
    let out = runnel(dir.path(), &["--output", "json", "-e", "SELECT id FROM s;"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ids: Vec<i64> = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["ID"].as_i64())
        .collect();
    assert!(
        ids.len() > 10 && ids.len() < 2000,
        "some inserts landed before the disk filled: {}",
        ids.len()
    );
    assert_eq!(ids, (0..ids.len() as i64).collect::<Vec<_>>());
}
