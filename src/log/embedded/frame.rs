//! The on-disk record frame.
//!
//! Little-endian layout:
//!
//! ```text
//! u32 length     bytes after this field (crc + body)
//! u32 crc32      over the body
//! body:
//!   i64 offset
//!   i64 timestamp
//!   i32 key length (-1 = null)      key bytes
//!   i32 value length (-1 = null)    value bytes
//!   u32 header count
//!   per header: u32 key length, key (UTF-8), i32 value length (-1 = null), value bytes
//! ```
//!
//! The offset is inside the frame so a segment can be recovered and indexed without any other
//! file, and the CRC covers it so a frame copied to the wrong place is detected.

use bytes::Bytes;

use crate::log::{Header, Record};

/// Length and CRC fields before the body.
pub const FRAME_PREFIX: usize = 8;
/// Offset, timestamp, key length, value length and header count.
pub const MIN_BODY: usize = 8 + 8 + 4 + 4 + 4;
/// The smallest complete frame.
pub const MIN_FRAME: usize = FRAME_PREFIX + MIN_BODY;
/// The largest frame accepted; anything bigger is treated as a damaged length field.
pub const MAX_FRAME: usize = 256 * 1024 * 1024;

/// Why bytes are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The buffer ends before the frame does; `needed` is the whole frame's size when known.
    #[error("frame is cut off ({needed:?} bytes needed)")]
    Incomplete {
        /// The full frame size, if the length field could be read.
        needed: Option<usize>,
    },
    /// The length field is impossible.
    #[error("impossible frame length {0}")]
    BadLength(u32),
    /// The checksum does not match the contents.
    #[error("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum {
        /// The CRC in the frame.
        stored: u32,
        /// The CRC of the bytes.
        computed: u32,
    },
    /// The body's fields do not add up to its length.
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
    /// A record cannot be framed (too large).
    #[error("{0}")]
    TooLarge(String),
}

/// A checked frame inside a buffer: where it is and which offset it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpan {
    /// Where the frame starts.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
    /// The record offset stored in it.
    pub offset: i64,
}

/// The size a record's frame will take.
pub fn frame_size(record: &Record) -> usize {
    let opt_len = |b: &Option<Bytes>| b.as_ref().map_or(0, |b| b.len());
    let headers: usize = record.headers.iter().map(|(k, v)| 4 + k.len() + 4 + opt_len(v)).sum();
    MIN_FRAME + opt_len(&record.key) + opt_len(&record.value) + headers
}

/// Appends the frame of `record` at `offset` to `buf` and returns its size.
pub fn encode(buf: &mut Vec<u8>, offset: i64, record: &Record) -> Result<usize, FrameError> {
    let size = frame_size(record);
    if size > MAX_FRAME {
        return Err(FrameError::TooLarge(format!(
            "record at offset {offset} needs {size} bytes, more than the {MAX_FRAME} byte limit"
        )));
    }
    let start = buf.len();
    buf.reserve(size);
    // Sizes are bounded by MAX_FRAME above, so every length below fits its field.
    buf.extend_from_slice(&((size - 4) as u32).to_le_bytes());
    buf.extend_from_slice(&0u32.to_le_bytes());
    buf.extend_from_slice(&offset.to_le_bytes());
    buf.extend_from_slice(&record.timestamp.to_le_bytes());
    put_nullable(buf, record.key.as_deref());
    put_nullable(buf, record.value.as_deref());
    buf.extend_from_slice(&(record.headers.len() as u32).to_le_bytes());
    for (key, value) in &record.headers {
        buf.extend_from_slice(&(key.len() as u32).to_le_bytes());
        buf.extend_from_slice(key.as_bytes());
        put_nullable(buf, value.as_deref());
    }
    let crc = crc32fast::hash(&buf[start + FRAME_PREFIX..]);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(size)
}

fn put_nullable(buf: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(b) => {
            buf.extend_from_slice(&(b.len() as i32).to_le_bytes());
            buf.extend_from_slice(b);
        }
        None => buf.extend_from_slice(&(-1i32).to_le_bytes()),
    }
}

/// The whole frame size announced by the length field at `pos`, if it is readable and sane.
pub fn announced_size(buf: &[u8], pos: usize) -> Result<usize, FrameError> {
    let Some(len_bytes) = buf.get(pos..pos + 4) else {
        return Err(FrameError::Incomplete { needed: None });
    };
    let len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
    let size = len as usize + 4;
    if !(MIN_FRAME..=MAX_FRAME).contains(&size) {
        return Err(FrameError::BadLength(len));
    }
    Ok(size)
}

/// Checks the frame starting at `pos` (length and CRC) without decoding its fields.
pub fn check(buf: &[u8], pos: usize) -> Result<FrameSpan, FrameError> {
    let size = announced_size(buf, pos)?;
    let end = pos + size;
    let Some(frame) = buf.get(pos..end) else {
        return Err(FrameError::Incomplete { needed: Some(size) });
    };
    let stored = read_u32(frame, 4);
    let computed = crc32fast::hash(&frame[FRAME_PREFIX..]);
    if stored != computed {
        return Err(FrameError::Checksum { stored, computed });
    }
    Ok(FrameSpan {
        start: pos,
        end,
        offset: read_i64(frame, FRAME_PREFIX),
    })
}

/// Decodes a checked frame; keys, values and header values are slices of `buf`.
pub fn decode(buf: &Bytes, span: FrameSpan) -> Result<Record, FrameError> {
    let mut cursor = Cursor {
        buf,
        pos: span.start + FRAME_PREFIX + 8,
        end: span.end,
    };
    let timestamp = cursor.i64()?;
    let key = cursor.nullable()?;
    let value = cursor.nullable()?;
    let header_count = cursor.u32()? as usize;
    // Each header takes at least 8 bytes, which bounds the allocation by the frame size.
    if header_count > (cursor.end - cursor.pos) / 8 {
        return Err(FrameError::Malformed("header count exceeds the frame"));
    }
    let mut headers: Vec<Header> = Vec::with_capacity(header_count);
    for _ in 0..header_count {
        let key_len = cursor.u32()? as usize;
        let key_bytes = cursor.take(key_len)?;
        let key = std::str::from_utf8(&key_bytes)
            .map_err(|_| FrameError::Malformed("header key is not UTF-8"))?
            .to_owned();
        headers.push((key, cursor.nullable()?));
    }
    if cursor.pos != cursor.end {
        return Err(FrameError::Malformed("trailing bytes after the headers"));
    }
    Ok(Record {
        key,
        value,
        timestamp,
        headers,
    })
}

/// The key of a checked frame and whether its value is null, without decoding the rest
/// (compaction reads only these).
pub fn key_and_tombstone(buf: &[u8], span: FrameSpan) -> Result<(Option<&[u8]>, bool), FrameError> {
    let frame = &buf[span.start..span.end];
    let nullable_len = |at: usize| -> Result<Option<usize>, FrameError> {
        if at + 4 > frame.len() {
            return Err(FrameError::Malformed("field runs past the frame"));
        }
        let len = read_u32(frame, at) as i32;
        match len {
            -1 => Ok(None),
            n if n >= 0 && at + 4 + n as usize <= frame.len() => Ok(Some(n as usize)),
            _ => Err(FrameError::Malformed("field length exceeds the frame")),
        }
    };
    let key_at = FRAME_PREFIX + 16;
    let (key, value_at) = match nullable_len(key_at)? {
        Some(n) => (Some(&frame[key_at + 4..key_at + 4 + n]), key_at + 4 + n),
        None => (None, key_at + 4),
    };
    Ok((key, nullable_len(value_at)?.is_none()))
}

fn read_u32(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

fn read_i64(buf: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    i64::from_le_bytes(b)
}

/// Reads fields of one frame, never past its end.
struct Cursor<'a> {
    buf: &'a Bytes,
    pos: usize,
    end: usize,
}

impl Cursor<'_> {
    fn need(&self, n: usize) -> Result<(), FrameError> {
        if self.end - self.pos < n {
            return Err(FrameError::Malformed("field runs past the end of the frame"));
        }
        Ok(())
    }

    fn i64(&mut self) -> Result<i64, FrameError> {
        self.need(8)?;
        let v = read_i64(self.buf, self.pos);
        self.pos += 8;
        Ok(v)
    }

    fn u32(&mut self) -> Result<u32, FrameError> {
        self.need(4)?;
        let v = read_u32(self.buf, self.pos);
        self.pos += 4;
        Ok(v)
    }

    fn take(&mut self, n: usize) -> Result<Bytes, FrameError> {
        self.need(n)?;
        let b = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(b)
    }

    fn nullable(&mut self) -> Result<Option<Bytes>, FrameError> {
        let len = self.u32()? as i32;
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(FrameError::Malformed("negative field length")),
            n => self.take(n as usize).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            key: Some(Bytes::from_static(b"k1")),
            value: None,
            timestamp: 1_700_000_000_123,
            headers: vec![
                ("trace".into(), Some(Bytes::from_static(b"abc"))),
                ("empty".into(), None),
            ],
        }
    }

    #[test]
    fn round_trips_nulls_and_headers() {
        let mut buf = Vec::new();
        let size = encode(&mut buf, 42, &sample()).unwrap();
        assert_eq!(size, buf.len());
        assert_eq!(size, frame_size(&sample()));
        let bytes = Bytes::from(buf);
        let span = check(&bytes, 0).unwrap();
        assert_eq!(span.offset, 42);
        assert_eq!(span.end, size);
        assert_eq!(decode(&bytes, span).unwrap(), sample());
    }

    #[test]
    fn empty_record_has_minimum_size() {
        let mut buf = Vec::new();
        let size = encode(&mut buf, 0, &Record::default()).unwrap();
        assert_eq!(size, MIN_FRAME);
        let bytes = Bytes::from(buf);
        let rec = decode(&bytes, check(&bytes, 0).unwrap()).unwrap();
        assert_eq!(rec, Record::default());
    }

    #[test]
    fn detects_flipped_bits_and_cut_frames() {
        let mut buf = Vec::new();
        encode(&mut buf, 7, &sample()).unwrap();
        let last = buf.len() - 1;
        assert_eq!(
            check(&buf[..last], 0),
            Err(FrameError::Incomplete {
                needed: Some(buf.len())
            })
        );
        assert_eq!(check(&buf[..2], 0), Err(FrameError::Incomplete { needed: None }));
        buf[20] ^= 0x01;
        assert!(matches!(check(&buf, 0), Err(FrameError::Checksum { .. })));
        let zeros = [0u8; 64];
        assert_eq!(check(&zeros, 0), Err(FrameError::BadLength(0)));
    }

    #[test]
    fn rejects_lengths_that_lie_inside_a_valid_crc() {
        // A frame whose CRC matches but whose key length points past the end must not panic.
        let mut body = Vec::new();
        body.extend_from_slice(&1i64.to_le_bytes());
        body.extend_from_slice(&0i64.to_le_bytes());
        body.extend_from_slice(&1000i32.to_le_bytes());
        body.extend_from_slice(&(-1i32).to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        let mut buf = Vec::new();
        buf.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
        buf.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        buf.extend_from_slice(&body);
        let bytes = Bytes::from(buf);
        let span = check(&bytes, 0).unwrap();
        assert!(matches!(decode(&bytes, span), Err(FrameError::Malformed(_))));
    }
}
