//! `SHOW`, `DESCRIBE` and `EXPLAIN`.

use std::sync::Arc;

use super::result::{RowSet, StatementResult};
use super::{Config, Engine, Session};
use crate::error::{Error, Result};
use crate::format::Format;
use crate::plan::catalog::SourceDesc;
use crate::plan::lower::{SinkTarget, build_topology};
use crate::plan::query::{QueryPurpose, plan_query};
use crate::runtime::query::QueryState;
use crate::sql::ast::{DescribeTarget, ExplainTarget, ShowKind, SourceKind, Statement};
use crate::types::{ColumnKind, SqlType, Value};

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

/// The format's name as ksqlDB prints it.
pub(crate) fn format_name(f: &Format) -> &'static str {
    f.kind.name()
}

/// ksqlDB's type text in DESCRIBE (`VARCHAR(STRING)` for strings).
fn describe_type(t: &SqlType) -> String {
    match t {
        SqlType::String => "VARCHAR(STRING)".into(),
        other => other.to_string(),
    }
}

pub(super) fn show(engine: &Arc<Engine>, what: ShowKind, extended: bool, session: &Session) -> Result<StatementResult> {
    let state = engine.state.lock();
    let rows = match what {
        ShowKind::Streams | ShowKind::Tables => {
            let kind = if what == ShowKind::Streams {
                SourceKind::Stream
            } else {
                SourceKind::Table
            };
            if extended {
                drop(state);
                let target = if kind == SourceKind::Stream {
                    DescribeTarget::Streams
                } else {
                    DescribeTarget::Tables
                };
                return describe(engine, &target, true);
            }
            let title = if kind == SourceKind::Stream {
                "Stream Name"
            } else {
                "Table Name"
            };
            let rows = state
                .catalog
                .sources()
                .filter(|d| d.kind == kind)
                .map(|d| {
                    vec![
                        s(&d.name),
                        s(&d.topic),
                        s(format_name(&d.key_format)),
                        s(format_name(&d.value_format)),
                        Value::Boolean(false),
                    ]
                })
                .collect();
            RowSet::new(
                vec![title, "Kafka Topic", "Key Format", "Value Format", "Windowed"],
                rows,
            )
        }
        ShowKind::Queries => {
            let rows = state
                .queries
                .values()
                .map(|q| {
                    let status = match (&q.running, q.paused) {
                        (_, true) => "PAUSED".to_string(),
                        (Some(r), _) => match r.state() {
                            QueryState::Running => "RUNNING".into(),
                            QueryState::Error(e) => format!("ERROR: {e}"),
                            QueryState::Stopped => "STOPPED".into(),
                        },
                        (None, false) => "NOT RUNNING".into(),
                    };
                    vec![
                        s(&q.id),
                        s("PERSISTENT"),
                        s(status),
                        s(q.sink.clone().unwrap_or_default()),
                        s(q.sink_topic.clone().unwrap_or_default()),
                        s(&q.sql),
                    ]
                })
                .collect();
            RowSet::new(
                vec![
                    "Query ID",
                    "Query Type",
                    "Status",
                    "Sink Name",
                    "Sink Kafka Topic",
                    "Query String",
                ],
                rows,
            )
        }
        ShowKind::Topics { all } => {
            drop(state);
            let rows = engine
                .log
                .list_topics()?
                .into_iter()
                .filter(|t| all || !t.name.starts_with('_'))
                .map(|t| {
                    let mut row = vec![s(&t.name), Value::Int(t.partitions), Value::Int(t.replicas as i32)];
                    if extended {
                        let records: i64 = (0..t.partitions)
                            .map(|p| {
                                let end = engine.log.end_offset(&t.name, p).unwrap_or(0);
                                let start = engine.log.start_offset(&t.name, p).unwrap_or(0);
                                end - start
                            })
                            .sum();
                        row.push(Value::BigInt(records));
                    }
                    row
                })
                .collect();
            let mut cols = vec!["Kafka Topic", "Partitions", "Partition Replicas"];
            if extended {
                cols.push("Records");
            }
            return Ok(StatementResult::Rows(RowSet::new(cols, rows)));
        }
        ShowKind::Properties => {
            let effective = engine.config().with_overrides(&session.overrides);
            let overridden: Vec<String> = session
                .overrides
                .effective()
                .into_iter()
                .filter(|(_, _, src)| *src == "SET")
                .map(|(k, _, _)| k)
                .collect();
            let rows = effective
                .effective()
                .into_iter()
                .map(|(k, v, src)| {
                    let scope = if overridden.contains(&k) {
                        "SESSION"
                    } else if src == "SET" {
                        "SERVER"
                    } else {
                        "DEFAULT"
                    };
                    vec![s(k), s(scope), s(v)]
                })
                .collect();
            RowSet::new(vec!["Property", "Scope", "Value"], rows)
        }
        ShowKind::Functions => {
            let mut rows: Vec<Vec<Value>> = engine
                .functions
                .list()
                .into_iter()
                .map(|d| vec![s(d.name), s("SCALAR"), s(d.category)])
                .chain(
                    engine
                        .functions
                        .list_aggregates()
                        .into_iter()
                        .map(|d| vec![s(d.name), s("AGGREGATE"), s(d.category)]),
                )
                // Table functions (EXPLODE, CUBE_EXPLODE) live in the runtime's flat map.
                .chain(
                    crate::runtime::ops::flat_map::TableFunction::all()
                        .into_iter()
                        .map(|f| vec![s(f.name()), s("TABLE"), s("TABLE")]),
                )
                .collect();
            rows.sort_by(|a, b| a[0].sql_cmp(&b[0]).unwrap_or(std::cmp::Ordering::Equal));
            RowSet::new(vec!["Function Name", "Type", "Category"], rows)
        }
        ShowKind::Variables => {
            let rows = session.variables.iter().map(|(k, v)| vec![s(k), s(v)]).collect();
            RowSet::new(vec!["Variable Name", "Value"], rows)
        }
        ShowKind::Types => {
            let rows = state
                .catalog
                .custom_types()
                .iter()
                .map(|(k, v)| vec![s(k), s(v.to_string())])
                .collect();
            RowSet::new(vec!["Type Name", "Schema"], rows)
        }
    };
    Ok(StatementResult::Rows(rows))
}

fn describe_source(engine: &Engine, d: &SourceDesc, extended: bool) -> RowSet {
    let mut rows: Vec<Vec<Value>> = d
        .schema
        .columns
        .iter()
        .map(|c| {
            let marker = match (&c.kind, d.kind) {
                (ColumnKind::Key, SourceKind::Stream) => "(key)".to_string(),
                (ColumnKind::Key, SourceKind::Table) => "(primary key)".to_string(),
                (ColumnKind::Header(None), _) => "(headers)".to_string(),
                (ColumnKind::Header(Some(k)), _) => format!("(header('{k}'))"),
                (ColumnKind::Value, _) => String::new(),
            };
            let ty = describe_type(&c.ty);
            let text = if marker.is_empty() {
                ty
            } else {
                format!("{ty:<16} {marker}")
            };
            vec![s(&c.name), s(text)]
        })
        .collect();
    rows.insert(0, vec![s("ROWTIME"), s("BIGINT           (system)")]);
    let mut title = format!("Name                 : {}", d.name);
    if extended {
        let state = engine.state.lock();
        let readers: Vec<String> = state
            .queries
            .values()
            .filter(|q| q.sources.contains(&d.name))
            .map(|q| q.id.clone())
            .collect();
        let writers: Vec<String> = state
            .queries
            .values()
            .filter(|q| q.sink.as_deref() == Some(&d.name))
            .map(|q| q.id.clone())
            .collect();
        drop(state);
        let records: i64 = (0..d.partitions)
            .map(|p| {
                engine.log.end_offset(&d.topic, p).unwrap_or(0) - engine.log.start_offset(&d.topic, p).unwrap_or(0)
            })
            .sum();
        title = format!(
            "Name                 : {}\nType                 : {}\nTimestamp field      : {}\nKey format           : {}\nValue format         : {}\nKafka topic          : {} (partitions: {})\nStatement            : {}\nQueries that read    : [{}]\nQueries that write   : [{}]\nRecords in topic     : {records}",
            d.name,
            d.kind_name(),
            d.timestamp
                .as_ref()
                .map(|t| t.column.clone())
                .unwrap_or_else(|| "Not set - using <ROWTIME>".into()),
            format_name(&d.key_format),
            format_name(&d.value_format),
            d.topic,
            d.partitions,
            d.sql,
            readers.join(", "),
            writers.join(", "),
        );
    }
    let mut set = RowSet::new(vec!["Field", "Type"], rows);
    set.title = Some(title);
    set
}

pub(super) fn describe(engine: &Arc<Engine>, target: &DescribeTarget, extended: bool) -> Result<StatementResult> {
    match target {
        DescribeTarget::Source(name) => {
            let desc = engine.state.lock().catalog.source(&name.value).cloned();
            match desc {
                Some(d) => Ok(StatementResult::Rows(describe_source(engine, &d, extended))),
                None => Err(Error::plan(format!(
                    "Could not find STREAM/TABLE '{}' in the Metastore",
                    name.value
                ))),
            }
        }
        DescribeTarget::Streams | DescribeTarget::Tables => {
            let kind = if matches!(target, DescribeTarget::Streams) {
                SourceKind::Stream
            } else {
                SourceKind::Table
            };
            let sources: Vec<Arc<SourceDesc>> = engine
                .state
                .lock()
                .catalog
                .sources()
                .filter(|d| d.kind == kind)
                .cloned()
                .collect();
            let mut rows = Vec::new();
            for d in sources {
                let set = describe_source(engine, &d, extended);
                for r in set.rows {
                    let mut row = vec![s(&d.name)];
                    row.extend(r);
                    rows.push(row);
                }
            }
            Ok(StatementResult::Rows(RowSet::new(
                vec!["Source", "Field", "Type"],
                rows,
            )))
        }
        DescribeTarget::Function(name) => {
            let scalar = engine.functions.scalar(&name.value);
            let aggregate = engine.functions.aggregate(&name.value);
            let (doc, kind) = match (&scalar, &aggregate) {
                (Some(f), _) => (f.doc(), "SCALAR"),
                (None, Some(a)) => (a.doc(), "AGGREGATE"),
                (None, None) => {
                    return Err(Error::plan(format!(
                        "Can't find any functions with the name '{}'",
                        name.value
                    )));
                }
            };
            let rows = doc
                .signatures
                .iter()
                .map(|sig| {
                    let args = sig
                        .args
                        .iter()
                        .map(|(n, t)| format!("{n} {t}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    vec![
                        s(format!("{}({args}{})", doc.name, if sig.variadic { "..." } else { "" })),
                        s(&sig.returns),
                        s(sig.description),
                    ]
                })
                .collect();
            let mut set = RowSet::new(vec!["Variation", "Returns", "Description"], rows);
            set.title = Some(format!(
                "Name        : {}\nOverview    : {}\nType        : {kind}\nCategory    : {}",
                doc.name, doc.description, doc.category
            ));
            Ok(StatementResult::Rows(set))
        }
    }
}

pub(super) fn explain(engine: &Arc<Engine>, target: &ExplainTarget, _config: &Config) -> Result<StatementResult> {
    let (id, sql, logical, topology) = match target {
        ExplainTarget::QueryId(id) => {
            let state = engine.state.lock();
            let Some(q) = state.queries.values().find(|q| q.id.eq_ignore_ascii_case(id)) else {
                return Err(Error::plan(format!(
                    "Query with id:{id} does not exist, use SHOW QUERIES to view the full set of queries."
                )));
            };
            (q.id.clone(), q.sql.clone(), q.logical_plan.clone(), q.topology.clone())
        }
        ExplainTarget::Statement(stmt) => {
            // The sink topic a persistent query would write (None for a transient query).
            let (query, purpose, sink, sink_topic) = match stmt.as_ref() {
                Statement::Query(q) => (q.as_ref(), QueryPurpose::Transient, String::new(), None),
                Statement::CreateAsSelect(c) => {
                    let topic = match c.properties.get("KAFKA_TOPIC").map(|p| &p.value) {
                        Some(Value::String(t)) => t.clone(),
                        _ => c.name.value.clone(),
                    };
                    (
                        c.query.as_ref(),
                        QueryPurpose::Persistent,
                        c.name.value.clone(),
                        Some(topic),
                    )
                }
                Statement::InsertInto { target, query, .. } => {
                    let topic = engine
                        .state
                        .lock()
                        .catalog
                        .source(&target.value)
                        .map(|d| d.topic.clone());
                    let topic = topic.unwrap_or_else(|| target.value.clone());
                    (
                        query.as_ref(),
                        QueryPurpose::Persistent,
                        target.value.clone(),
                        Some(topic),
                    )
                }
                other => {
                    return Err(Error::plan(format!(
                        "EXPLAIN works on queries and query ids, not on {}",
                        statement_word(other)
                    )));
                }
            };
            let plan = {
                let state = engine.state.lock();
                plan_query(query, &state.catalog, &engine.functions, purpose, &sink)?
            };
            let topology = match sink_topic {
                Some(topic) => {
                    let mut desc = (*plan.source).clone();
                    desc.name = sink.clone();
                    desc.topic = topic;
                    desc.schema = crate::types::Schema::new(plan.output_columns().to_vec());
                    build_topology(&plan.root, SinkTarget::Topic(Arc::new(desc)), false, "explain")?
                }
                None => {
                    let (tx, _rx) = std::sync::mpsc::sync_channel(1);
                    build_topology(&plan.root, SinkTarget::Channel(tx), false, "explain")?
                }
            };
            (
                "(not started)".to_string(),
                stmt.to_string(),
                plan.root.to_string(),
                topology.describe(),
            )
        }
    };
    let rows = vec![vec![s(id), s(sql), s(logical), s(topology)]];
    let mut set = RowSet::new(vec!["Query ID", "SQL", "Logical Plan", "Topology"], rows);
    set.vertical = true;
    Ok(StatementResult::Rows(set))
}

fn statement_word(s: &Statement) -> &'static str {
    match s {
        Statement::CreateSource(_) => "CREATE STREAM/TABLE",
        Statement::Drop { .. } => "DROP",
        _ => "this statement",
    }
}
