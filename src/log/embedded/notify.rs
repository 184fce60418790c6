//! Wakes waiting consumers when records are appended.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

/// A generation counter bumped by every append, with a condvar consumers sleep on.
///
/// Appenders only touch the mutex when someone is waiting, so appends to different partitions
/// do not contend here in the common case.
#[derive(Debug, Default)]
pub struct AppendNotifier {
    generation: AtomicU64,
    waiters: AtomicUsize,
    lock: Mutex<()>,
    condvar: Condvar,
}

impl AppendNotifier {
    /// The current generation; read it before checking for data, then wait on it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Signals that records were appended.
    pub fn notify(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            // Taking the lock orders this notify after a waiter's re-check of the generation,
            // so the wake-up cannot fall between its check and its sleep.
            let _guard = self.lock.lock();
            self.condvar.notify_all();
        }
    }

    /// Sleeps until the generation moves past `seen` or `deadline` passes. Returns whether
    /// it moved.
    pub fn wait(&self, seen: u64, deadline: Instant) -> bool {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock.lock();
        let moved = loop {
            if self.generation.load(Ordering::SeqCst) != seen {
                break true;
            }
            if self.condvar.wait_until(&mut guard, deadline).timed_out() {
                break self.generation.load(Ordering::SeqCst) != seen;
            }
        };
        drop(guard);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn wait_times_out_without_notify_and_wakes_on_notify() {
        let notifier = Arc::new(AppendNotifier::default());
        let seen = notifier.generation();
        let start = Instant::now();
        assert!(!notifier.wait(seen, start + Duration::from_millis(30)));
        assert!(start.elapsed() >= Duration::from_millis(30));

        let other = Arc::clone(&notifier);
        let handle = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            other.notify();
        });
        let start = Instant::now();
        assert!(notifier.wait(seen, start + Duration::from_secs(10)));
        assert!(start.elapsed() < Duration::from_secs(5));
        handle.join().unwrap();
        // An already-moved generation returns at once.
        assert!(notifier.wait(seen, Instant::now() + Duration::from_secs(10)));
    }
}
