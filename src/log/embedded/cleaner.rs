//! The background thread that compacts `cleanup.policy=compact` topics (see
//! [`super::compaction`]): every interval it gives each of their partitions a pass when enough
//! was appended since the last one. It holds the log only weakly, and the log stops and joins
//! it when dropped, so the data directory's lock is released with the log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::Shared;
use super::compaction::{CompactionPolicy, PassStats};
use crate::log::LogResult;

/// The running cleaner; dropping it stops the thread.
#[derive(Debug)]
pub struct Cleaner {
    stop: Arc<(Mutex<bool>, Condvar)>,
    stopped: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Cleaner {
    /// Starts the cleaner over `shared`, a pass every `interval`.
    pub fn start(shared: Weak<Shared>, interval: Duration) -> std::io::Result<Cleaner> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stopped = Arc::new(AtomicBool::new(false));
        let signal = Arc::clone(&stop);
        let flag = Arc::clone(&stopped);
        let thread = std::thread::Builder::new()
            .name("runnel-log-cleaner".into())
            .spawn(move || {
                loop {
                    {
                        let (lock, cv) = &*signal;
                        let mut stop = lock.lock();
                        if !*stop {
                            cv.wait_for(&mut stop, interval);
                        }
                        if *stop {
                            return;
                        }
                    }
                    let Some(shared) = shared.upgrade() else { return };
                    // A failed pass leaves the log as it was; the next interval tries again.
                    let _ = compact_all(&shared, false, &flag);
                }
            })?;
        Ok(Cleaner {
            stop,
            stopped,
            thread: Some(thread),
        })
    }
}

impl Drop for Cleaner {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Relaxed);
        let (lock, cv) = &*self.stop;
        *lock.lock() = true;
        cv.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Gives every partition of every compacted topic a pass (`force`: whenever anything was
/// appended since the last one, else only when enough was); stops early once `stop` is set.
pub fn compact_all(shared: &Shared, force: bool, stop: &AtomicBool) -> LogResult<PassStats> {
    let topics: Vec<_> = shared.topics.read().values().cloned().collect();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut total = PassStats::default();
    for topic in topics {
        let Some(policy) = CompactionPolicy::of(&topic.description().configs) else {
            continue;
        };
        for partition in topic.partitions() {
            if stop.load(Ordering::Relaxed) {
                return Ok(total);
            }
            if let Some(stats) = partition.compact(&policy, now_ms, force)? {
                total.read += stats.read;
                total.kept += stats.kept;
                total.bytes += stats.bytes;
            }
        }
    }
    Ok(total)
}
