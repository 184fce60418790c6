//! Composite keys for window and session stores, laid out so that byte order is
//! (key, window start[, window end]) order: a range scan over one key's windows, or over a
//! time range of them, is a contiguous key range.

/// `key` followed by the window start, big-endian with the sign bit flipped so negative
/// starts sort before positive ones.
pub fn window_key(key: &[u8], start: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + key.len() + 8);
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&order_preserving(start));
    out
}

/// `key`, window end, window start: sessions of one key sort by end time, which is how
/// Kafka Streams finds the sessions a new record may merge with.
pub fn session_key(key: &[u8], start: i64, end: i64) -> Vec<u8> {
    let mut out = window_key(key, end);
    out.extend_from_slice(&order_preserving(start));
    out
}

/// The prefix shared by every window or session of `key`.
pub fn key_prefix(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + key.len());
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
    out
}

/// Splits a window key into the key and the window start.
pub fn split_window_key(composite: &[u8]) -> Option<(&[u8], i64)> {
    let len = u32::from_be_bytes(composite.get(..4)?.try_into().ok()?) as usize;
    let key = composite.get(4..4 + len)?;
    let ts = composite.get(4 + len..4 + len + 8)?;
    Some((key, restore_order(ts.try_into().ok()?)))
}

/// Splits a session key into the key, start and end.
pub fn split_session_key(composite: &[u8]) -> Option<(&[u8], i64, i64)> {
    let (key, end) = split_window_key(composite)?;
    let start_bytes = composite.get(4 + key.len() + 8..4 + key.len() + 16)?;
    Some((key, restore_order(start_bytes.try_into().ok()?), end))
}

fn order_preserving(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

fn restore_order(b: [u8; 8]) -> i64 {
    (u64::from_be_bytes(b) ^ (1 << 63)) as i64
}

/// The smallest byte string greater than every string starting with `prefix`, or `None`
/// when there is none (the prefix is all 0xFF).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keys_sort_by_key_then_time() {
        let a = window_key(b"k", -5);
        let b = window_key(b"k", 0);
        let c = window_key(b"k", 10);
        let d = window_key(b"l", -100);
        assert!(a < b && b < c && c < d);
        assert_eq!(split_window_key(&a), Some((&b"k"[..], -5)));
    }

    #[test]
    fn session_keys_round_trip() {
        let s = session_key(b"user", 100, 250);
        assert_eq!(split_session_key(&s), Some((&b"user"[..], 100, 250)));
        assert!(session_key(b"user", 0, 100) < session_key(b"user", 0, 200));
    }

    #[test]
    fn prefix_end_bounds_a_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xFF]), None);
    }
}
