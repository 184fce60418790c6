//! Tests of the whole embedded log through the `Log` and `LogConsumer` traits.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tempfile::TempDir;

use super::{EmbeddedLog, EmbeddedLogOptions};
use crate::log::{Log, LogError, Record, TopicConfig, TopicPartition};

fn record(i: usize) -> Record {
    Record {
        key: Some(Bytes::from(format!("k{i}"))),
        value: Some(Bytes::from(format!("value number {i}"))),
        timestamp: 1000 + i as i64,
        headers: vec![("h".into(), Some(Bytes::from_static(b"v")))],
    }
}

fn records(range: std::ops::Range<usize>) -> Vec<Record> {
    range.map(record).collect()
}

fn small_segments() -> EmbeddedLogOptions {
    EmbeddedLogOptions {
        segment_bytes: 1024,
        index_interval_bytes: 128,
        ..Default::default()
    }
}

fn open(dir: &Path) -> Arc<EmbeddedLog> {
    EmbeddedLog::open(dir).unwrap()
}

/// Everything in a partition from `from`, read through a consumer.
fn read_all(log: &EmbeddedLog, topic: &str, partition: i32, from: i64) -> Vec<(i64, Record)> {
    let mut consumer = log.consumer().unwrap();
    consumer
        .assign(&[(TopicPartition::new(topic, partition), from)])
        .unwrap();
    let mut out = Vec::new();
    loop {
        let batch = consumer.poll(100, Duration::ZERO).unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch.into_iter().map(|r| (r.offset, r.record)));
    }
}

fn segment_files(dir: &Path, topic: &str, partition: i32) -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = fs::read_dir(dir.join("topics").join(topic).join(partition.to_string()))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs
}

#[test]
fn append_and_read_back_with_nulls_and_headers() {
    let dir = TempDir::new().unwrap();
    let log = open(dir.path());
    log.create_topic("t", &TopicConfig::new(2)).unwrap();
    let odd = vec![
        Record::default(),
        Record {
            key: None,
            value: Some(Bytes::from_static(b"v")),
            timestamp: -5,
            headers: vec![("a".into(), None), ("b".into(), Some(Bytes::new()))],
        },
        Record {
            key: Some(Bytes::new()),
            value: None,
            timestamp: i64::MAX,
            headers: vec![],
        },
    ];
    assert_eq!(log.append("t", 1, &odd).unwrap(), 0);
    assert_eq!(log.append("t", 1, &records(0..2)).unwrap(), 3);
    assert_eq!(log.end_offset("t", 1).unwrap(), 5);
    assert_eq!(log.end_offset("t", 0).unwrap(), 0);
    let read = read_all(&log, "t", 1, 0);
    let offsets: Vec<i64> = read.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, vec![0, 1, 2, 3, 4]);
    let got: Vec<Record> = read.into_iter().map(|(_, r)| r).collect();
    let mut want = odd;
    want.extend(records(0..2));
    assert_eq!(got, want);
    // Reading from the middle starts exactly there.
    assert_eq!(read_all(&log, "t", 1, 3)[0].0, 3);
}

#[test]
fn unknown_topic_and_partition_errors() {
    let dir = TempDir::new().unwrap();
    let log = open(dir.path());
    log.create_topic("t", &TopicConfig::new(2)).unwrap();
    assert!(matches!(
        log.append("nope", 0, &records(0..1)),
        Err(LogError::UnknownTopic(t)) if t == "nope"
    ));
    assert!(matches!(
        log.append("t", 2, &records(0..1)),
        Err(LogError::UnknownPartition {
            partition: 2,
            partitions: 2,
            ..
        })
    ));
    assert!(matches!(
        log.end_offset("t", -1),
        Err(LogError::UnknownPartition { .. })
    ));
    let mut consumer = log.consumer().unwrap();
    assert!(consumer.assign(&[(TopicPartition::new("nope", 0), 0)]).is_err());
}

#[test]
fn topics_create_list_describe_delete() {
    let dir = TempDir::new().unwrap();
    let log = open(dir.path());
    let mut config = TopicConfig::new(3);
    config.configs.insert("cleanup.policy".into(), "compact".into());
    log.create_topic("b", &config).unwrap();
    log.create_topic("a", &TopicConfig::new(1)).unwrap();
    assert!(matches!(
        log.create_topic("a", &TopicConfig::new(1)),
        Err(LogError::TopicExists(n)) if n == "a"
    ));
    assert!(matches!(
        log.create_topic("zero", &TopicConfig::new(0)),
        Err(LogError::Invalid(_))
    ));
    let names: Vec<String> = log.list_topics().unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, vec!["a", "b"]);
    let b = log.describe_topic("b").unwrap().unwrap();
    assert_eq!((b.partitions, b.replicas), (3, 1));
    assert_eq!(b.configs.get("cleanup.policy").map(String::as_str), Some("compact"));
    assert_eq!(log.describe_topic("c").unwrap(), None);

    log.append("b", 0, &records(0..3)).unwrap();
    log.delete_topic("b").unwrap();
    assert!(!dir.path().join("topics").join("b").exists());
    assert!(matches!(log.delete_topic("b"), Err(LogError::UnknownTopic(_))));
    // A new topic of the same name starts empty.
    log.create_topic("b", &TopicConfig::new(1)).unwrap();
    assert_eq!(log.end_offset("b", 0).unwrap(), 0);
}

#[test]
fn invalid_topic_names_are_rejected() {
    let dir = TempDir::new().unwrap();
    let log = open(dir.path());
    for bad in ["", ".", "..", "../escape", "a/b", "with space", &"x".repeat(250)] {
        assert!(
            matches!(log.create_topic(bad, &TopicConfig::new(1)), Err(LogError::Invalid(_))),
            "{bad:?} was accepted"
        );
    }
    assert!(log.list_topics().unwrap().is_empty());
}

#[test]
fn restart_keeps_data_topics_and_committed_offsets() {
    let dir = TempDir::new().unwrap();
    {
        let log = EmbeddedLog::open_with(dir.path(), small_segments()).unwrap();
        log.create_topic("t", &TopicConfig::new(2)).unwrap();
        log.append("t", 0, &records(0..50)).unwrap();
        log.append("t", 1, &records(0..3)).unwrap();
        log.commit("g", &[(TopicPartition::new("t", 0), 17)]).unwrap();
        log.commit("g", &[(TopicPartition::new("t", 1), 2)]).unwrap();
        log.flush().unwrap();
    }
    let log = EmbeddedLog::open_with(dir.path(), small_segments()).unwrap();
    assert_eq!(log.list_topics().unwrap().len(), 1);
    assert_eq!(log.end_offset("t", 0).unwrap(), 50);
    assert_eq!(log.end_offset("t", 1).unwrap(), 3);
    let committed = log.committed("g", "t").unwrap();
    assert_eq!(committed.into_iter().collect::<Vec<_>>(), vec![(0, 17), (1, 2)]);
    let read = read_all(&log, "t", 0, 0);
    assert_eq!(read.len(), 50);
    assert_eq!(read[49], (49, record(49)));
    assert_eq!(log.append("t", 0, &records(50..51)).unwrap(), 50);

    log.delete_group("g").unwrap();
    drop(log);
    let log = open(dir.path());
    assert!(log.committed("g", "t").unwrap().is_empty());
}

#[test]
fn segments_roll_and_reads_cross_them_using_the_index() {
    let dir = TempDir::new().unwrap();
    let log = EmbeddedLog::open_with(dir.path(), small_segments()).unwrap();
    log.create_topic("t", &TopicConfig::new(1)).unwrap();
    // One batch bigger than several segments, then single appends.
    log.append("t", 0, &records(0..100)).unwrap();
    for i in 100..120 {
        assert_eq!(log.append("t", 0, &[record(i)]).unwrap(), i as i64);
    }
    let segments = segment_files(dir.path(), "t", 0);
    assert!(segments.len() > 5, "{segments:?}");
    for segment in &segments {
        assert!(fs::metadata(segment).unwrap().len() <= 1024);
    }
    let read = read_all(&log, "t", 0, 0);
    assert_eq!(read.len(), 120);
    assert!(
        read.iter()
            .enumerate()
            .all(|(i, (o, r))| *o == i as i64 && *r == record(i))
    );
    // Starting in the middle of a later segment.
    let from_77 = read_all(&log, "t", 0, 77);
    assert_eq!(from_77.first().map(|(o, _)| *o), Some(77));
    assert_eq!(from_77.len(), 43);
    drop(log);
    // Reopening loads every segment and continues after the last.
    let log = EmbeddedLog::open_with(dir.path(), small_segments()).unwrap();
    assert_eq!(log.append("t", 0, &[record(120)]).unwrap(), 120);
    assert_eq!(read_all(&log, "t", 0, 95).len(), 26);
}

#[test]
fn torn_tail_is_truncated_and_appends_continue() {
    let dir = TempDir::new().unwrap();
    {
        let log = open(dir.path());
        log.create_topic("t", &TopicConfig::new(1)).unwrap();
        log.append("t", 0, &records(0..10)).unwrap();
    }
    let segment = segment_files(dir.path(), "t", 0).pop().unwrap();
    let good_len = fs::metadata(&segment).unwrap().len();
    // Half of a real frame, as if the process died mid-write, then some garbage.
    let mut frame = Vec::new();
    super::frame::encode(&mut frame, 10, &record(10)).unwrap();
    let mut bytes = fs::read(&segment).unwrap();
    bytes.extend_from_slice(&frame[..frame.len() / 2]);
    fs::write(&segment, &bytes).unwrap();

    let log = open(dir.path());
    assert_eq!(log.end_offset("t", 0).unwrap(), 10);
    assert_eq!(fs::metadata(&segment).unwrap().len(), good_len);
    assert_eq!(log.append("t", 0, &records(10..12)).unwrap(), 10);
    let read = read_all(&log, "t", 0, 0);
    assert_eq!(read.len(), 12);
    assert_eq!(read[11], (11, record(11)));
    drop(log);

    // A complete last frame with a bad checksum is a torn tail too.
    let mut bytes = fs::read(&segment).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0xff;
    fs::write(&segment, &bytes).unwrap();
    let log = open(dir.path());
    assert_eq!(log.end_offset("t", 0).unwrap(), 11);
    assert_eq!(read_all(&log, "t", 0, 0).len(), 11);
}

#[test]
fn corruption_in_the_middle_is_reported_not_truncated() {
    let dir = TempDir::new().unwrap();
    {
        let log = open(dir.path());
        log.create_topic("t", &TopicConfig::new(1)).unwrap();
        log.append("t", 0, &records(0..10)).unwrap();
    }
    let segment = segment_files(dir.path(), "t", 0).pop().unwrap();
    let mut bytes = fs::read(&segment).unwrap();
    let len_before = bytes.len();
    bytes[len_before / 2] ^= 0xff;
    fs::write(&segment, &bytes).unwrap();
    match EmbeddedLog::open(dir.path()) {
        Err(LogError::Corrupt { path, reason }) => {
            assert!(path.ends_with("00000000000000000000.log"), "{path}");
            assert!(reason.contains("valid records follow"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(fs::metadata(&segment).unwrap().len() as usize, len_before);
}

#[test]
fn corruption_before_the_last_index_entry_is_reported_on_read() {
    let dir = TempDir::new().unwrap();
    {
        let log = EmbeddedLog::open_with(dir.path(), small_segments()).unwrap();
        log.create_topic("t", &TopicConfig::new(1)).unwrap();
        log.append("t", 0, &records(0..10)).unwrap();
    }
    let segment = segment_files(dir.path(), "t", 0).remove(0);
    let mut bytes = fs::read(&segment).unwrap();
    bytes[20] ^= 0xff;
    fs::write(&segment, &bytes).unwrap();
    let log = EmbeddedLog::open_with(dir.path(), small_segments()).unwrap();
    let mut consumer = log.consumer().unwrap();
    consumer.assign(&[(TopicPartition::new("t", 0), 0)]).unwrap();
    match consumer.poll(100, Duration::ZERO) {
        Err(LogError::Corrupt { path, reason }) => {
            assert!(path.ends_with(".log"), "{path}");
            assert!(reason.contains("byte 0"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn poll_waits_and_is_woken_by_an_append() {
    let dir = TempDir::new().unwrap();
    let log = open(dir.path());
    log.create_topic("t", &TopicConfig::new(2)).unwrap();
    let mut consumer = log.consumer().unwrap();
    consumer
        .assign(&[(TopicPartition::new("t", 0), 0), (TopicPartition::new("t", 1), 0)])
        .unwrap();
    let start = Instant::now();
    assert!(consumer.poll(10, Duration::from_millis(50)).unwrap().is_empty());
    assert!(start.elapsed() >= Duration::from_millis(50));

    let writer = Arc::clone(&log);
    let handle = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        writer.append("t", 1, &records(0..1)).unwrap();
    });
    let start = Instant::now();
    let got = consumer.poll(10, Duration::from_secs(20)).unwrap();
    let waited = start.elapsed();
    handle.join().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((&*got[0].topic, got[0].partition, got[0].offset), ("t", 1, 0));
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    assert_eq!(
        consumer.positions(),
        vec![(TopicPartition::new("t", 0), 0), (TopicPartition::new("t", 1), 1)]
    );
}

#[test]
fn poll_is_fair_across_partitions_and_seek_moves_position() {
    let dir = TempDir::new().unwrap();
    let log = open(dir.path());
    log.create_topic("t", &TopicConfig::new(3)).unwrap();
    for p in 0..3 {
        log.append("t", p, &records(0..100)).unwrap();
    }
    let mut consumer = log.consumer().unwrap();
    let tps: Vec<_> = (0..3).map(|p| (TopicPartition::new("t", p), 0)).collect();
    consumer.assign(&tps).unwrap();
    let batch = consumer.poll(30, Duration::ZERO).unwrap();
    assert_eq!(batch.len(), 30);
    for p in 0..3 {
        let of_p: Vec<i64> = batch.iter().filter(|r| r.partition == p).map(|r| r.offset).collect();
        assert_eq!(of_p, (0..10).collect::<Vec<i64>>(), "partition {p}");
    }
    let tp = TopicPartition::new("t", 2);
    consumer.seek(&tp, 95).unwrap();
    let rest = consumer.poll(1000, Duration::ZERO).unwrap();
    let of_2: Vec<i64> = rest.iter().filter(|r| r.partition == 2).map(|r| r.offset).collect();
    assert_eq!(of_2, vec![95, 96, 97, 98, 99]);
    assert_eq!(rest.len(), 90 + 90 + 5);
    assert!(consumer.seek(&TopicPartition::new("t", 9), 0).is_err());
}

#[test]
fn second_open_of_a_locked_directory_fails() {
    let dir = TempDir::new().unwrap();
    let log = open(dir.path());
    match EmbeddedLog::open(dir.path()) {
        Err(LogError::Locked { dir: d, pid }) => {
            assert_eq!(pid, std::process::id().to_string());
            assert!(d.contains(&*dir.path().to_string_lossy()));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(log);
    assert!(EmbeddedLog::open(dir.path()).is_ok());
}

#[test]
fn unusable_directory_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, b"x").unwrap();
    let err = EmbeddedLog::open(&file.join("data")).unwrap_err();
    assert!(matches!(err, LogError::Io { .. }));
    assert!(err.to_string().contains("a-file/data"), "{err}");
}

#[test]
fn delete_records_before_moves_start_and_drops_segments() {
    let dir = TempDir::new().unwrap();
    {
        let log = EmbeddedLog::open_with(dir.path(), small_segments()).unwrap();
        log.create_topic("t", &TopicConfig::new(1)).unwrap();
        log.append("t", 0, &records(0..100)).unwrap();
        let before = segment_files(dir.path(), "t", 0).len();
        log.delete_records_before("t", 0, 60).unwrap();
        assert_eq!(log.start_offset("t", 0).unwrap(), 60);
        assert!(segment_files(dir.path(), "t", 0).len() < before);
        // Reading below the start continues from the start.
        let read = read_all(&log, "t", 0, 0);
        assert_eq!(read.first().map(|(o, _)| *o), Some(60));
        assert_eq!(read.len(), 40);
        // Moving backwards is a no-op; beyond the end is refused.
        log.delete_records_before("t", 0, 10).unwrap();
        assert_eq!(log.start_offset("t", 0).unwrap(), 60);
        assert!(matches!(
            log.delete_records_before("t", 0, 101),
            Err(LogError::Invalid(_))
        ));
    }
    let log = EmbeddedLog::open_with(dir.path(), small_segments()).unwrap();
    assert_eq!(log.start_offset("t", 0).unwrap(), 60);
    assert_eq!(log.end_offset("t", 0).unwrap(), 100);
    // Deleting everything leaves one empty segment and appends continue.
    log.delete_records_before("t", 0, 100).unwrap();
    assert_eq!(segment_files(dir.path(), "t", 0).len(), 1);
    assert_eq!(log.append("t", 0, &records(100..101)).unwrap(), 100);
    assert_eq!(read_all(&log, "t", 0, 0), vec![(100, record(100))]);
}

#[test]
fn concurrent_appenders_to_different_partitions() {
    let dir = TempDir::new().unwrap();
    let log = open(dir.path());
    log.create_topic("t", &TopicConfig::new(4)).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|p| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for chunk in 0..50 {
                    log.append("t", p, &records(chunk * 20..chunk * 20 + 20)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    for p in 0..4 {
        let read = read_all(&log, "t", p, 0);
        assert_eq!(read.len(), 1000);
        assert!(
            read.iter()
                .enumerate()
                .all(|(i, (o, r))| *o == i as i64 && *r == record(i))
        );
    }
}

#[test]
fn oversized_record_is_rejected_without_writing() {
    let dir = TempDir::new().unwrap();
    let log = open(dir.path());
    log.create_topic("t", &TopicConfig::new(1)).unwrap();
    let huge = Record {
        value: Some(Bytes::from(vec![0u8; super::frame::MAX_FRAME])),
        ..Default::default()
    };
    let err = log.append("t", 0, &[record(0), huge]).unwrap_err();
    assert!(matches!(err, LogError::Invalid(_)), "{err:?}");
    assert_eq!(log.end_offset("t", 0).unwrap(), 0);
}

#[test]
fn fsync_policies_append_and_flush() {
    use super::FsyncPolicy;
    for fsync in [
        FsyncPolicy::EveryAppend,
        FsyncPolicy::Interval(Duration::ZERO),
        FsyncPolicy::OnFlush,
    ] {
        let dir = TempDir::new().unwrap();
        let options = EmbeddedLogOptions {
            fsync,
            ..small_segments()
        };
        let log = EmbeddedLog::open_with(dir.path(), options).unwrap();
        log.create_topic("t", &TopicConfig::new(1)).unwrap();
        log.append("t", 0, &records(0..30)).unwrap();
        log.delete_records_before("t", 0, 5).unwrap();
        log.commit("g", &[(TopicPartition::new("t", 0), 3)]).unwrap();
        log.flush().unwrap();
        assert_eq!(read_all(&log, "t", 0, 0).len(), 25, "{fsync:?}");
    }
}

#[test]
fn log_and_consumer_are_thread_safe_types() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<EmbeddedLog>();
    send::<super::EmbeddedConsumer>();
}

#[test]
fn an_error_after_some_records_is_reported_on_the_next_poll() {
    let dir = TempDir::new().unwrap();
    let log = open(dir.path());
    log.create_topic("a", &TopicConfig::new(1)).unwrap();
    log.create_topic("b", &TopicConfig::new(1)).unwrap();
    log.append("a", 0, &records(0..3)).unwrap();
    log.append("b", 0, &records(0..3)).unwrap();
    let mut consumer = log.consumer().unwrap();
    consumer
        .assign(&[(TopicPartition::new("a", 0), 0), (TopicPartition::new("b", 0), 0)])
        .unwrap();
    log.delete_topic("b").unwrap();
    // The records of "a" are not lost to the error of "b".
    let first = consumer.poll(10, Duration::ZERO).unwrap();
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|r| &*r.topic == "a"));
    assert!(matches!(
        consumer.poll(10, Duration::ZERO),
        Err(LogError::UnknownTopic(t)) if t == "b"
    ));
}

/// The writer half of `kill_9_loses_no_acknowledged_record`: appends until killed, printing
/// each acknowledged end offset. Does nothing unless started by that test.
#[test]
#[ignore]
fn crash_child_appender() {
    let Some(dir) = std::env::var_os("RUNNEL_CRASH_TEST_DIR") else {
        return;
    };
    let log = open(Path::new(&dir));
    log.create_topic("t", &TopicConfig::new(1)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut next = 0;
    while Instant::now() < deadline {
        log.append("t", 0, &records(next..next + 100)).unwrap();
        next += 100;
        println!("acked {next}");
    }
}

#[test]
fn kill_9_loses_no_acknowledged_record() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = TempDir::new().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "log::embedded::tests::crash_child_appender",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RUNNEL_CRASH_TEST_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = 0;
    while acked < 5_000 {
        let Some(line) = lines.next() else { break };
        if let Some(n) = line.unwrap().strip_prefix("acked ") {
            acked = n.parse().unwrap();
        }
    }
    // While the child runs, the directory is locked and names the child.
    match EmbeddedLog::open(dir.path()) {
        Err(LogError::Locked { pid, .. }) => assert_eq!(pid, child.id().to_string()),
        other => panic!("expected Locked, got {other:?}"),
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(acked >= 5_000, "child stopped early at {acked}");

    let log = open(dir.path());
    let end = log.end_offset("t", 0).unwrap();
    assert!(end >= acked as i64, "acknowledged {acked}, recovered {end}");
    let read = read_all(&log, "t", 0, 0);
    assert_eq!(read.len() as i64, end);
    assert!(
        read.iter()
            .enumerate()
            .all(|(i, (o, r))| *o == i as i64 && *r == record(i))
    );
}

/// Throughput check: `cargo test --lib log::embedded::tests::throughput -- --ignored --nocapture`.
/// Unoptimized builds are several times slower than release.
#[test]
#[ignore]
fn throughput() {
    let dir = TempDir::new().unwrap();
    let log = open(dir.path());
    log.create_topic("t", &TopicConfig::new(1)).unwrap();
    let batch: Vec<Record> = (0..1000)
        .map(|i| Record {
            key: Some(Bytes::from(format!("key-{i:08}"))),
            value: Some(Bytes::from(vec![b'v'; 80])),
            timestamp: i,
            headers: vec![],
        })
        .collect();
    let total = 1_000_000;
    let start = Instant::now();
    for _ in 0..total / batch.len() {
        log.append("t", 0, &batch).unwrap();
    }
    let append = start.elapsed();
    let mut consumer = log.consumer().unwrap();
    consumer.assign(&[(TopicPartition::new("t", 0), 0)]).unwrap();
    let start = Instant::now();
    let mut read = 0;
    while read < total {
        read += consumer.poll(1000, Duration::ZERO).unwrap().len();
    }
    let poll = start.elapsed();
    println!(
        "append {:.0} rec/s, poll {:.0} rec/s",
        total as f64 / append.as_secs_f64(),
        total as f64 / poll.as_secs_f64()
    );
}

fn compacted_topic(log: &EmbeddedLog, name: &str, extra: &[(&str, &str)]) {
    let mut config = TopicConfig::new(1);
    config.configs.insert("cleanup.policy".into(), "compact".into());
    for (k, v) in extra {
        config.configs.insert((*k).into(), (*v).into());
    }
    log.create_topic(name, &config).unwrap();
}

fn keyed(key: Option<&str>, value: Option<&str>, ts: i64) -> Record {
    Record {
        key: key.map(|k| Bytes::from(k.to_string())),
        value: value.map(|v| Bytes::from(v.to_string())),
        timestamp: ts,
        headers: Vec::new(),
    }
}

fn no_cleaner() -> EmbeddedLogOptions {
    EmbeddedLogOptions {
        compaction_interval: None,
        ..small_segments()
    }
}

/// (offset, key, value) of everything readable from `from`.
fn contents(log: &EmbeddedLog, topic: &str, from: i64) -> Vec<(i64, Option<String>, Option<String>)> {
    let text = |b: Option<Bytes>| b.map(|b| String::from_utf8_lossy(&b).into_owned());
    read_all(log, topic, 0, from)
        .into_iter()
        .map(|(o, r)| (o, text(r.key), text(r.value)))
        .collect()
}

#[test]
fn compaction_keeps_the_latest_record_of_each_key() {
    let dir = TempDir::new().unwrap();
    let log = EmbeddedLog::open_with(dir.path(), no_cleaner()).unwrap();
    compacted_topic(&log, "c", &[]);
    let mut batch = Vec::new();
    for round in 0..20 {
        for k in 0..5 {
            batch.push(keyed(Some(&format!("k{k}")), Some(&format!("v{round}")), round));
        }
    }
    batch.push(keyed(None, Some("no key"), 99));
    // The last record of the log repeats a key: it replaces k0's earlier latest.
    batch.push(keyed(Some("k0"), Some("final"), 100));
    log.append("c", 0, &batch).unwrap();
    assert!(
        segment_files(dir.path(), "c", 0).len() > 2,
        "the test needs several segments"
    );

    let stats = log.compact_now().unwrap();
    assert_eq!((stats.read, stats.kept), (102, 6));
    let expected = vec![
        (96, Some("k1".to_string()), Some("v19".to_string())),
        (97, Some("k2".to_string()), Some("v19".to_string())),
        (98, Some("k3".to_string()), Some("v19".to_string())),
        (99, Some("k4".to_string()), Some("v19".to_string())),
        (100, None, Some("no key".to_string())),
        (101, Some("k0".to_string()), Some("final".to_string())),
    ];
    assert_eq!(contents(&log, "c", 0), expected);
    // Offsets and the end are unchanged; reading from inside a gap starts at the next record.
    assert_eq!(log.end_offset("c", 0).unwrap(), 102);
    assert_eq!(log.start_offset("c", 0).unwrap(), 0);
    assert_eq!(contents(&log, "c", 50), expected);
    assert_eq!(contents(&log, "c", 100), expected[4..].to_vec());
    // Appends continue at the old end, and survive a reopen with the compacted segments.
    log.append("c", 0, &[keyed(Some("k1"), Some("after"), 101)]).unwrap();
    drop(log);
    let log = EmbeddedLog::open_with(dir.path(), no_cleaner()).unwrap();
    let mut after = expected.clone();
    after.push((102, Some("k1".to_string()), Some("after".to_string())));
    assert_eq!(contents(&log, "c", 0), after);
    // A second pass drops k1's older record.
    log.compact_now().unwrap();
    assert_eq!(contents(&log, "c", 0), after[1..].to_vec());
}

#[test]
fn compaction_keeps_tombstones_for_the_delete_retention() {
    let dir = TempDir::new().unwrap();
    let log = EmbeddedLog::open_with(dir.path(), no_cleaner()).unwrap();
    compacted_topic(&log, "keep", &[]);
    compacted_topic(&log, "drop", &[("delete.retention.ms", "0")]);
    for topic in ["keep", "drop"] {
        let batch = vec![
            keyed(Some("a"), Some("1"), 1),
            keyed(Some("b"), Some("1"), 2),
            keyed(Some("a"), None, 3),
            keyed(Some("c"), Some("1"), 4),
        ];
        log.append(topic, 0, &batch).unwrap();
    }
    // The first pass that sees a tombstone keeps it, whatever the retention.
    log.compact_now().unwrap();
    for topic in ["keep", "drop"] {
        assert_eq!(
            contents(&log, topic, 0),
            vec![
                (1, Some("b".to_string()), Some("1".to_string())),
                (2, Some("a".to_string()), None),
                (3, Some("c".to_string()), Some("1".to_string())),
            ],
            "{topic}"
        );
        log.append(topic, 0, &[keyed(Some("d"), Some("1"), 5)]).unwrap();
    }
    // Later passes drop it once delete.retention.ms has passed since (0 ms here; a day by
    // default).
    log.compact_now().unwrap();
    assert_eq!(contents(&log, "keep", 0).len(), 4);
    assert_eq!(
        contents(&log, "drop", 0),
        vec![
            (1, Some("b".to_string()), Some("1".to_string())),
            (3, Some("c".to_string()), Some("1".to_string())),
            (4, Some("d".to_string()), Some("1".to_string())),
        ]
    );
}

#[test]
fn only_compacted_topics_are_compacted_and_the_cleaner_runs_by_itself() {
    let dir = TempDir::new().unwrap();
    let options = EmbeddedLogOptions {
        compaction_interval: Some(Duration::from_millis(20)),
        ..small_segments()
    };
    let log = EmbeddedLog::open_with(dir.path(), options).unwrap();
    compacted_topic(&log, "c", &[]);
    log.create_topic("d", &TopicConfig::new(1)).unwrap();
    // Over a mebibyte of updates to ten keys: enough for the cleaner to act on its own.
    let value = "x".repeat(1000);
    let batch: Vec<Record> = (0..1200)
        .map(|i| keyed(Some(&format!("k{}", i % 10)), Some(&value), i))
        .collect();
    log.append("c", 0, &batch).unwrap();
    log.append("d", 0, &batch).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while contents(&log, "c", 0).len() > 10 {
        assert!(Instant::now() < deadline, "the cleaner did not compact the topic");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(contents(&log, "c", 0).len(), 10);
    assert_eq!(contents(&log, "d", 0).len(), 1200);
    // Dropping the log stops the cleaner and frees the directory.
    drop(log);
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert_eq!(contents(&log, "c", 0).len(), 10);
}
