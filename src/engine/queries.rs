//! Queries: `CREATE ... AS SELECT`, `INSERT INTO ... SELECT`, push and pull `SELECT`,
//! `TERMINATE`, `PAUSE` and `RESUME`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;
use std::time::Duration;

use super::ddl::{With, ensure_topic, formats};
use super::result::{PushQuery, QueryHandle, RowSet, StatementResult};
use super::{Config, Engine, PersistentQuery};
use crate::error::{Error, Result};
use crate::log::TopicPartition;
use crate::plan::catalog::SourceDesc;
use crate::plan::lower::{SinkTarget, build_topology};
use crate::plan::query::{QueryPlan, QueryPurpose, plan_query};
use crate::runtime::batch::Batch;
use crate::runtime::query::{OffsetReset, QueryConfig, RunningQuery};
use crate::runtime::task::Task;
use crate::sql::ast::{CreateAsSelect, Emit, Ident, ParsedStatement, Properties, Query, SourceKind, TerminateTarget};
use crate::types::arrow::value_at;
use crate::types::{ColumnKind, SqlType, Value};

const SINK_PROPERTIES: &[&str] = &[
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

fn query_config(engine: &Engine, config: &Config, query_id: &str, group: Option<String>) -> Result<QueryConfig> {
    Ok(QueryConfig {
        query_id: query_id.to_string(),
        group,
        threads: config.get_u64("num.stream.threads")?.max(1) as usize,
        commit_interval: Duration::from_millis(config.get_u64("commit.interval.ms")?),
        offset_reset: match config.get("auto.offset.reset").as_deref() {
            Some("latest") => OffsetReset::Latest,
            _ => OffsetReset::Earliest,
        },
        max_poll_records: config.get_u64("max.poll.records")?.max(1) as usize,
        stop_at: None,
        cache_max_bytes: config.get_u64("statestore.cache.max.bytes")?,
        state: crate::state::StateConfig {
            state_dir: config
                .get("state.dir")
                .filter(|s| !s.is_empty())
                .map(std::path::PathBuf::from)
                .or_else(|| engine.data_dir().map(|d| d.join("state"))),
            store: crate::state::StoreKind::parse(config.get("runnel.state.store").as_deref().unwrap_or("rocksdb"))
                .ok_or_else(|| Error::config("runnel.state.store must be rocksdb or memory"))?,
            exactly_once: exactly_once(config),
            store_cache_bytes: config.get_u64("runnel.state.store.cache.max.bytes")?,
            checkpoint_records: config.get_u64("runnel.state.checkpoint.records")?,
        },
        exactly_once: exactly_once(config),
        fail_on_invalid_timestamp: config
            .get("ksql.timestamp.throw.on.invalid")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
    })
}

/// `processing.guarantee` asks for exactly-once processing.
fn exactly_once(config: &Config) -> bool {
    matches!(
        config.get("processing.guarantee").as_deref(),
        Some("exactly_once_v2" | "exactly_once")
    )
}

/// The consumer group of a persistent query (ksqlDB: `_confluent-ksql-<service>query_<id>`).
pub(crate) fn group_of(engine: &Engine, query_id: &str) -> String {
    format!("_runnel-{}query_{query_id}", engine.service_id())
}

/// Creates the internal topics a topology needs (they may exist already from an earlier run);
/// returns their names.
fn create_internal_topics(engine: &Engine, topology: &crate::topology::Topology) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for (topic, partitions) in topology.internal_topics() {
        let mut config = crate::log::TopicConfig::new(*partitions);
        config.configs.insert("cleanup.policy".into(), "delete".into());
        match engine.log.create_topic(topic, &config) {
            Ok(()) | Err(crate::log::LogError::TopicExists(_)) => names.push(topic.clone()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(names)
}

/// Registers a persistent query and, unless replaying, starts it.
#[allow(clippy::too_many_arguments)]
pub(super) fn register_query(
    engine: &Arc<Engine>,
    id: String,
    sql: &str,
    plan: &QueryPlan,
    sink: Arc<SourceDesc>,
    config: &Config,
    table_semantics: bool,
) -> Result<()> {
    let app_id = group_of(engine, &id);
    // A query over a source table writes no topic: it only keeps the table in a store.
    let materialize_only = sink.name == plan.source.name;
    let target = move |sink: Arc<SourceDesc>| {
        if materialize_only {
            SinkTarget::Materialize(sink)
        } else {
            SinkTarget::Topic(sink)
        }
    };
    let topology = build_topology(&plan.root, target(sink.clone()), table_semantics, &app_id)?;
    let describe = topology.describe();
    drop(topology);
    let root = plan.root.clone();
    let qc = query_config(engine, config, &id, Some(app_id.clone()))?;
    let sink_for_start = sink.clone();
    let starter: super::QueryStarter = Arc::new(move |engine: &Engine| {
        let topology = build_topology(&root, target(sink_for_start.clone()), table_semantics, &app_id)?;
        create_internal_topics(engine, &topology)?;
        RunningQuery::start(
            topology.to_graphs(),
            engine.log.clone(),
            qc.clone(),
            engine.timestamp_parser(),
        )
    });
    let running = if engine.is_replaying() {
        None
    } else {
        Some(starter(engine)?)
    };
    let query = PersistentQuery {
        id: id.clone(),
        sql: sql.to_string(),
        sink: Some(sink.name.clone()),
        sink_topic: if materialize_only {
            None
        } else {
            Some(sink.topic.clone())
        },
        sources: vec![plan.source.name.clone()],
        logical_plan: plan.root.to_string(),
        topology: describe,
        running,
        paused: false,
        view: Arc::new(crate::plan::view::view_of(&plan.root)?),
        starter,
    };
    engine.state.lock().queries.insert(id, query);
    Ok(())
}

/// `CREATE [OR REPLACE] STREAM|TABLE name [WITH (...)] AS SELECT ...`
pub(super) fn create_as_select(
    engine: &Arc<Engine>,
    stmt: &ParsedStatement,
    c: &CreateAsSelect,
    config: &Config,
) -> Result<StatementResult> {
    let name = c.name.value.clone();
    let with = With(&c.properties);
    with.check_known(SINK_PROPERTIES)?;
    let functions = engine.functions_for(config)?;
    let (plan, existing) = {
        let state = engine.state.lock();
        let plan = plan_query(&c.query, &state.catalog, &functions, QueryPurpose::Persistent, &name)?;
        (plan, state.catalog.source(&name).cloned())
    };
    match (plan.result_kind, c.kind) {
        (SourceKind::Table, SourceKind::Stream) => {
            return Err(Error::plan(
                "Invalid result type. Your SELECT query produces a TABLE. Please use CREATE TABLE AS SELECT statement instead.",
            ));
        }
        (SourceKind::Stream, SourceKind::Table) => {
            return Err(Error::plan(
                "Invalid result type. Your SELECT query produces a STREAM. Please use CREATE STREAM AS SELECT statement instead.",
            ));
        }
        _ => {}
    }
    if c.query.limit.is_some() {
        let what = if c.kind == SourceKind::Stream {
            "CREATE STREAM AS SELECT"
        } else {
            "CREATE TABLE AS SELECT"
        };
        return Err(Error::plan(format!("{what} statements don't support LIMIT clause.")));
    }
    if c.query.emit == Some(Emit::Final) {
        return Err(Error::plan("EMIT FINAL is only supported for windowed aggregations."));
    }
    if plan.source.name == name {
        return Err(Error::plan(format!(
            "Cannot insert into {name}: it is the query's own source"
        )));
    }
    let mut replaced = None;
    if let Some(existing) = &existing {
        if c.if_not_exists {
            return Ok(StatementResult::Message(format!(
                "Cannot add {} {name}: it already exists.",
                existing.kind_name().to_lowercase()
            )));
        }
        if !c.or_replace {
            return Err(Error::plan(format!(
                "Cannot add {} '{name}': A {} with the same name already exists",
                if c.kind == SourceKind::Stream {
                    "stream"
                } else {
                    "table"
                },
                existing.kind_name().to_lowercase()
            )));
        }
        replaced = existing.written_by.clone();
    }
    let topic = match with.string("KAFKA_TOPIC")? {
        Some(topic) => topic,
        None => format!(
            "{}{name}",
            config.get("ksql.output.topic.name.prefix").unwrap_or_default()
        ),
    };
    let inherit = (&plan.source.key_format, &plan.source.value_format);
    let out = plan.output_columns();
    let value_columns = out.iter().filter(|c| c.kind == ColumnKind::Value).count();
    let (key_format, value_format) = formats(&with, Some(inherit), config, value_columns)?;
    super::ddl::refuse_key_format_without_key(&with, c.kind, out.iter().any(|c| c.kind == ColumnKind::Key))?;
    let pairs = |kind: ColumnKind| -> Vec<(String, SqlType)> {
        out.iter()
            .filter(|c| c.kind == kind)
            .map(|c| (c.name.clone(), c.ty.clone()))
            .collect()
    };
    key_format.validate(&pairs(ColumnKind::Key), true)?;
    value_format.validate(&pairs(ColumnKind::Value), false)?;
    let timestamp = super::ddl::timestamp_column(&with, &crate::types::Schema::new(out.to_vec()))?;
    let partitions = with.int("PARTITIONS")?.or_else(|| {
        // A new sink topic takes the source's partition count.
        Some(plan.source.partitions as i64)
    });
    let existing_topic = engine.log.describe_topic(&topic)?;
    let partitions = ensure_topic(
        engine,
        &topic,
        if existing_topic.is_some() {
            with.int("PARTITIONS")?
        } else {
            partitions
        },
        with.int("REPLICAS")?,
    )?;
    let offset = engine.command_offset()?;
    let prefix = if c.kind == SourceKind::Stream { "CSAS" } else { "CTAS" };
    let id = replaced.clone().unwrap_or_else(|| format!("{prefix}_{name}_{offset}"));
    let schema = crate::types::Schema::new(out.to_vec());
    let sink = Arc::new(SourceDesc {
        name: name.clone(),
        kind: c.kind,
        schema,
        topic: topic.clone(),
        partitions,
        key_format,
        value_format,
        timestamp,
        sql: stmt.text.clone(),
        is_source: false,
        written_by: Some(id.clone()),
    });
    engine.record_command(&stmt.text)?;
    if let Some(old) = &replaced
        && let Some(q) = engine.state.lock().queries.remove(old)
        && let Some(r) = q.running
    {
        r.stop();
    }
    engine.state.lock().catalog.put_source((*sink).clone());
    register_query(
        engine,
        id.clone(),
        &stmt.text,
        &plan,
        sink,
        config,
        c.kind == SourceKind::Table,
    )?;
    Ok(StatementResult::Message(format!("Created query with ID {id}")))
}

/// `INSERT INTO target [WITH (QUERY_ID='...')] SELECT ...`
pub(super) fn insert_into(
    engine: &Arc<Engine>,
    stmt: &ParsedStatement,
    target: &Ident,
    properties: &Properties,
    query: &Query,
    config: &Config,
) -> Result<StatementResult> {
    let with = With(properties);
    with.check_known(&["QUERY_ID"])?;
    if query.limit.is_some() {
        return Err(Error::plan("INSERT INTO statements don't support LIMIT clause."));
    }
    let functions = engine.functions_for(config)?;
    let (plan, sink) = {
        let state = engine.state.lock();
        let Some(sink) = state.catalog.source(&target.value).cloned() else {
            return Err(Error::plan(format!("{} does not exist.", target.value)));
        };
        (
            plan_query(
                query,
                &state.catalog,
                &functions,
                QueryPurpose::Persistent,
                &target.value,
            )?,
            sink,
        )
    };
    if sink.kind != SourceKind::Stream {
        return Err(Error::plan(format!(
            "INSERT INTO can only be used to insert into a stream. {} is a table.",
            sink.name
        )));
    }
    if plan.result_kind != SourceKind::Stream {
        return Err(Error::plan(format!(
            "INSERT INTO {} needs a query producing a stream, but it reads the table {}",
            sink.name, plan.source.name
        )));
    }
    if sink.is_source {
        return Err(Error::plan(format!(
            "Cannot insert into read-only {}: {}",
            sink.kind_name().to_lowercase(),
            sink.name
        )));
    }
    if sink
        .schema
        .columns
        .iter()
        .any(|c| matches!(c.kind, crate::types::ColumnKind::Header(_)))
    {
        // The query's rows have no headers to write into them (ksqlDB refuses the same).
        return Err(Error::plan(format!(
            "Cannot insert into {} because it has header columns",
            sink.name
        )));
    }
    let result: Vec<(String, SqlType, bool)> = plan
        .output_columns()
        .iter()
        .map(|c| (c.name.clone(), c.ty.clone(), c.kind == ColumnKind::Key))
        .collect();
    let target_cols: Vec<(String, SqlType, bool)> = sink
        .schema
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.ty.clone(), c.kind == ColumnKind::Key))
        .collect();
    if result != target_cols {
        let show = |cols: &[(String, SqlType, bool)]| {
            cols.iter()
                .map(|(n, t, k)| format!("`{n}` {t}{}", if *k { " KEY" } else { "" }))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(Error::plan(format!(
            "Incompatible schema between results and sink.\nResult schema is {}\nSink schema is {}",
            show(&result),
            show(&target_cols)
        )));
    }
    let offset = engine.command_offset()?;
    let id = match with.string("QUERY_ID")? {
        Some(id) => id.to_uppercase(),
        None => format!("INSERTQUERY_{offset}"),
    };
    if engine.state.lock().queries.contains_key(&id) {
        return Err(Error::plan(format!("Query ID '{id}' already exists.")));
    }
    engine.record_command(&stmt.text)?;
    // The target's TIMESTAMP column says where its readers take event time from; records
    // written into it keep the query's own timestamps (ksqlDB stamps a sink from a column only
    // for the WITH clause of a CREATE ... AS SELECT).
    let target = Arc::new(SourceDesc {
        timestamp: None,
        ..(*sink).clone()
    });
    register_query(engine, id.clone(), &stmt.text, &plan, target, config, false)?;
    Ok(StatementResult::Message(format!("Created query with ID {id}")))
}

/// A `SELECT`: a push query with `EMIT`, a pull query without.
pub(super) fn select(engine: &Arc<Engine>, query: &Query, config: &Config) -> Result<StatementResult> {
    let functions = engine.functions_for(config)?;
    let (plan, id) = {
        let mut state = engine.state.lock();
        let plan = plan_query(query, &state.catalog, &functions, QueryPurpose::Transient, "")?;
        state.transient_counter += 1;
        let id = format!("transient_{}_{}", plan.source.name, state.transient_counter);
        (plan, id)
    };
    let columns: Vec<String> = plan.output_columns().iter().map(|c| c.name.clone()).collect();
    match query.emit {
        Some(Emit::Final) => Err(Error::plan("EMIT FINAL is only supported for windowed aggregations.")),
        Some(Emit::Changes) => {
            let (tx, rx) = sync_channel::<Batch>(64);
            let topology = build_topology(&plan.root, SinkTarget::Channel(tx), false, &id)?;
            let internal = create_internal_topics(engine, &topology)?;
            let graph = topology.to_graphs();
            drop(topology);
            let qc = query_config(engine, config, &id, None)?;
            let running = RunningQuery::start(graph, engine.log.clone(), qc, engine.timestamp_parser())?;
            let positions = running.positions_handle();
            let lag_log = engine.log.clone();
            let push = PushQuery::new(id, columns, rx, QueryHandle::Query(running), plan.limit);
            // A stream without value columns (VALUE_FORMAT='NONE') has no value in any
            // record: its records are events all the same.
            let has_values = plan.source.schema.value_columns().next().is_some();
            let push = if plan.result_kind == SourceKind::Stream && has_values {
                push.skipping_tombstones()
            } else {
                push
            };
            let mut push = push.with_lag(move || {
                let positions = positions.lock().clone();
                let mut lag = 0i64;
                for (tp, position) in positions {
                    lag += (lag_log.end_offset(&tp.topic, tp.partition).ok()? - position).max(0);
                }
                Some(lag)
            });
            if !internal.is_empty() {
                // A transient query's internal topics go away with it.
                let log = engine.log.clone();
                push.on_stop(Box::new(move || {
                    for t in internal {
                        let _ = log.delete_topic(&t);
                    }
                }));
            }
            Ok(StatementResult::Stream(push))
        }
        None => {
            let source = &plan.source;
            if plan.limit.is_some()
                && config
                    .get("ksql.query.pull.limit.clause.enabled")
                    .is_some_and(|v| v.eq_ignore_ascii_case("false"))
            {
                return Err(Error::plan(
                    "LIMIT clause in pull queries is currently disabled. You can enable them by setting ksql.query.pull.limit.clause.enabled=true. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.",
                ));
            }
            if source.kind == SourceKind::Stream && (query.offset.is_some() || !query.order_by.is_empty()) {
                return Err(Error::plan(
                    "ORDER BY and OFFSET are only supported in pull queries on tables",
                ));
            }
            if source.kind == SourceKind::Table && !source.is_source && source.written_by.is_none() {
                return Err(Error::plan(format!(
                    "The `{0}` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_{0} AS SELECT * FROM {0}'. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.",
                    source.name
                )));
            }
            let off = |name: &str| config.get(name).is_some_and(|v| v.eq_ignore_ascii_case("false"));
            if source.kind == SourceKind::Table && off("ksql.query.pull.table.scan.enabled") {
                super::key_access::require_key_access(
                    query.selection.as_ref(),
                    source,
                    !off("ksql.query.pull.range.scan.enabled"),
                )?;
            }
            let mut rows = match super::pull::pull_from_state(engine, query, &plan, &id, config)? {
                Some(rows) => rows,
                None => pull_scan(engine, &plan, &id, config)?,
            };
            super::pull::order_and_page(&mut rows, &columns, &query.order_by, query.offset, plan.limit)?;
            Ok(StatementResult::Rows(RowSet {
                columns: columns.iter().map(|c| c.to_string()).collect(),
                rows,
                vertical: false,
                title: None,
            }))
        }
    }
}

/// A pull query answered by scanning the source topic up to the end offsets taken now: every
/// record of a stream, or the latest row per key of a table. Reading to the offsets taken at
/// the start is what makes it see every write that came before it.
fn pull_scan(engine: &Arc<Engine>, plan: &QueryPlan, id: &str, config: &Config) -> Result<Vec<Vec<Value>>> {
    let source = &plan.source;
    if let Some(writer) = &source.written_by {
        // Read-your-writes: the query writing this source first catches up with what its own
        // sources held when this query arrived.
        let wait = Duration::from_millis(config.get_u64("runnel.pull.wait.ms")?);
        engine.wait_for_query(writer, wait)?;
    }
    let (tx, rx) = sync_channel::<Batch>(1024);
    if matches!(plan.root, crate::plan::logical::LogicalPlan::Project { ref input, .. } if matches!(**input, crate::plan::logical::LogicalPlan::Aggregate { .. } | crate::plan::logical::LogicalPlan::Filter { .. }) && has_aggregate(&plan.root))
    {
        return Err(Error::plan(
            "Pull queries don't support GROUP BY clauses. Use a push query (EMIT CHANGES), or query the table a CREATE TABLE AS SELECT materializes.",
        ));
    }
    let topology = build_topology(&plan.root, SinkTarget::Channel(tx), false, id)?;
    let graph = Arc::new(topology.to_graph());
    drop(topology);
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let width = plan.output_columns().len();
    let limit = plan.limit.map(|l| l as usize);
    let drain = |rows: &mut Vec<Vec<Value>>| {
        while let Ok(batch) = rx.try_recv() {
            for r in 0..batch.len {
                rows.push((0..width).map(|c| value_at(batch.columns[c].as_ref(), r)).collect());
            }
        }
    };
    for partition in 0..source.partitions {
        let start = engine.log.start_offset(&source.topic, partition)?;
        let end = engine.log.end_offset(&source.topic, partition)?;
        if end <= start {
            continue;
        }
        let mut task = Task::new(
            id,
            0,
            partition,
            graph.clone(),
            engine.log.clone(),
            engine.timestamp_parser(),
            None,
        )?;
        let mut consumer = engine.log.consumer()?;
        let tp = TopicPartition::new(source.topic.clone(), partition);
        consumer.assign(&[(tp.clone(), start)])?;
        let mut latest: BTreeMap<Option<Vec<u8>>, crate::log::ConsumedRecord> = BTreeMap::new();
        let mut position = start;
        while position < end {
            let mut records = consumer.poll(10_000, Duration::from_millis(500))?;
            if records.is_empty() {
                break;
            }
            records.retain(|r| r.offset < end);
            position = records.last().map(|r| r.offset + 1).unwrap_or(end);
            if source.kind == SourceKind::Table {
                for r in records {
                    latest.insert(r.record.key.as_ref().map(|k| k.to_vec()), r);
                }
            } else {
                let log = task.process(0, &records)?;
                crate::runtime::processing_log::write_entries(engine.log.as_ref(), id, &log);
                drain(&mut rows);
                if limit.is_some_and(|l| rows.len() >= l) {
                    break;
                }
            }
        }
        if source.kind == SourceKind::Table {
            let mut live: Vec<crate::log::ConsumedRecord> = latest
                .into_values()
                .filter(|r| r.record.value.is_some() && r.record.key.is_some())
                .collect();
            live.sort_by_key(|r| r.offset);
            if !live.is_empty() {
                task.process(0, &live)?;
                drain(&mut rows);
            }
        }
        task.close();
        if limit.is_some_and(|l| rows.len() >= l) {
            break;
        }
    }
    if let Some(l) = limit {
        rows.truncate(l);
    }
    Ok(rows)
}

fn has_aggregate(plan: &crate::plan::logical::LogicalPlan) -> bool {
    use crate::plan::logical::LogicalPlan;
    match plan {
        LogicalPlan::Aggregate { .. } => true,
        LogicalPlan::Source { .. } => false,
        LogicalPlan::Filter { input, .. } | LogicalPlan::FlatMap { input, .. } | LogicalPlan::Project { input, .. } => {
            has_aggregate(input)
        }
    }
}

fn find_ids(engine: &Engine, target: &TerminateTarget) -> Result<Vec<String>> {
    let state = engine.state.lock();
    match target {
        TerminateTarget::All => Ok(state.queries.keys().cloned().collect()),
        TerminateTarget::Query(id) => match state.queries.keys().find(|k| k.eq_ignore_ascii_case(id)) {
            Some(k) => Ok(vec![k.clone()]),
            None => Err(Error::execution(format!(
                "Unknown queryId: {id}. Use SHOW QUERIES; to see the running queries."
            ))),
        },
    }
}

/// `TERMINATE id|ALL`
pub(super) fn terminate(
    engine: &Arc<Engine>,
    stmt: &ParsedStatement,
    target: &TerminateTarget,
) -> Result<StatementResult> {
    let ids = find_ids(engine, target)?;
    engine.record_command(&stmt.text)?;
    let mut stopped = Vec::new();
    let replaying = engine.is_replaying();
    for id in &ids {
        let removed = engine.state.lock().queries.remove(id);
        if let Some(q) = removed {
            if let Some(r) = q.running {
                r.stop();
            }
            if !replaying {
                // A query id used again later must not resume from the terminated one's offsets.
                engine.log.delete_group(&group_of(engine, id))?;
            }
            if let Some(sink) = &q.sink {
                let mut state = engine.state.lock();
                if let Some(desc) = state.catalog.source(sink).cloned()
                    && desc.written_by.as_deref() == Some(id.as_str())
                {
                    let mut d = (*desc).clone();
                    d.written_by = None;
                    state.catalog.put_source(d);
                }
            }
            stopped.push(id.clone());
        }
    }
    Ok(StatementResult::Message(match target {
        TerminateTarget::All => format!("Terminated {} queries: [{}]", stopped.len(), stopped.join(", ")),
        TerminateTarget::Query(_) => format!("Query terminated: {}", stopped.join(", ")),
    }))
}

/// `PAUSE id|ALL` and `RESUME id|ALL`
pub(super) fn pause(
    engine: &Arc<Engine>,
    stmt: &ParsedStatement,
    target: &TerminateTarget,
    pause: bool,
) -> Result<StatementResult> {
    let ids = find_ids(engine, target)?;
    engine.record_command(&stmt.text)?;
    for id in &ids {
        let (running, starter) = {
            let mut state = engine.state.lock();
            let Some(q) = state.queries.get_mut(id) else {
                continue;
            };
            q.paused = pause;
            (q.running.take(), q.starter.clone())
        };
        if let Some(r) = running {
            r.stop();
        }
        if !pause && !engine.is_replaying() {
            let r = starter(engine)?;
            if let Some(q) = engine.state.lock().queries.get_mut(id) {
                q.running = Some(r);
            }
        }
    }
    Ok(StatementResult::Message(format!(
        "{} {} queries: [{}]",
        if pause { "Paused" } else { "Resumed" },
        ids.len(),
        ids.join(", ")
    )))
}
