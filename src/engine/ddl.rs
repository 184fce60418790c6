//! Data definition: `CREATE STREAM|TABLE`, `DROP`, `ALTER`, `CREATE|DROP TYPE`.

use std::sync::Arc;

use super::result::StatementResult;
use super::{Config, Engine};
use crate::error::{Error, Result};
use crate::format::Format;
use crate::log::{LogError, TopicConfig};
use crate::plan::catalog::{SourceDesc, TimestampColumn};
use crate::plan::query::is_reserved_column;
use crate::sql::ast::{ColumnConstraint, ColumnDef, CreateSource, Ident, ParsedStatement, Properties, SourceKind};
use crate::types::{Column, ColumnKind, Schema, SqlType, Value};

/// The WITH properties each statement accepts.
const SOURCE_PROPERTIES: &[&str] = &[
    "KAFKA_TOPIC",
    "VALUE_FORMAT",
    "KEY_FORMAT",
    "FORMAT",
    "PARTITIONS",
    "REPLICAS",
    "TIMESTAMP",
    "TIMESTAMP_FORMAT",
    "VALUE_DELIMITER",
    "KEY_DELIMITER",
    "WRAP_SINGLE_VALUE",
    "KEY_SCHEMA_ID",
    "VALUE_SCHEMA_ID",
    "KEY_SCHEMA_FULL_NAME",
    "VALUE_SCHEMA_FULL_NAME",
    "VALUE_AVRO_SCHEMA_FULL_NAME",
];

/// Schema Registry properties of ksqlDB's AVRO, PROTOBUF and JSON_SR formats, with the
/// format config each sets and whether it is about the key. Runnel's formats take none of
/// them, and say so as ksqlDB does for a format without them.
pub(crate) const SCHEMA_REGISTRY_PROPERTIES: &[(&str, &str, bool)] = &[
    ("KEY_SCHEMA_ID", "schemaId", true),
    ("VALUE_SCHEMA_ID", "schemaId", false),
    ("KEY_SCHEMA_FULL_NAME", "fullSchemaName", true),
    ("VALUE_SCHEMA_FULL_NAME", "fullSchemaName", false),
    ("VALUE_AVRO_SCHEMA_FULL_NAME", "fullSchemaName", false),
];

/// Reads WITH properties with clear errors.
pub(crate) struct With<'a>(pub &'a Properties);

impl With<'_> {
    pub fn check_known(&self, allowed: &[&str]) -> Result<()> {
        for p in &self.0.0 {
            if !allowed.contains(&p.name.as_str()) {
                return Err(Error::plan(format!(
                    "Invalid config variable(s) in the WITH clause: {}. Valid properties are: {}",
                    p.name,
                    allowed.join(", ")
                )));
            }
        }
        Ok(())
    }

    pub fn string(&self, name: &str) -> Result<Option<String>> {
        match self.0.get(name).map(|p| &p.value) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Error::plan(format!(
                "{name} must be a string in quotes, e.g. {name}='...', not {other}"
            ))),
        }
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        match self.0.get(name).map(|p| &p.value) {
            None => Ok(None),
            Some(v) => match v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())) {
                Some(i) => Ok(Some(i)),
                None => Err(Error::plan(format!("{name} must be a whole number, not {v}"))),
            },
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>> {
        match self.0.get(name).map(|p| &p.value) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
                Ok(Some(s.eq_ignore_ascii_case("true")))
            }
            Some(other) => Err(Error::plan(format!("{name} must be true or false, not {other}"))),
        }
    }
}

/// Key and value formats from FORMAT / KEY_FORMAT / VALUE_FORMAT, falling back to `inherit`,
/// then to the `ksql.persistence.default.format.key|value` properties of `config`.
/// `value_columns` is how many value columns the format will carry: a single one is
/// unwrapped when `ksql.persistence.wrap.single.values` is false and the statement does not
/// say otherwise.
pub(crate) fn formats(
    with: &With<'_>,
    inherit: Option<(&Format, &Format)>,
    config: &Config,
    value_columns: usize,
) -> Result<(Format, Format)> {
    let format = with.string("FORMAT")?;
    let key = with.string("KEY_FORMAT")?;
    let value = with.string("VALUE_FORMAT")?;
    if format.is_some() && (key.is_some() || value.is_some()) {
        let other = if value.is_some() { "VALUE_FORMAT" } else { "KEY_FORMAT" };
        return Err(Error::plan(format!(
            "Cannot supply both '{other}' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'."
        )));
    }
    let (key_name, value_name) = match format {
        Some(f) => (Some(f.clone()), Some(f)),
        None => (key, value),
    };
    let mut key_format = match (key_name, inherit) {
        (Some(k), _) => Format::from_name(&k)?.for_key(),
        (None, Some((k, _))) => k.clone(),
        (None, None) => Format::from_name(
            &config
                .get("ksql.persistence.default.format.key")
                .unwrap_or_else(|| "KAFKA".into()),
        )?
        .for_key(),
    };
    let mut value_format = match (value_name, inherit) {
        (Some(v), _) => Format::from_name(&v)?,
        (None, Some((_, v))) => {
            // A sink inherits its source's format, not its WRAP_SINGLE_VALUE setting.
            let mut f = v.clone();
            f.wrap_single_value = None;
            f
        }
        (None, None) => match config.get("ksql.persistence.default.format.value") {
            Some(v) if !v.is_empty() => Format::from_name(&v)?,
            _ => {
                return Err(Error::plan(
                    "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.value' config.",
                ));
            }
        },
    };
    for (prop, fmt) in [
        ("VALUE_DELIMITER", &mut value_format),
        ("KEY_DELIMITER", &mut key_format),
    ] {
        if let Some(d) = with.string(prop)? {
            *fmt = fmt.clone().with_delimiter(&d)?;
        }
    }
    for (prop, config_name, is_key) in SCHEMA_REGISTRY_PROPERTIES {
        if with.0.get(prop).is_some() {
            let format = if *is_key { &key_format } else { &value_format };
            return Err(Error::plan(format!(
                "{} does not support the following configs: [{config_name}]",
                format.kind.name()
            )));
        }
    }
    if let Some(wrap) = with.boolean("WRAP_SINGLE_VALUE")? {
        value_format.wrap_single_value = Some(wrap);
    } else if value_columns == 1
        && value_format.kind == crate::format::FormatKind::Json
        && let Some(wrap) = config.get_explicit("ksql.persistence.wrap.single.values")
    {
        value_format.wrap_single_value = Some(!wrap.eq_ignore_ascii_case("false"));
    }
    Ok((key_format, value_format))
}

/// ksqlDB refuses a `KEY_FORMAT` (other than `NONE`) for a stream that has no key columns.
pub(crate) fn refuse_key_format_without_key(with: &With<'_>, kind: SourceKind, has_key: bool) -> Result<()> {
    let named = with
        .string("KEY_FORMAT")?
        .is_some_and(|f| !f.eq_ignore_ascii_case("NONE"));
    if kind == SourceKind::Stream && named && !has_key {
        return Err(Error::plan("Key format specified for stream without key columns."));
    }
    Ok(())
}

/// Makes sure the topic exists with `partitions` (creating it when `create` allows).
pub(crate) fn ensure_topic(
    engine: &Engine,
    topic: &str,
    partitions: Option<i64>,
    replicas: Option<i64>,
) -> Result<i32> {
    match engine.log.describe_topic(topic)? {
        Some(d) => {
            if let Some(p) = partitions
                && p != d.partitions as i64
            {
                return Err(Error::plan(format!(
                    "A Kafka topic with the name '{topic}' already exists, with different partition/replica configuration than required. Runnel expects {p} partitions (topic has {}).",
                    d.partitions
                )));
            }
            Ok(d.partitions)
        }
        None => {
            let Some(p) = partitions else {
                return Err(Error::plan(format!(
                    "Topic '{topic}' does not exist. If you want to create a new topic for the stream/table please re-run the statement providing the required 'PARTITIONS' configuration in the WITH clause (and optionally 'REPLICAS')."
                )));
            };
            if !(1..=100_000).contains(&p) {
                return Err(Error::plan(format!("PARTITIONS must be between 1 and 100000, not {p}")));
            }
            let mut config = TopicConfig::new(p as i32);
            config.replicas = replicas.unwrap_or(1).clamp(1, i16::MAX as i64) as i16;
            if engine.is_replaying() {
                engine.deferred_topics.lock().push((topic.to_string(), config));
                return Ok(p as i32);
            }
            match engine.log.create_topic(topic, &config) {
                Ok(()) | Err(LogError::TopicExists(_)) => Ok(p as i32),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Checks a timestamp column exists and has a usable type.
pub(crate) fn timestamp_column(with: &With<'_>, schema: &Schema) -> Result<Option<TimestampColumn>> {
    let Some(name) = with.string("TIMESTAMP")? else {
        if with.string("TIMESTAMP_FORMAT")?.is_some() {
            return Err(Error::plan("TIMESTAMP_FORMAT needs a TIMESTAMP column"));
        }
        return Ok(None);
    };
    let column = name.trim_matches('`').to_string();
    let column = if name.starts_with('`') {
        column
    } else {
        column.to_uppercase()
    };
    let Some((_, c)) = schema.find(&column) else {
        return Err(Error::plan(format!(
            "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{column}'"
        )));
    };
    let format = with.string("TIMESTAMP_FORMAT")?;
    match (&c.ty, &format) {
        (SqlType::BigInt | SqlType::Timestamp, None) | (SqlType::String, Some(_)) => {}
        (SqlType::String, None) => {
            return Err(Error::plan(format!(
                "A String timestamp field ({column}) needs TIMESTAMP_FORMAT in the WITH clause"
            )));
        }
        (SqlType::BigInt | SqlType::Timestamp, Some(_)) => {
            return Err(Error::plan(format!(
                "TIMESTAMP_FORMAT is only for STRING timestamp columns; {column} is {}",
                c.ty
            )));
        }
        _ => {
            return Err(Error::plan(format!(
                "Timestamp column, `{column}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified."
            )));
        }
    }
    Ok(Some(TimestampColumn { column, format }))
}

fn columns_to_schema(kind: SourceKind, columns: &[ColumnDef]) -> Result<Schema> {
    let mut out: Vec<Column> = Vec::new();
    for c in columns {
        let name = c.name.value.clone();
        if is_reserved_column(&name) {
            return Err(Error::plan(format!(
                "'{name}' is a reserved column name. You cannot use it as a name for a column."
            )));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(Error::plan(format!(
                "Duplicate {} columns found in schema: `{name}` {}",
                if matches!(c.constraint, ColumnConstraint::Key | ColumnConstraint::PrimaryKey) {
                    "key"
                } else {
                    "value"
                },
                c.data_type
            )));
        }
        let col_kind = match (&c.constraint, kind) {
            (ColumnConstraint::None, _) => ColumnKind::Value,
            (ColumnConstraint::Key, SourceKind::Stream) | (ColumnConstraint::PrimaryKey, SourceKind::Table) => {
                ColumnKind::Key
            }
            (ColumnConstraint::Key, SourceKind::Table) => {
                return Err(Error::plan(format!(
                    "Column `{name}` is a 'KEY' column: please use 'PRIMARY KEY' for tables."
                )));
            }
            (ColumnConstraint::PrimaryKey, SourceKind::Stream) => {
                return Err(Error::plan(format!(
                    "Column `{name}` is a 'PRIMARY KEY' column: please use 'KEY' for streams."
                )));
            }
            (ColumnConstraint::Headers, _) => {
                let expected = SqlType::Array(Box::new(SqlType::Struct(vec![
                    ("KEY".into(), SqlType::String),
                    ("VALUE".into(), SqlType::Bytes),
                ])));
                if c.data_type != expected {
                    return Err(Error::plan(format!(
                        "Invalid type for HEADERS column {name}: expected {expected}, got {}",
                        c.data_type
                    )));
                }
                ColumnKind::Header(None)
            }
            (ColumnConstraint::Header(k), _) => {
                if c.data_type != SqlType::Bytes {
                    return Err(Error::plan(format!(
                        "Invalid type for HEADER('{k}') column {name}: expected BYTES, got {}",
                        c.data_type
                    )));
                }
                ColumnKind::Header(Some(k.clone()))
            }
        };
        out.push(Column {
            name,
            ty: c.data_type.clone(),
            kind: col_kind,
        });
    }
    if kind == SourceKind::Table && !out.iter().any(|c| c.kind == ColumnKind::Key) {
        return Err(Error::plan(
            "Tables require a PRIMARY KEY. Please define the PRIMARY KEY.",
        ));
    }
    // Key columns first, as SELECT * and DESCRIBE show them.
    let mut ordered: Vec<Column> = out.iter().filter(|c| c.kind == ColumnKind::Key).cloned().collect();
    ordered.extend(out.into_iter().filter(|c| c.kind != ColumnKind::Key));
    Ok(Schema::new(ordered))
}

fn kind_word(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    }
}

/// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE ... WITH (...)`
pub(super) fn create_source(
    engine: &Arc<Engine>,
    stmt: &ParsedStatement,
    c: &CreateSource,
    config: &Config,
) -> Result<StatementResult> {
    let with = With(&c.properties);
    with.check_known(SOURCE_PROPERTIES)?;
    let name = c.name.value.clone();
    let word = kind_word(c.kind);
    if c.or_replace && c.is_source {
        // Whether or not the name exists yet, as ksqlDB: a source is never replaced.
        return Err(Error::plan(format!(
            "Cannot add {word} '{name}': CREATE OR REPLACE is not supported on source {word}s."
        )));
    }
    if let Some(existing) = engine.state.lock().catalog.source(&name) {
        if c.if_not_exists {
            return Ok(StatementResult::Message(format!(
                "Cannot add {word} {name}: A {} with the same name already exists.",
                existing.kind_name().to_lowercase()
            )));
        }
        if c.or_replace && existing.is_source {
            return Err(Error::plan(format!(
                "Cannot add {word} '{name}': CREATE OR REPLACE is not supported on source {word}s."
            )));
        }
        if !c.or_replace || existing.kind != c.kind {
            return Err(Error::plan(format!(
                "Cannot add {word} '{name}': A {} with the same name already exists",
                existing.kind_name().to_lowercase()
            )));
        }
    }
    let Some(topic) = with.string("KAFKA_TOPIC")? else {
        return Err(Error::plan(
            "Missing required property \"KAFKA_TOPIC\" which has no default value.",
        ));
    };
    let schema = columns_to_schema(c.kind, &c.columns)?;
    let value_columns = schema.columns.iter().filter(|c| c.kind == ColumnKind::Value).count();
    let (key_format, value_format) = formats(&with, None, config, value_columns)?;
    refuse_key_format_without_key(&with, c.kind, schema.key_columns().next().is_some())?;
    let pairs = |kind: ColumnKind| -> Vec<(String, SqlType)> {
        schema
            .columns
            .iter()
            .filter(|col| col.kind == kind)
            .map(|col| (col.name.clone(), col.ty.clone()))
            .collect()
    };
    key_format.validate(&pairs(ColumnKind::Key), true)?;
    value_format.validate(&pairs(ColumnKind::Value), false)?;
    let timestamp = timestamp_column(&with, &schema)?;
    let partitions = ensure_topic(engine, &topic, with.int("PARTITIONS")?, with.int("REPLICAS")?)?;
    let command_offset = engine.command_offset()?;
    engine.record_command(&stmt.text)?;
    let desc = SourceDesc {
        name: name.clone(),
        kind: c.kind,
        schema,
        topic,
        partitions,
        key_format,
        value_format,
        timestamp,
        sql: stmt.text.clone(),
        is_source: c.is_source,
        written_by: None,
    };
    if desc.kind == SourceKind::Table && desc.is_source {
        // CREATE SOURCE TABLE is materialized by a query of its own (ksqlDB's CST_ query),
        // which makes it pull-queryable.
        let id = format!("CST_{}_{}", desc.name, command_offset);
        let mut desc = desc;
        desc.written_by = Some(id.clone());
        let desc = Arc::new(desc);
        engine.state.lock().catalog.put_source((*desc).clone());
        let schema = crate::plan::query::source_batch_schema(&desc);
        let plan = crate::plan::query::QueryPlan {
            root: crate::plan::logical::LogicalPlan::Source {
                source: desc.clone(),
                alias: desc.name.clone(),
                schema,
            },
            source: desc.clone(),
            result_kind: SourceKind::Table,
            limit: None,
            emit: None,
        };
        let config = engine.config();
        super::queries::register_query(engine, id, &stmt.text, &plan, desc, &config, true)?;
        return Ok(StatementResult::Message("Table created".into()));
    }
    engine.state.lock().catalog.put_source(desc);
    Ok(StatementResult::Message(format!(
        "{} created",
        if c.kind == SourceKind::Stream {
            "Stream"
        } else {
            "Table"
        }
    )))
}

/// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`
pub(super) fn drop_source(
    engine: &Arc<Engine>,
    stmt: &ParsedStatement,
    kind: SourceKind,
    if_exists: bool,
    name: &Ident,
    delete_topic: bool,
) -> Result<StatementResult> {
    let mut state = engine.state.lock();
    let Some(desc) = state.catalog.source(&name.value).cloned() else {
        if if_exists {
            return Ok(StatementResult::Message(format!(
                "Source {} does not exist.",
                name.value
            )));
        }
        return Err(Error::plan(format!("Source {} does not exist.", name.value)));
    };
    if desc.kind != kind {
        return Err(Error::plan(format!(
            "Incompatible data source type is {}, but statement was DROP {}",
            desc.kind_name(),
            kind_word(kind).to_uppercase()
        )));
    }
    if desc.name == crate::runtime::processing_log::PROCESSING_LOG_STREAM {
        return Err(Error::plan(format!(
            "{} is the processing log and cannot be dropped",
            desc.name
        )));
    }
    // Since ksqlDB 0.13: the sources built from this one must be dropped first; the queries
    // writing this one are terminated with it.
    let dependents: Vec<String> = state
        .queries
        .values()
        .filter(|q| q.sources.contains(&desc.name) && q.sink.as_deref() != Some(&desc.name))
        .filter_map(|q| q.sink.clone())
        .collect();
    if !dependents.is_empty() {
        return Err(Error::plan(format!(
            "Cannot drop {}.\nThe following streams and/or tables read from this source: [{}].\nYou need to drop them before dropping {}.",
            desc.name,
            dependents.join(", "),
            desc.name
        )));
    }
    let writers: Vec<String> = state
        .queries
        .values()
        .filter(|q| q.sink.as_deref() == Some(&desc.name))
        .map(|q| q.id.clone())
        .collect();
    if delete_topic && desc.is_source {
        return Err(Error::plan(format!(
            "Cannot delete topic for read-only source: {}",
            desc.name
        )));
    }
    engine.record_command(&stmt.text)?;
    state.catalog.remove_source(&desc.name);
    let stopped: Vec<super::PersistentQuery> = writers.iter().filter_map(|id| state.queries.remove(id)).collect();
    drop(state);
    for q in stopped {
        if let Some(r) = q.running {
            r.stop();
        }
        if !engine.is_replaying() {
            engine.log.delete_group(&super::queries::group_of(engine, &q.id))?;
        }
    }
    if delete_topic && !engine.is_replaying() {
        match engine.log.delete_topic(&desc.topic) {
            Ok(()) | Err(LogError::UnknownTopic(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(StatementResult::Message(format!(
        "Source `{}` (topic: {}) was dropped.",
        desc.name, desc.topic
    )))
}

/// `CREATE TYPE [IF NOT EXISTS] name AS type`
pub(super) fn create_type(
    engine: &Arc<Engine>,
    stmt: &ParsedStatement,
    if_not_exists: bool,
    name: &Ident,
    ty: &SqlType,
) -> Result<StatementResult> {
    let mut state = engine.state.lock();
    if state.catalog.custom_type(&name.value).is_some() {
        if if_not_exists {
            return Ok(StatementResult::Message(format!("Type {} already exists.", name.value)));
        }
        return Err(Error::plan(format!(
            "Cannot register custom type '{}' since it is already registered with type: {}",
            name.value,
            state
                .catalog
                .custom_type(&name.value)
                .map(|t| t.to_string())
                .unwrap_or_default()
        )));
    }
    engine.record_command(&stmt.text)?;
    state.catalog.put_type(name.value.clone(), ty.clone());
    Ok(StatementResult::Message(format!(
        "Registered custom type with name '{}' and SQL type {ty}",
        name.value
    )))
}

/// `DROP TYPE [IF EXISTS] name`
pub(super) fn drop_type(
    engine: &Arc<Engine>,
    stmt: &ParsedStatement,
    if_exists: bool,
    name: &Ident,
) -> Result<StatementResult> {
    let mut state = engine.state.lock();
    if state.catalog.custom_type(&name.value).is_none() {
        if if_exists {
            return Ok(StatementResult::Message(format!("Type {} does not exist.", name.value)));
        }
        return Err(Error::plan(format!("Type {} does not exist.", name.value)));
    }
    engine.record_command(&stmt.text)?;
    state.catalog.remove_type(&name.value);
    Ok(StatementResult::Message(format!("Dropped type '{}'", name.value)))
}

/// `ALTER STREAM|TABLE name ADD COLUMN c type, ...`
pub(super) fn alter_source(
    engine: &Arc<Engine>,
    stmt: &ParsedStatement,
    kind: SourceKind,
    name: &Ident,
    add: &[ColumnDef],
) -> Result<StatementResult> {
    let mut state = engine.state.lock();
    let Some(desc) = state.catalog.source(&name.value).cloned() else {
        return Err(Error::plan(format!("Source {} does not exist.", name.value)));
    };
    if desc.kind != kind {
        return Err(Error::plan(format!(
            "Incompatible data source type is {}, but statement was ALTER {}",
            desc.kind_name(),
            kind_word(kind).to_uppercase()
        )));
    }
    if desc.is_source {
        let word = kind_word(kind);
        return Err(Error::plan(format!(
            "Cannot alter {word} '{}': ALTER operations are not supported on source {word}s.",
            desc.name
        )));
    }
    if desc.written_by.is_some() {
        return Err(Error::plan(format!(
            "ALTER command is not supported for CREATE ... AS statements: {}",
            desc.name
        )));
    }
    let mut new = (*desc).clone();
    for c in add {
        if c.constraint != ColumnConstraint::None {
            return Err(Error::plan(format!(
                "ALTER can only add value columns; {} is declared {:?}",
                c.name.value, c.constraint
            )));
        }
        if new.schema.find(&c.name.value).is_some() {
            return Err(Error::plan(format!(
                "Cannot add column `{}` to schema. A column with the same name already exists.",
                c.name.value
            )));
        }
        new.schema.columns.push(Column {
            name: c.name.value.clone(),
            ty: c.data_type.clone(),
            kind: ColumnKind::Value,
        });
    }
    engine.record_command(&stmt.text)?;
    state.catalog.put_source(new);
    Ok(StatementResult::Message(format!(
        "{} altered.",
        if kind == SourceKind::Stream { "Stream" } else { "Table" }
    )))
}
