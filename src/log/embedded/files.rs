//! File-system helpers: atomic replacement of small files and directory fsync.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::log::{LogError, LogResult};

/// Replaces `path` with `bytes` so a reader (or a restart after a crash) sees either the old
/// or the new contents, never a mix: write a sibling temp file, then rename over.
///
/// With `durable`, the temp file and the directory are fsynced so the new contents also
/// survive power loss.
pub fn write_atomically(path: &Path, bytes: &[u8], durable: bool) -> LogResult<()> {
    let tmp = temp_sibling(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| LogError::io(format!("cannot create {}", tmp.display()), e))?;
    file.write_all(bytes)
        .map_err(|e| LogError::io(format!("cannot write {}", tmp.display()), e))?;
    if durable {
        file.sync_all()
            .map_err(|e| LogError::io(format!("cannot fsync {}", tmp.display()), e))?;
    }
    drop(file);
    fs::rename(&tmp, path)
        .map_err(|e| LogError::io(format!("cannot rename {} to {}", tmp.display(), path.display()), e))?;
    if durable && let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// The temp file `write_atomically` uses for `path`.
pub fn temp_sibling(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Fsyncs a directory so entries created or renamed in it are durable.
pub fn sync_dir(dir: &Path) -> LogResult<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| LogError::io(format!("cannot fsync directory {}", dir.display()), e))
}

/// Creates a directory and its parents, naming it in the error.
pub fn create_dir(dir: &Path) -> LogResult<()> {
    fs::create_dir_all(dir).map_err(|e| LogError::io(format!("cannot create directory {}", dir.display()), e))
}

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> LogResult<Vec<u8>> {
    fs::read(path).map_err(|e| LogError::io(format!("cannot read {}", path.display()), e))
}

/// Entries of a directory as (file name, path) pairs; names that are not UTF-8 are skipped
/// because nothing the log writes has such names.
pub fn list_dir(dir: &Path) -> LogResult<Vec<(String, PathBuf)>> {
    let entries = fs::read_dir(dir).map_err(|e| LogError::io(format!("cannot list {}", dir.display()), e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LogError::io(format!("cannot list {}", dir.display()), e))?;
        if let Ok(name) = entry.file_name().into_string() {
            out.push((name, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("meta.json");
        write_atomically(&path, b"one", false).unwrap();
        write_atomically(&path, b"two", true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert!(!temp_sibling(&path).exists());
        let names: Vec<String> = list_dir(dir.path()).unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["meta.json".to_string()]);
    }

    #[test]
    fn errors_name_the_path() {
        let err = read(Path::new("/nonexistent/runnel/x")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/runnel/x"), "{err}");
    }
}
