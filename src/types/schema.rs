use std::fmt;

use super::SqlType;

/// Pseudo column: the record timestamp.
pub const ROWTIME: &str = "ROWTIME";
/// Pseudo column: the partition the record was read from.
pub const ROWPARTITION: &str = "ROWPARTITION";
/// Pseudo column: the offset the record was read from.
pub const ROWOFFSET: &str = "ROWOFFSET";
/// The pseudo columns every source has, with their types.
pub const PSEUDO_COLUMNS: [(&str, SqlType); 3] = [
    (ROWTIME, SqlType::BigInt),
    (ROWPARTITION, SqlType::Int),
    (ROWOFFSET, SqlType::BigInt),
];

/// Where a column's data lives in a record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ColumnKind {
    /// In the record key (`KEY` on a stream, `PRIMARY KEY` on a table).
    Key,
    /// In the record value.
    Value,
    /// All headers (`HEADERS`) or the last header with one key (`HEADER('k')`).
    Header(Option<String>),
}

/// A named, typed column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    /// The column name, as the catalog spells it (upper case unless quoted).
    pub name: String,
    /// Its type.
    pub ty: SqlType,
    /// Key, value or header.
    pub kind: ColumnKind,
}

/// The columns of a stream or table: key columns first, then value (and header) columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Schema {
    /// The columns in order.
    pub columns: Vec<Column>,
}

impl Schema {
    /// A schema of the given columns.
    pub fn new(columns: Vec<Column>) -> Self {
        Schema { columns }
    }

    /// The key columns.
    pub fn key_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.kind == ColumnKind::Key)
    }

    /// The value columns (not key, not header).
    pub fn value_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.kind == ColumnKind::Value)
    }

    /// The column called `name`, matched exactly.
    pub fn find(&self, name: &str) -> Option<(usize, &Column)> {
        self.columns.iter().enumerate().find(|(_, c)| c.name == name)
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{}` {}", c.name, c.ty)?;
            match &c.kind {
                ColumnKind::Key => f.write_str(" KEY")?,
                ColumnKind::Value => {}
                ColumnKind::Header(None) => f.write_str(" HEADERS")?,
                ColumnKind::Header(Some(k)) => write!(f, " HEADER('{k}')")?,
            }
        }
        Ok(())
    }
}
