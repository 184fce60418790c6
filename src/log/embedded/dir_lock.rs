//! The exclusive lock on a data directory, so two Runnel processes never write the same log.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::log::{LogError, LogResult};

/// Holds `LOCK` in the data directory locked for as long as it lives.
///
/// `flock` locks belong to the open file description, so the lock also refuses a second open
/// of the same directory within this process, and the kernel drops it when the process dies.
#[derive(Debug)]
pub struct DirLock {
    // Never read: it exists to keep the descriptor, and with it the lock, open.
    _file: File,
}

impl DirLock {
    /// Locks `dir`, or fails with [`LogError::Locked`] naming the holder's pid.
    pub fn acquire(dir: &Path) -> LogResult<DirLock> {
        let path = dir.join("LOCK");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| LogError::io(format!("cannot open lock file {}", path.display()), e))?;
        // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut holder = String::new();
                // The pid is only for the message; an unreadable one is reported as unknown.
                let _ = file.read_to_string(&mut holder);
                let pid = match holder.trim() {
                    "" => "unknown".to_string(),
                    pid => pid.to_string(),
                };
                return Err(LogError::Locked {
                    dir: dir.display().to_string(),
                    pid,
                });
            }
            return Err(LogError::io(format!("cannot lock {}", path.display()), err));
        }
        let pid = std::process::id().to_string();
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(pid.as_bytes()))
            .map_err(|e| LogError::io(format!("cannot write lock file {}", path.display()), e))?;
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_with_holder_pid_and_release_allows_relock() {
        let dir = tempfile::TempDir::new().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        match DirLock::acquire(dir.path()) {
            Err(LogError::Locked { dir: d, pid }) => {
                assert_eq!(pid, std::process::id().to_string());
                assert_eq!(d, dir.path().display().to_string());
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        assert!(DirLock::acquire(dir.path()).is_ok());
    }
}
