//! The `runnel` binary on a real Apache Kafka broker: scripts, restarts whose state comes
//! back from changelog topics, headless mode, topics created and deleted through the admin
//! API, and a wrong broker address.
//!
//! Needs `RUNNEL_TEST_KAFKA` (a bootstrap address; `scripts/test` starts a broker with
//! `scripts/kafka start` and sets it, and `RUNNEL_TEST_KAFKA_SASL` to its SASL listener).
//! Without them the tests that need them are reported as ignored.
//! Each test runs under a topic prefix of its own, so tests share the broker unseen.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};

/// One test's view of the broker: its address and its topic prefix.
struct Cluster {
    servers: String,
    prefix: String,
    /// Extra `--set` properties for every process.
    settings: Vec<String>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Cluster {
    fn new(servers: &str) -> Self {
        Cluster {
            servers: servers.to_string(),
            prefix: format!("kt{}-{}-", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)),
            settings: Vec::new(),
        }
    }

    fn command(&self, dir: &Path) -> Command {
        self.command_after(&[], dir)
    }

    /// The binary with `first` (a subcommand and its arguments) before the engine options.
    fn command_after(&self, first: &[&std::ffi::OsStr], dir: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_runnel"));
        c.args(first)
            .arg("--data-dir")
            .arg(dir)
            .args(["--bootstrap-servers", &self.servers])
            .args(["--set", &format!("runnel.kafka.topic.prefix={}", self.prefix)])
            .args(["--set", "commit.interval.ms=100"])
            .args(self.settings.iter().flat_map(|s| ["--set", s.as_str()]))
            .stdin(Stdio::null());
        c
    }

    fn run(&self, dir: &Path, args: &[&str]) -> Result<Output, Failed> {
        self.command(dir)
            .args(args)
            .output()
            .map_err(|e| Failed::from(format!("cannot run runnel: {e}")))
    }

    /// Runs SQL and insists on success; returns standard output.
    fn sql(&self, dir: &Path, sql: &str) -> Result<String, Failed> {
        let out = self.run(dir, &["--output", "json", "-e", sql])?;
        if !out.status.success() {
            return Err(format!("{sql}\nfailed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if cond { Ok(()) } else { Err(what().into()) }
}

const PAGEVIEWS: &str = "
CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, ms INT)
  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON', PARTITIONS=3);
INSERT INTO pageviews (userid, pageid, ms) VALUES ('u1', 'home', 10);
INSERT INTO pageviews (userid, pageid, ms) VALUES ('u2', 'about', 20);
INSERT INTO pageviews (userid, pageid, ms) VALUES ('u1', 'news', 30);
CREATE TABLE per_user AS SELECT userid, COUNT(*) AS views, SUM(ms) AS total FROM pageviews GROUP BY userid;
";

fn rows(json_lines: &str) -> Vec<String> {
    let mut rows: Vec<String> = json_lines
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(str::to_string)
        .collect();
    rows.sort();
    rows
}

/// A script runs on Kafka; a second process with an empty data directory (another machine)
/// answers from state restored out of the changelog topic, and adds to it.
fn state_comes_back_from_the_changelog_on_a_new_machine(c: &Cluster) -> Result<(), Failed> {
    let first = tempfile::tempdir()?;
    let out = c.sql(first.path(), &format!("{PAGEVIEWS}SELECT * FROM per_user;"))?;
    let want = vec![
        r#"{"USERID":"u1","VIEWS":2,"TOTAL":40}"#.to_string(),
        r#"{"USERID":"u2","VIEWS":1,"TOTAL":20}"#.to_string(),
    ];
    check(rows(&out) == want, || format!("first run: {out}"))?;
    let second = tempfile::tempdir()?;
    let out = c.sql(
        second.path(),
        "INSERT INTO pageviews (userid, pageid, ms) VALUES ('u2', 'home', 5); SELECT * FROM per_user;",
    )?;
    let want = vec![
        r#"{"USERID":"u1","VIEWS":2,"TOTAL":40}"#.to_string(),
        r#"{"USERID":"u2","VIEWS":2,"TOTAL":25}"#.to_string(),
    ];
    check(rows(&out) == want, || format!("fresh data directory: {out}"))?;
    let topics = c.sql(second.path(), "SHOW TOPICS;")?;
    check(topics.contains("PER_USER") && topics.contains("pageviews"), || {
        format!("SHOW TOPICS: {topics}")
    })
}

/// `runnel run app.sql` starts its queries, says what runs from where, serves until SIGTERM,
/// then commits and exits 0; the results are there for the next process.
fn headless_mode_serves_until_sigterm(c: &Cluster) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let app = dir.path().join("app.sql");
    std::fs::write(&app, PAGEVIEWS)?;
    let service = Service::start(c, &app, &dir.path().join("service"))?;
    let log = service.startup.clone();
    check(
        log.contains("query CTAS_PER_USER_") && log.contains("reading pageviews"),
        || format!("start-up log does not say what runs: {log}"),
    )?;
    let rest = service.stop()?;
    check(rest.contains("stopped cleanly"), || format!("no clean stop: {rest}"))?;
    let out = c.sql(&dir.path().join("shell"), "SELECT * FROM per_user WHERE userid = 'u1';")?;
    check(
        rows(&out) == vec![r#"{"USERID":"u1","VIEWS":2,"TOTAL":40}"#.to_string()],
        || format!("after the service stopped: {out}"),
    )
}

/// A repartition topic is purged up to the committed offsets (Kafka Streams' DeleteRecords
/// after commit), so it does not grow without bound.
fn repartition_topics_are_purged(c: &Cluster) -> Result<(), Failed> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let dir = tempfile::tempdir()?;
    let mut sql = String::from(
        "CREATE STREAM clicks (id INT KEY, page VARCHAR) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);\n",
    );
    for i in 0..50 {
        sql.push_str(&format!("INSERT INTO clicks (id, page) VALUES ({i}, 'p{}');\n", i % 3));
    }
    sql.push_str(
        "CREATE TABLE per_page AS SELECT page, COUNT(*) AS n FROM clicks GROUP BY page;\nSELECT * FROM per_page;",
    );
    let out = c.sql(dir.path(), &sql)?;
    check(rows(&out).len() == 3, || format!("per page: {out}"))?;
    let client: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &c.servers)
        .create()?;
    let topic = format!(
        "{}_runnel-default_query_CTAS_PER_PAGE_1-Aggregate-GroupBy-repartition",
        c.prefix
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut purged = 0;
        let mut written = 0;
        for p in 0..2 {
            let (low, high) = client.fetch_watermarks(&topic, p, Duration::from_secs(10))?;
            purged += low;
            written += high;
        }
        if written >= 50 && purged == written {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{topic}: {purged} of {written} records purged").into());
        }
        // The service stopped after the script: commit happened at stop; a later process
        // resumes and purges too.
        c.sql(dir.path(), "SELECT * FROM per_page;")?;
    }
}

/// Topics are created with the partitions asked for, an existing topic's partition count is
/// read (and a conflicting one refused), and `DROP ... DELETE TOPIC` deletes on the broker.
fn topics_follow_the_statements(c: &Cluster) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    c.sql(
        dir.path(),
        "CREATE STREAM a (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='shared', VALUE_FORMAT='JSON', PARTITIONS=4);",
    )?;
    let out = c.run(
        dir.path(),
        &[
            "-e",
            "CREATE STREAM b (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='shared', VALUE_FORMAT='JSON', PARTITIONS=2);",
        ],
    )?;
    let err = String::from_utf8_lossy(&out.stderr);
    check(!out.status.success() && err.contains("4") && err.contains("2"), || {
        format!("a conflicting partition count must be refused: {err}")
    })?;
    c.sql(
        dir.path(),
        "CREATE STREAM c (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='shared', VALUE_FORMAT='JSON');",
    )?;
    let topics = c.sql(dir.path(), "SHOW TOPICS;")?;
    check(topics.contains(r#""shared""#) && topics.contains('4'), || {
        format!("SHOW TOPICS: {topics}")
    })?;
    c.sql(dir.path(), "DROP STREAM c; DROP STREAM a DELETE TOPIC;")?;
    let topics = c.sql(dir.path(), "SHOW TOPICS;")?;
    check(!topics.contains(r#""shared""#), || {
        format!("the topic survived DELETE TOPIC: {topics}")
    })
}

/// A headless service: started, waits until it serves; `stop` sends SIGTERM and checks a
/// clean exit.
struct Service {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// What it logged up to "serving".
    startup: String,
}

impl Service {
    fn start(c: &Cluster, app: &Path, dir: &Path) -> Result<Service, Failed> {
        let mut child = c
            .command_after(&["run".as_ref(), app.as_os_str()], dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let Some(stderr) = child.stderr.take() else {
            return Err("no stderr".into());
        };
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut service = Service {
            child,
            lines,
            startup: String::new(),
        };
        service.startup = service.wait_for("serving", Duration::from_secs(60))?;
        Ok(service)
    }

    fn wait_for(&mut self, text: &str, timeout: Duration) -> Result<String, Failed> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                let hit = line.contains(text);
                seen.push(line);
                if hit {
                    return Ok(seen.join("\n"));
                }
            }
        }
        Err(format!("no '{text}' within {timeout:?}: {}", seen.join("\n")).into())
    }

    /// Sends SIGTERM, insists on exit status 0, and returns what it logged meanwhile.
    fn stop(mut self) -> Result<String, Failed> {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()?;
        check(status.success(), || "kill -TERM failed".into())?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = self.child.try_wait()? {
                // The reader thread may still be draining the pipe: it ends at end of file.
                let rest: Vec<String> = self.lines.iter().collect();
                let rest = rest.join("\n");
                check(s.success(), || format!("exit status {s}: {rest}"))?;
                return Ok(rest);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return Err("the service did not stop within 60 s of SIGTERM".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Members of a consumer group, as the broker reports them.
fn group_members(c: &Cluster, group: &str) -> usize {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let Ok(client) = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &c.servers)
        .create::<BaseConsumer>()
    else {
        return 0;
    };
    client
        .fetch_group_list(Some(&format!("{}{group}", c.prefix)), Duration::from_secs(10))
        .ok()
        .and_then(|l| l.groups().first().map(|g| g.members().len()))
        .unwrap_or(0)
}

/// The latest value per key of a topic, read from its start.
fn latest_by_key(
    c: &Cluster,
    topic: &str,
    partitions: i32,
) -> Result<std::collections::BTreeMap<String, String>, Failed> {
    Ok(all_records(c, topic, partitions)?.into_iter().collect())
}

/// Every record of a topic as (key, value) text, partition by partition.
fn all_records(c: &Cluster, topic: &str, partitions: i32) -> Result<Vec<(String, String)>, Failed> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &c.servers)
        .set("group.id", format!("{}reader", c.prefix))
        .set("enable.auto.commit", "false")
        .create()?;
    let wire = format!("{}{topic}", c.prefix);
    let mut list = rdkafka::TopicPartitionList::new();
    let mut ends = std::collections::BTreeMap::new();
    for p in 0..partitions {
        list.add_partition_offset(&wire, p, rdkafka::Offset::Beginning)?;
        let (_, high) = consumer.fetch_watermarks(&wire, p, Duration::from_secs(10))?;
        ends.insert(p, high);
    }
    consumer.assign(&list)?;
    let mut out = Vec::new();
    let mut done: std::collections::BTreeMap<i32, i64> = std::collections::BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ends.iter().any(|(p, end)| done.get(p).copied().unwrap_or(0) < *end) && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            done.insert(m.partition(), m.offset() + 1);
            let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            out.push((key, value));
        }
    }
    Ok(out)
}

/// Inserts `n` = from..to with keys `k0`..`k9` into `nums`, from a process of another
/// service: it declares the stream over the same topic and runs no query, so it never joins
/// a query's consumer group.
fn insert_nums(c: &Cluster, dir: &Path, from: i32, to: i32) -> Result<(), Failed> {
    let inserts: String = (from..to)
        .map(|i| format!("INSERT INTO nums (k, n) VALUES ('k{}', {i});\n", i % 10))
        .collect();
    let out = c.run(
        &dir.join("writer"),
        &[
            "--set",
            "runnel.service.id=writer_",
            "-e",
            &format!(
                "CREATE STREAM IF NOT EXISTS nums (k VARCHAR KEY, n INT) WITH (KAFKA_TOPIC='nums', VALUE_FORMAT='JSON', PARTITIONS=4);\n{inserts}"
            ),
        ],
    )?;
    check(out.status.success(), || {
        String::from_utf8_lossy(&out.stderr).into_owned()
    })
}

const SCALE_APP: &str = "
CREATE STREAM IF NOT EXISTS nums (k VARCHAR KEY, n INT)
  WITH (KAFKA_TOPIC='nums', VALUE_FORMAT='JSON', PARTITIONS=4);
CREATE TABLE IF NOT EXISTS totals AS SELECT k, COUNT(*) AS c, SUM(n) AS s FROM nums GROUP BY k;
";

/// Two processes with one service id share a query: the consumer group splits its
/// partitions between them; when one stops, the other takes every partition over, restoring
/// the moved tasks' state from the changelogs. Nothing is lost or counted twice.
fn processes_share_a_query_and_take_over(c: &Cluster) -> Result<(), Failed> {
    share_and_take_over(c, "at_least_once")
}

/// The same under exactly-once processing.
fn processes_share_an_exactly_once_query_and_take_over(c: &Cluster) -> Result<(), Failed> {
    share_and_take_over(c, "exactly_once_v2")
}

fn share_and_take_over(c: &Cluster, guarantee: &str) -> Result<(), Failed> {
    let c = &Cluster {
        servers: c.servers.clone(),
        prefix: c.prefix.clone(),
        settings: vec![format!("processing.guarantee={guarantee}")],
    };
    let dir = tempfile::tempdir()?;
    let app = dir.path().join("app.sql");
    std::fs::write(&app, SCALE_APP)?;
    let writer = |from: i32, to: i32| insert_nums(c, dir.path(), from, to);
    let a = Service::start(c, &app, &dir.path().join("a"))?;
    writer(0, 100)?;
    let b = Service::start(c, &app, &dir.path().join("b"))?;
    let group = "_runnel-default_query_CTAS_TOTALS_1";
    let deadline = Instant::now() + Duration::from_secs(30);
    while group_members(c, group) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    check(group_members(c, group) == 2, || {
        format!("both processes join the group: {} members", group_members(c, group))
    })?;
    writer(100, 200)?;
    a.stop()?;
    writer(200, 300)?;
    let mut want = std::collections::BTreeMap::new();
    for i in 0..300 {
        let e: &mut (i64, i64) = want.entry(format!("k{}", i % 10)).or_default();
        e.0 += 1;
        e.1 += i64::from(i);
    }
    let want: std::collections::BTreeMap<String, String> = want
        .into_iter()
        .map(|(k, (count, sum))| (k, format!(r#"{{"C":{count},"S":{sum}}}"#)))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = latest_by_key(c, "TOTALS", 4)?;
    while got != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        got = latest_by_key(c, "TOTALS", 4)?;
    }
    b.stop()?;
    check(got == want, || {
        format!("totals after the handover:\n got {got:?}\nwant {want:?}")
    })
}

/// A broker of a test's own (`RUNNEL_KAFKA_RUN` keeps its state apart), stopped on drop.
struct OwnBroker {
    run_dir: tempfile::TempDir,
    address: String,
}

impl OwnBroker {
    fn script(run_dir: &Path, command: &str) -> Result<String, Failed> {
        let out = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka"))
            .arg(command)
            .env("RUNNEL_KAFKA_RUN", run_dir)
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(format!("scripts/kafka {command}: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .to_string())
    }

    fn start() -> Result<OwnBroker, Failed> {
        let run_dir = tempfile::tempdir()?;
        let address = Self::script(run_dir.path(), "start")?;
        Ok(OwnBroker { run_dir, address })
    }

    fn stop(&self) -> Result<(), Failed> {
        Self::script(self.run_dir.path(), "stop").map(|_| ())
    }

    fn restart(&self) -> Result<(), Failed> {
        let address = Self::script(self.run_dir.path(), "restart")?;
        check(address == self.address, || {
            format!("restarted at {address}, not {}", self.address)
        })
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = Self::script(self.run_dir.path(), "stop");
    }
}

/// The broker goes away and comes back: the running query pauses and goes on without losing
/// a record, and a statement made during the outage fails in bounded time with a message
/// that names the broker.
fn a_broker_outage_pauses_queries_and_loses_nothing(_: &Cluster) -> Result<(), Failed> {
    let broker = OwnBroker::start()?;
    let c = &Cluster::new(&broker.address);
    let dir = tempfile::tempdir()?;
    let app = dir.path().join("app.sql");
    std::fs::write(&app, SCALE_APP)?;
    let writer = |from: i32, to: i32| insert_nums(c, dir.path(), from, to);
    let mut service = Service::start(c, &app, &dir.path().join("service"))?;
    writer(0, 100)?;
    broker.stop()?;
    let started = Instant::now();
    let out = c.run(&dir.path().join("shell"), &["-e", "SHOW TOPICS;"])?;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    check(!out.status.success() && err.contains(&broker.address), || {
        format!("during the outage: {err}")
    })?;
    check(started.elapsed() < Duration::from_secs(40), || {
        format!("the outage took {:?} to report", started.elapsed())
    })?;
    check(service.child.try_wait()?.is_none(), || {
        "the service died in the outage".into()
    })?;
    broker.restart()?;
    writer(100, 200)?;
    let mut want = std::collections::BTreeMap::new();
    for i in 0..200 {
        let e: &mut (i64, i64) = want.entry(format!("k{}", i % 10)).or_default();
        e.0 += 1;
        e.1 += i64::from(i);
    }
    // At least once: nothing missing (a record processed twice around the outage may count
    // twice, never zero times).
    let complete = |got: &std::collections::BTreeMap<String, String>| {
        want.iter().all(|(k, (count, sum))| {
            got.get(k)
                .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
                .is_some_and(|v| v["C"].as_i64() >= Some(*count) && v["S"].as_i64() >= Some(*sum))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut got = latest_by_key(c, "TOTALS", 4)?;
    while !complete(&got) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        got = latest_by_key(c, "TOTALS", 4)?;
    }
    let _ = service.wait_for("never printed", Duration::from_millis(1));
    service.stop()?;
    check(complete(&got), || {
        format!("after the outage:\n got {got:?}\nwant {want:?}")
    })
}

/// A statement run in one process reaches every process of the service: a running service
/// follows the command topic and starts the query another process created.
fn statements_reach_every_process(c: &Cluster) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let app = dir.path().join("app.sql");
    std::fs::write(&app, SCALE_APP)?;
    let service = Service::start(c, &app, &dir.path().join("service"))?;
    // A shell of the same service adds a query, then exits (its share of the work goes back
    // to the service).
    let out = c.run(
        &dir.path().join("shell"),
        &["-e", "CREATE STREAM big AS SELECT * FROM nums WHERE n >= 50;"],
    )?;
    check(out.status.success(), || {
        String::from_utf8_lossy(&out.stderr).into_owned()
    })?;
    insert_nums(c, dir.path(), 0, 100)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = all_records(c, "BIG", 4)?;
    while got.len() < 50 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        got = all_records(c, "BIG", 4)?;
    }
    service.stop()?;
    check(got.len() == 50, || format!("BIG holds {} records: {got:?}", got.len()))
}

/// A secured cluster: SASL/PLAIN credentials pass through as `kafka.*` properties, and wrong
/// ones fail at start with the broker's reason. Needs `RUNNEL_TEST_KAFKA_SASL` (the
/// SASL_PLAINTEXT listener `scripts/kafka sasl-address` prints).
fn sasl_credentials_pass_through(_: &Cluster) -> Result<(), Failed> {
    let Ok(sasl) = std::env::var("RUNNEL_TEST_KAFKA_SASL") else {
        return Err("RUNNEL_TEST_KAFKA_SASL is not set".into());
    };
    let secured = |password: &str| Cluster {
        servers: sasl.clone(),
        prefix: format!("kt{}-sasl-", std::process::id()),
        settings: vec![
            "kafka.security.protocol=SASL_PLAINTEXT".into(),
            "kafka.sasl.mechanism=PLAIN".into(),
            "kafka.sasl.username=runnel".into(),
            format!("kafka.sasl.password={password}"),
        ],
    };
    let dir = tempfile::tempdir()?;
    let out = secured("runnel-secret").sql(
        dir.path(),
        &format!("{PAGEVIEWS}SELECT * FROM per_user WHERE userid = 'u1';"),
    )?;
    check(
        rows(&out) == vec![r#"{"USERID":"u1","VIEWS":2,"TOTAL":40}"#.to_string()],
        || format!("over SASL: {out}"),
    )?;
    let started = Instant::now();
    let out = secured("wrong").run(&dir.path().join("wrong"), &["-e", "SHOW TOPICS;"])?;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    check(!out.status.success() && err.contains("cannot reach Kafka"), || {
        format!("wrong password: {err}")
    })?;
    check(started.elapsed() < Duration::from_secs(30), || {
        format!("took {:?}", started.elapsed())
    })
}

/// A wrong broker address fails fast with a message that says what to check.
fn a_wrong_address_fails_fast(_: &Cluster) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_runnel"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--bootstrap-servers", "127.0.0.1:1", "-e", "SHOW TOPICS;"])
        .stdin(Stdio::null())
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    check(!out.status.success(), || "must fail".into())?;
    check(err.contains("cannot reach Kafka at 127.0.0.1:1"), || {
        format!("message: {err}")
    })?;
    check(started.elapsed() < Duration::from_secs(30), || {
        format!("took {:?}", started.elapsed())
    })
}

/// One test: it gets a view of the broker of its own.
type KafkaTest = fn(&Cluster) -> Result<(), Failed>;

fn main() {
    let args = Arguments::from_args();
    let kafka = std::env::var("RUNNEL_TEST_KAFKA").ok().filter(|s| !s.trim().is_empty());
    let tests: [(&str, KafkaTest); 10] = [
        ("sasl_credentials_pass_through", sasl_credentials_pass_through),
        ("statements_reach_every_process", statements_reach_every_process),
        ("repartition_topics_are_purged", repartition_topics_are_purged),
        (
            "a_broker_outage_pauses_queries_and_loses_nothing",
            a_broker_outage_pauses_queries_and_loses_nothing,
        ),
        (
            "processes_share_a_query_and_take_over",
            processes_share_a_query_and_take_over,
        ),
        (
            "processes_share_an_exactly_once_query_and_take_over",
            processes_share_an_exactly_once_query_and_take_over,
        ),
        (
            "state_comes_back_from_the_changelog_on_a_new_machine",
            state_comes_back_from_the_changelog_on_a_new_machine,
        ),
        ("headless_mode_serves_until_sigterm", headless_mode_serves_until_sigterm),
        ("topics_follow_the_statements", topics_follow_the_statements),
        ("a_wrong_address_fails_fast", a_wrong_address_fails_fast),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            let servers = kafka.clone().unwrap_or_default();
            let ignored = kafka.is_none()
                || (name == "sasl_credentials_pass_through" && std::env::var("RUNNEL_TEST_KAFKA_SASL").is_err());
            Trial::test(format!("kafka::{name}"), move || test(&Cluster::new(&servers))).with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
