//! The catalog: every stream and table, the custom types, and what reads or writes them.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::format::Format;
use crate::sql::ast::SourceKind;
use crate::types::{Schema, SqlType};

/// Where a source's event time comes from (`WITH (TIMESTAMP=..., TIMESTAMP_FORMAT=...)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampColumn {
    /// The column.
    pub column: String,
    /// Its format, for STRING columns.
    pub format: Option<String>,
}

/// A stream or table.
#[derive(Debug, Clone)]
pub struct SourceDesc {
    /// Its name.
    pub name: String,
    /// Stream or table.
    pub kind: SourceKind,
    /// Its columns.
    pub schema: Schema,
    /// The topic behind it.
    pub topic: String,
    /// Partitions of the topic.
    pub partitions: i32,
    /// Key format.
    pub key_format: Format,
    /// Value format.
    pub value_format: Format,
    /// Event-time column, if any.
    pub timestamp: Option<TimestampColumn>,
    /// The statement that created it.
    pub sql: String,
    /// `CREATE SOURCE ...`: read-only.
    pub is_source: bool,
    /// The query writing it (`CSAS_..`), for sources created by `AS SELECT`.
    pub written_by: Option<String>,
}

impl SourceDesc {
    /// "STREAM" or "TABLE".
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        }
    }

    /// Key columns as (name, type).
    pub fn key_columns(&self) -> Vec<(String, SqlType)> {
        self.schema
            .key_columns()
            .map(|c| (c.name.clone(), c.ty.clone()))
            .collect()
    }

    /// Value columns as (name, type).
    pub fn value_columns(&self) -> Vec<(String, SqlType)> {
        self.schema
            .value_columns()
            .map(|c| (c.name.clone(), c.ty.clone()))
            .collect()
    }
}

/// Streams, tables and types by name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    sources: BTreeMap<String, Arc<SourceDesc>>,
    types: BTreeMap<String, SqlType>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// The source called `name`.
    pub fn source(&self, name: &str) -> Option<&Arc<SourceDesc>> {
        self.sources.get(name)
    }

    /// Every source, sorted by name.
    pub fn sources(&self) -> impl Iterator<Item = &Arc<SourceDesc>> {
        self.sources.values()
    }

    /// Adds or replaces a source.
    pub fn put_source(&mut self, desc: SourceDesc) {
        self.sources.insert(desc.name.clone(), Arc::new(desc));
    }

    /// Removes a source.
    pub fn remove_source(&mut self, name: &str) -> Option<Arc<SourceDesc>> {
        self.sources.remove(name)
    }

    /// The custom type called `name`.
    pub fn custom_type(&self, name: &str) -> Option<&SqlType> {
        self.types.get(name)
    }

    /// Every custom type.
    pub fn custom_types(&self) -> &BTreeMap<String, SqlType> {
        &self.types
    }

    /// Registers a custom type.
    pub fn put_type(&mut self, name: String, ty: SqlType) {
        self.types.insert(name, ty);
    }

    /// Removes a custom type.
    pub fn remove_type(&mut self, name: &str) -> Option<SqlType> {
        self.types.remove(name)
    }
}
