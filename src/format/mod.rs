//! Record formats: JSON, DELIMITED, KAFKA and NONE, for keys and values, and the binary
//! format of Runnel's internal topics.
//!
//! A [`Format`] turns a batch of record keys or values (raw bytes) into one Arrow array per
//! column, and rows of Arrow columns back into bytes, the way ksqlDB's serdes do. Decoding
//! writes straight into column builders (no per-record value tree); a record that cannot be
//! read becomes a row of NULLs and is reported in [`DecodedColumns::errors`], so one bad
//! record never costs the rest of the batch.

mod binary;
mod builder;
mod delimited;
mod json_decode;
mod json_encode;
mod json_lex;
mod kafka;
mod number;
mod reader;
mod validate;

#[cfg(test)]
mod tests;

use arrow_array::{ArrayRef, new_null_array};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::error::{Error, ErrorKind};
use crate::types::arrow::{build_array, to_arrow, value_at};
use crate::types::{SqlType, Value};
use builder::ColumnBuilder;
use reader::Col;

/// Base64 as ksqlDB writes BYTES in text formats: standard alphabet, padded; reading also
/// accepts unpadded text.
pub(crate) static BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The serialization formats Runnel supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatKind {
    /// JSON objects (or bare values when unwrapped).
    Json,
    /// Delimiter-separated text, one field per column.
    Delimited,
    /// Kafka's primitive serializers: one INT, BIGINT, DOUBLE, STRING or BYTES column.
    Kafka,
    /// No data: the part of the record is not read and not written.
    None,
    /// Runnel's own binary rows, for the values of internal topics only (not nameable in
    /// SQL); reading it also accepts JSON, which those topics held before (see `binary`).
    Internal,
}

impl FormatKind {
    /// The name as written in a WITH clause (`JSON`, `DELIMITED`, `KAFKA`, `NONE`).
    pub fn name(self) -> &'static str {
        match self {
            FormatKind::Json => "JSON",
            FormatKind::Delimited => "DELIMITED",
            FormatKind::Kafka => "KAFKA",
            FormatKind::None => "NONE",
            FormatKind::Internal => "INTERNAL",
        }
    }
}

/// A key or value format with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// Which format.
    pub kind: FormatKind,
    /// DELIMITED's field separator (default `,`); only ASCII separators are supported.
    pub delimiter: u8,
    /// `WRAP_SINGLE_VALUE`: whether a single value column is written as a one-field JSON
    /// object (`Some(true)`, ksqlDB's default) or as the bare value (`Some(false)`).
    pub wrap_single_value: Option<bool>,
    /// Whether this formats record keys. Keys with one column are always unwrapped and a
    /// key whose columns are all NULL is written as no bytes (a null key).
    pub is_key: bool,
}

/// The result of decoding a batch.
#[derive(Debug)]
pub struct DecodedColumns {
    /// One array per column, of the column's Arrow type, one row per input.
    pub arrays: Vec<ArrayRef>,
    /// Rows that could not be decoded (their columns are NULL), with the reason.
    pub errors: Vec<(usize, String)>,
    /// Per row: whether the record itself was null (no bytes, or a JSON `null`), which
    /// ksqlDB treats as a tombstone rather than as a row of NULL columns.
    pub null_rows: Vec<bool>,
}

/// The result of encoding a batch: every row's bytes back to back in one buffer, so a batch
/// costs one allocation rather than one per row.
#[derive(Debug, Default)]
pub struct EncodedRows {
    /// The bytes of all written rows, in row order.
    pub data: Vec<u8>,
    /// One entry per row: where its bytes are in `data`, or `None` when nothing is written
    /// (NONE, a null KAFKA value, a null key, an unwrapped NULL).
    pub rows: Vec<Option<std::ops::Range<usize>>>,
    /// Rows that could not be encoded (their entry is `None`), with the reason.
    pub errors: Vec<(usize, String)>,
}

impl EncodedRows {
    /// The bytes of row `row`, if it writes any.
    pub fn row(&self, row: usize) -> Option<&[u8]> {
        let range = self.rows.get(row)?.clone()?;
        self.data.get(range)
    }
}

/// A format could not be chosen, configured, or used on some data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// An unknown or unavailable format name.
    #[error("{0}")]
    UnknownFormat(String),
    /// The columns or options cannot be carried by the format (a planning error).
    #[error("{0}")]
    Unsupported(String),
    /// A format option has a bad value.
    #[error("{0}")]
    InvalidConfig(String),
    /// Record bytes could not be read.
    #[error("{0}")]
    Deserialize(String),
    /// Values could not be written.
    #[error("{0}")]
    Serialize(String),
}

/// Choice and configuration errors are the statement's fault (planning errors); errors
/// reading or writing records are format errors.
impl From<FormatError> for Error {
    fn from(e: FormatError) -> Self {
        let kind = match e {
            FormatError::UnknownFormat(_) | FormatError::Unsupported(_) | FormatError::InvalidConfig(_) => {
                ErrorKind::Plan
            }
            FormatError::Deserialize(_) | FormatError::Serialize(_) => ErrorKind::Format,
        };
        Error::new(kind, e.to_string())
    }
}

/// What decoding one record produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowOutcome {
    /// Every column got a value (possibly NULL).
    Present,
    /// The record is null as a whole.
    Null,
}

impl Format {
    /// A value format of `kind` with default options.
    pub fn new(kind: FormatKind) -> Format {
        Format {
            kind,
            delimiter: b',',
            wrap_single_value: None,
            is_key: false,
        }
    }

    /// From a WITH-clause format name (`JSON`, `DELIMITED`, `KAFKA`, `NONE`, any case).
    pub fn from_name(name: &str) -> Result<Format, FormatError> {
        let kind = match name.trim().to_ascii_uppercase().as_str() {
            "JSON" => FormatKind::Json,
            "DELIMITED" => FormatKind::Delimited,
            "KAFKA" => FormatKind::Kafka,
            "NONE" => FormatKind::None,
            upper @ ("AVRO" | "PROTOBUF" | "PROTOBUF_NOSR" | "JSON_SR") => {
                return Err(FormatError::UnknownFormat(format!(
                    "The '{upper}' format needs a schema registry (or schema support) that \
                     Runnel does not have. Supported formats: JSON, DELIMITED, KAFKA, NONE"
                )));
            }
            _ => {
                return Err(FormatError::UnknownFormat(format!(
                    "Unknown format: {name}. Supported formats: JSON, DELIMITED, KAFKA, NONE"
                )));
            }
        };
        Ok(Format::new(kind))
    }

    /// This format, for record keys.
    pub fn for_key(mut self) -> Format {
        self.is_key = true;
        self
    }

    /// Sets the DELIMITED separator from a `KEY_DELIMITER`/`VALUE_DELIMITER` value: one
    /// character, or `TAB` or `SPACE`.
    pub fn with_delimiter(mut self, text: &str) -> Result<Format, FormatError> {
        if self.kind != FormatKind::Delimited {
            return Err(FormatError::Unsupported(format!(
                "{} does not support the following configs: [delimiter]",
                self.kind.name()
            )));
        }
        let option = if self.is_key {
            "KEY_DELIMITER"
        } else {
            "VALUE_DELIMITER"
        };
        // ksqlDB checks the delimiter while preparing the statement (reading its WITH
        // clause), so its message carries that stage's prefix; the JSON-with-delimiter
        // check above happens later and has none.
        let invalid = |why: String| {
            FormatError::InvalidConfig(format!(
                "Failed to prepare statement: Configuration {option} is invalid: {why}\nExample valid value: ';'"
            ))
        };
        self.delimiter = match text {
            "TAB" => b'\t',
            "SPACE" => b' ',
            t if t.trim().is_empty() => {
                return Err(invalid(
                    "Delimiter cannot be empty, if you meant to have a tab or space for \
                     delimiter, please use the special values 'TAB' or 'SPACE'"
                        .into(),
                ));
            }
            t if t.chars().count() != 1 => {
                return Err(invalid(format!(
                    "Invalid delimiter value: '{t}'. Delimiter must be a single character or \
                     TAB,SPACE"
                )));
            }
            t if !t.is_ascii() || t == "\"" || t == "\r" || t == "\n" => {
                return Err(invalid(format!(
                    "Invalid delimiter value: '{t}'. Runnel supports single ASCII delimiters \
                     other than quotes and line breaks"
                )));
            }
            t => t.as_bytes()[0],
        };
        Ok(self)
    }

    /// Checks the columns can be carried by this format and the options make sense for
    /// them, with ksqlDB's messages. `is_key`: whether the columns are the key columns.
    pub fn validate(&self, columns: &[(String, SqlType)], is_key: bool) -> Result<(), FormatError> {
        validate::validate(self, columns, is_key)
    }

    /// Whether a JSON record is the bare value of its only column.
    fn unwrapped(&self, columns: usize) -> bool {
        columns == 1 && (self.is_key || self.wrap_single_value == Some(false))
    }

    /// Decodes a batch of records. `inputs[i] = None` (no bytes: a null key or tombstone)
    /// gives a row of NULLs. Returns one array per column (Arrow type `to_arrow(ty)`);
    /// records that fail become NULL rows listed in `errors`.
    pub fn decode(&self, columns: &[(String, SqlType)], inputs: &[Option<&[u8]>]) -> DecodedColumns {
        let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        let mut cols: Vec<ColumnBuilder> = columns
            .iter()
            .map(|(_, t)| ColumnBuilder::with_capacity(t, inputs.len()))
            .collect();
        let mut errors = Vec::new();
        let mut null_rows = vec![false; inputs.len()];
        let unwrapped = self.unwrapped(columns.len());
        let mut scratch = json_decode::Scratch::default();
        for (row, input) in inputs.iter().enumerate() {
            let outcome = match input {
                None => Ok(RowOutcome::Null),
                Some(bytes) => match self.kind {
                    FormatKind::Json => json_decode::decode_record(&mut cols, &names, unwrapped, bytes, &mut scratch),
                    FormatKind::Internal if bytes.first() == Some(&binary::MAGIC) => {
                        binary::decode_record(&mut cols, bytes)
                    }
                    FormatKind::Internal => {
                        json_decode::decode_record(&mut cols, &names, unwrapped, bytes, &mut scratch)
                    }
                    FormatKind::Delimited => delimited::decode_record(&mut cols, self.delimiter, bytes),
                    FormatKind::Kafka => kafka::decode_record(&mut cols, bytes),
                    // NONE reads nothing; any columns it was (wrongly) given stay NULL.
                    FormatKind::None => {
                        cols.iter_mut().for_each(ColumnBuilder::push_null);
                        Ok(RowOutcome::Present)
                    }
                },
            };
            let outcome = match outcome {
                Ok(RowOutcome::Present) if cols.iter().any(|c| c.len() != row + 1) => Err(format!(
                    "internal error: {} decoder left columns misaligned",
                    self.kind.name()
                )),
                other => other,
            };
            if outcome != Ok(RowOutcome::Present) {
                for c in &mut cols {
                    c.truncate(row);
                    c.push_null();
                }
                match outcome {
                    Err(msg) => errors.push((row, msg)),
                    _ => null_rows[row] = true,
                }
            }
        }
        let finished: Result<Vec<ArrayRef>, _> = cols.into_iter().map(ColumnBuilder::finish).collect();
        let arrays = match finished {
            Ok(arrays) => arrays,
            Err(e) => {
                // Only reachable past Arrow's limits (e.g. >2 GiB of text in one batch).
                errors = (0..inputs.len())
                    .map(|row| (row, format!("batch could not be built: {e}")))
                    .collect();
                columns
                    .iter()
                    .map(|(_, t)| new_null_array(&to_arrow(t), inputs.len()))
                    .collect()
            }
        };
        DecodedColumns {
            arrays,
            errors,
            null_rows,
        }
    }

    /// Encodes every row of `arrays` (one per column, in `columns` order). With no columns
    /// there is nothing to count rows by: use [`Format::encode_batch`].
    pub fn encode(&self, columns: &[(String, SqlType)], arrays: &[ArrayRef]) -> EncodedRows {
        let len = arrays.first().map_or(0, |a| a.len());
        self.encode_batch(columns, arrays, len)
    }

    /// Encodes rows `0..num_rows` of `arrays` (one per column, in `columns` order).
    pub fn encode_batch(&self, columns: &[(String, SqlType)], arrays: &[ArrayRef], num_rows: usize) -> EncodedRows {
        self.encode_batch_keyed(columns, arrays, num_rows, None)
    }

    /// [`Format::encode_batch`], for keys told which rows' keys are null as a whole.
    ///
    /// A key of one column is null when the column is. A key of several columns is a
    /// struct in ksqlDB, null only when the record's key was: `null_keys[row]` says so
    /// (a row read from a record without a key, passed through unchanged), and a key whose
    /// columns are all NULL but is not flagged is written as an object of NULLs
    /// (`{"A":null,"B":null}`, e.g. after `PARTITION BY A, B`). Without `null_keys` a key
    /// whose columns are all NULL is taken to be null.
    pub fn encode_batch_keyed(
        &self,
        columns: &[(String, SqlType)],
        arrays: &[ArrayRef],
        num_rows: usize,
        null_keys: Option<&arrow_array::BooleanArray>,
    ) -> EncodedRows {
        let all_fail = |msg: String| EncodedRows {
            data: Vec::new(),
            rows: vec![None; num_rows],
            errors: (0..num_rows).map(|r| (r, msg.clone())).collect(),
        };
        if arrays.len() != columns.len() {
            return all_fail(format!(
                "internal error: {} arrays for {} columns",
                arrays.len(),
                columns.len()
            ));
        }
        if let Some((name, _)) = columns.iter().zip(arrays).find(|(_, a)| a.len() < num_rows) {
            return all_fail(format!(
                "internal error: column {} has fewer than {num_rows} rows",
                name.0
            ));
        }
        let cols = match columns
            .iter()
            .zip(arrays)
            .map(|((_, t), a)| Col::new(t, a.as_ref()))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(cols) => cols,
            Err(e) => return all_fail(format!("internal error: {e}")),
        };
        let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        let unwrapped = self.unwrapped(columns.len());
        // A rough guess that saves most of the regrowth; the buffer still grows as needed.
        let per_row = match self.kind {
            FormatKind::None => 0,
            FormatKind::Kafka => 16,
            FormatKind::Json | FormatKind::Delimited => 16 + 24 * columns.len(),
            FormatKind::Internal => 1 + 12 * columns.len(),
        };
        let mut out = EncodedRows {
            data: Vec::with_capacity(per_row * num_rows),
            rows: Vec::with_capacity(num_rows),
            errors: Vec::new(),
        };
        for row in 0..num_rows {
            let all_null = || cols.iter().all(|c| c.is_null(row));
            let null_key = self.is_key
                && match null_keys {
                    Some(flags) if cols.len() > 1 && flags.len() > row => {
                        arrow_array::Array::is_valid(flags, row) && flags.value(row)
                    }
                    _ => all_null(),
                };
            let start = out.data.len();
            let buf = &mut out.data;
            let written: Result<bool, String> = match self.kind {
                FormatKind::None => Ok(false),
                _ if null_key => Ok(false),
                FormatKind::Json => {
                    if unwrapped {
                        if cols[0].is_null(row) {
                            Ok(false)
                        } else {
                            json_encode::write_value(&cols[0], row, buf);
                            Ok(true)
                        }
                    } else {
                        json_encode::write_object(&names, &cols, row, buf);
                        Ok(true)
                    }
                }
                FormatKind::Delimited => delimited::encode_record(&cols, self.delimiter, row, buf).map(|_| true),
                FormatKind::Internal => {
                    binary::encode_record(&cols, row, buf);
                    Ok(true)
                }
                FormatKind::Kafka => kafka::encode_record(&cols, row, buf),
            };
            match written {
                Ok(true) => out.rows.push(Some(start..out.data.len())),
                Ok(false) => out.rows.push(None),
                Err(msg) => {
                    out.data.truncate(start);
                    out.rows.push(None);
                    out.errors.push((row, msg));
                }
            }
        }
        out
    }

    /// Decodes one record into values (for INSERT VALUES, PRINT and tests). A null record
    /// gives all NULLs.
    pub fn decode_row(&self, columns: &[(String, SqlType)], input: Option<&[u8]>) -> Result<Vec<Value>, FormatError> {
        let mut decoded = self.decode(columns, &[input]);
        if let Some((_, msg)) = decoded.errors.pop() {
            return Err(FormatError::Deserialize(msg));
        }
        Ok(decoded.arrays.iter().map(|a| value_at(a.as_ref(), 0)).collect())
    }

    /// Encodes one row of values (each of its column's type, or NULL).
    pub fn encode_row(&self, columns: &[(String, SqlType)], values: &[Value]) -> Result<Option<Vec<u8>>, FormatError> {
        if values.len() != columns.len() {
            return Err(FormatError::Serialize(format!(
                "{} values for {} columns",
                values.len(),
                columns.len()
            )));
        }
        let arrays = columns
            .iter()
            .zip(values)
            .map(|((_, t), v)| build_array(t, std::slice::from_ref(v)))
            .collect::<crate::Result<Vec<_>>>()
            .map_err(|e| FormatError::Serialize(e.message))?;
        let mut encoded = self.encode_batch(columns, &arrays, 1);
        if let Some((_, msg)) = encoded.errors.pop() {
            return Err(FormatError::Serialize(msg));
        }
        Ok(encoded.row(0).map(<[u8]>::to_vec))
    }

    /// A per-row decode error as ksqlDB's processing log words it.
    pub fn decode_error_message(&self, topic: &str, cause: &str) -> String {
        let what = if self.is_key { "key" } else { "value" };
        format!("Failed to deserialize {what} from topic: {topic}. {cause}")
    }
}
