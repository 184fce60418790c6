//! The sparse offset index of a segment: every few KiB of log, the offset of a frame and its
//! byte position, so a read seeks close to its offset instead of scanning the segment.
//!
//! The file is a flat array of 8-byte little-endian entries: the offset relative to the
//! segment's base (u32) and the frame's byte position (u32). It is only a hint: it can be
//! rebuilt from the segment, so it is written without fsync and checked when loaded.

/// One index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Record offset minus the segment's base offset.
    pub relative_offset: u32,
    /// Byte position of that record's frame in the segment file.
    pub position: u32,
}

/// Size of one entry in the index file.
pub const ENTRY_BYTES: usize = 8;

impl IndexEntry {
    /// The entry's file representation.
    pub fn to_bytes(self) -> [u8; ENTRY_BYTES] {
        let mut out = [0u8; ENTRY_BYTES];
        out[..4].copy_from_slice(&self.relative_offset.to_le_bytes());
        out[4..].copy_from_slice(&self.position.to_le_bytes());
        out
    }
}

/// Parses an index file; `None` when it is not a valid index for a segment of `segment_len`
/// bytes (torn size, entries out of order or pointing past the end), so the caller rebuilds.
pub fn parse(bytes: &[u8], segment_len: u64) -> Option<Vec<IndexEntry>> {
    if !bytes.len().is_multiple_of(ENTRY_BYTES) {
        return None;
    }
    let mut entries: Vec<IndexEntry> = Vec::with_capacity(bytes.len() / ENTRY_BYTES);
    for chunk in bytes.chunks_exact(ENTRY_BYTES) {
        let entry = IndexEntry {
            relative_offset: u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
            position: u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]),
        };
        if u64::from(entry.position) >= segment_len {
            return None;
        }
        if let Some(prev) = entries.last()
            && (entry.relative_offset <= prev.relative_offset || entry.position <= prev.position)
        {
            return None;
        }
        entries.push(entry);
    }
    Some(entries)
}

/// Decides whether the frame about to be written at `position` gets an index entry: one is
/// due once `interval` bytes were written since the previous one. Appends and recovery both
/// call this, so a rebuilt index equals the one written.
pub fn entry_for_frame(
    bytes_since_entry: &mut u64,
    interval: u64,
    relative_offset: u32,
    position: u32,
    frame_size: u64,
) -> Option<IndexEntry> {
    let entry = (*bytes_since_entry >= interval).then(|| {
        *bytes_since_entry = 0;
        IndexEntry {
            relative_offset,
            position,
        }
    });
    *bytes_since_entry += frame_size;
    entry
}

/// Serializes entries for the index file.
pub fn encode(entries: &[IndexEntry]) -> Vec<u8> {
    entries.iter().flat_map(|e| e.to_bytes()).collect()
}

/// The byte position to start reading from to find `relative_offset`: the last entry at or
/// before it, or the start of the segment.
pub fn lookup(entries: &[IndexEntry], relative_offset: u32) -> u32 {
    let after = entries.partition_point(|e| e.relative_offset <= relative_offset);
    if after == 0 { 0 } else { entries[after - 1].position }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(relative_offset: u32, position: u32) -> IndexEntry {
        IndexEntry {
            relative_offset,
            position,
        }
    }

    #[test]
    fn lookup_finds_floor_entry() {
        let entries = vec![entry(10, 400), entry(20, 800), entry(30, 1200)];
        assert_eq!(lookup(&entries, 0), 0);
        assert_eq!(lookup(&entries, 9), 0);
        assert_eq!(lookup(&entries, 10), 400);
        assert_eq!(lookup(&entries, 25), 800);
        assert_eq!(lookup(&entries, 1000), 1200);
        assert_eq!(lookup(&[], 5), 0);
    }

    #[test]
    fn parse_round_trips_and_rejects_damage() {
        let entries = vec![entry(10, 400), entry(20, 800)];
        let bytes = encode(&entries);
        assert_eq!(parse(&bytes, 1000), Some(entries.clone()));
        assert_eq!(parse(&bytes[..7], 1000), None, "torn entry");
        assert_eq!(parse(&bytes, 800), None, "points past the segment");
        let backwards = encode(&[entry(20, 800), entry(10, 400)]);
        assert_eq!(parse(&backwards, 1000), None);
    }
}
