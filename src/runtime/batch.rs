//! [`Batch`]: the unit that moves between processors — Arrow columns laid out by a
//! [`BatchSchema`] whose last three columns are always the pseudo columns ROWTIME,
//! ROWPARTITION and ROWOFFSET, so the record timestamp travels with every row.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Int32Array, Int64Array};

use crate::error::{Error, Result};
use crate::log::Header;
use crate::types::{Column, ColumnKind, PSEUDO_COLUMNS, SqlType};

/// The columns of the batches a processor receives or emits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSchema {
    /// Data columns (key columns first, then value and header columns), then the pseudo columns.
    pub columns: Vec<Column>,
}

impl BatchSchema {
    /// A batch schema of `data` columns followed by the pseudo columns.
    pub fn with_pseudo_columns(data: Vec<Column>) -> Self {
        let mut columns = data;
        for (name, ty) in PSEUDO_COLUMNS {
            columns.push(Column {
                name: name.to_string(),
                ty,
                kind: ColumnKind::Value,
            });
        }
        BatchSchema { columns }
    }

    /// The data columns (everything but the pseudo columns).
    pub fn data_columns(&self) -> &[Column] {
        &self.columns[..self.columns.len().saturating_sub(PSEUDO_COLUMNS.len())]
    }

    /// Index of ROWTIME.
    pub fn rowtime_index(&self) -> usize {
        self.columns.len() - PSEUDO_COLUMNS.len()
    }

    /// Names and types of the data columns of `kind`, with their indexes.
    pub fn columns_of(&self, kind: &ColumnKind) -> Vec<(usize, String, SqlType)> {
        self.data_columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| &c.kind == kind)
            .map(|(i, c)| (i, c.name.clone(), c.ty.clone()))
            .collect()
    }
}

/// Rows in flight: one array per schema column, all of `len` rows.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The columns, laid out by the schema of the processor that emitted the batch.
    pub columns: Vec<ArrayRef>,
    /// Number of rows.
    pub len: usize,
    /// Rows whose value is null (a tombstone), when any are.
    pub tombstones: Option<BooleanArray>,
    /// Rows that retract a table row's old value (a table changelog going into an
    /// aggregation), when any are.
    pub retractions: Option<BooleanArray>,
    /// Per row: the headers of the record it was read from, when some record of the batch
    /// had any. Kafka Streams forwards a record's headers with it, so a stateless query's
    /// output records keep their input's headers; processors that build rows anew drop them.
    pub headers: Option<Vec<Vec<Header>>>,
    /// Per row: whether the row's key is null as a whole (its record had no key), as opposed
    /// to a key whose columns are all NULL. Set by sources; a processor passing the key
    /// through keeps it, one computing a new key (`PARTITION BY`) sets it all false. `None`
    /// when unknown: sinks then write a key whose columns are all NULL as a null key.
    pub null_keys: Option<BooleanArray>,
}

impl Batch {
    /// A batch of the given columns; their lengths must agree.
    pub fn new(columns: Vec<ArrayRef>, len: usize) -> Result<Self> {
        if let Some(c) = columns.iter().find(|c| c.len() != len) {
            return Err(Error::internal(format!(
                "batch column has {} rows, expected {len}",
                c.len()
            )));
        }
        Ok(Batch {
            columns,
            len,
            tombstones: None,
            retractions: None,
            headers: None,
            null_keys: None,
        })
    }

    /// The ROWTIME column (the third-last).
    pub fn rowtimes(&self) -> Option<&Int64Array> {
        self.columns
            .get(self.columns.len().checked_sub(PSEUDO_COLUMNS.len())?)?
            .as_any()
            .downcast_ref::<Int64Array>()
    }

    /// The ROWPARTITION column.
    pub fn partitions(&self) -> Option<&Int32Array> {
        self.columns
            .get(self.columns.len().checked_sub(2)?)?
            .as_any()
            .downcast_ref::<Int32Array>()
    }

    /// The ROWOFFSET column.
    pub fn offsets(&self) -> Option<&Int64Array> {
        self.columns.last()?.as_any().downcast_ref::<Int64Array>()
    }

    /// Keeps the rows where `mask` is true.
    pub fn filter(&self, mask: &BooleanArray) -> Result<Batch> {
        let columns = self
            .columns
            .iter()
            .map(|c| arrow_select::filter::filter(c.as_ref(), mask))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let len = columns.first().map(|c| c.len()).unwrap_or(0);
        let keep = |flags: &Option<BooleanArray>| -> Result<Option<BooleanArray>> {
            Ok(match flags {
                Some(t) => Some(
                    arrow_select::filter::filter(t, mask)?
                        .as_any()
                        .downcast_ref::<BooleanArray>()
                        .cloned()
                        .unwrap_or_else(|| BooleanArray::from(vec![false; len])),
                ),
                None => None,
            })
        };
        let headers = self.headers.as_ref().map(|h| {
            h.iter()
                .enumerate()
                .filter(|(i, _)| mask.is_valid(*i) && mask.value(*i))
                .map(|(_, h)| h.clone())
                .collect()
        });
        Ok(Batch {
            columns,
            len,
            tombstones: keep(&self.tombstones)?,
            retractions: keep(&self.retractions)?,
            headers,
            null_keys: keep(&self.null_keys)?,
        })
    }

    /// The headers carried with row `i` (none when the batch carries none).
    pub fn headers_of(&self, i: usize) -> &[Header] {
        self.headers.as_ref().and_then(|h| h.get(i)).map_or(&[], Vec::as_slice)
    }

    /// Whether row `i` retracts a table row's old value.
    pub fn is_retraction(&self, i: usize) -> bool {
        self.retractions.as_ref().is_some_and(|t| t.value(i))
    }

    /// Whether row `i` is a tombstone.
    pub fn is_tombstone(&self, i: usize) -> bool {
        self.tombstones.as_ref().is_some_and(|t| t.value(i))
    }

    /// The pseudo columns of this batch, to append to a new set of data columns.
    pub fn pseudo_columns(&self) -> Vec<ArrayRef> {
        let n = self.columns.len();
        self.columns[n.saturating_sub(PSEUDO_COLUMNS.len())..].to_vec()
    }
}

/// An all-null column for pseudo columns a batch does not have (e.g. rows built by INSERT VALUES).
pub fn pseudo_arrays(rowtimes: Vec<i64>, partition: i32, offsets: Vec<i64>) -> Vec<ArrayRef> {
    let n = rowtimes.len();
    vec![
        Arc::new(Int64Array::from(rowtimes)),
        Arc::new(Int32Array::from(vec![partition; n])),
        Arc::new(Int64Array::from(offsets)),
    ]
}
