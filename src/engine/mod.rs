//! The engine: executes statements against the catalog, the log and the running queries.
//!
//! Every statement that changes what exists (DDL, persistent queries, `TERMINATE`) is first
//! validated, then appended to the command topic, then applied — so a restart, which
//! replays the command topic, rebuilds the same catalog and restarts the same queries from
//! their committed offsets, as ksqlDB's command topic does.

mod commands;
pub mod config;
mod ddl;
mod describe;
mod insert;
mod key_access;
mod print;
mod pull;
mod queries;
pub mod result;

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

pub use config::Config;
pub use result::{PushPoll, PushProgress, PushQuery, RowSet, StatementResult};

use crate::error::{Error, Result};
use crate::function::FunctionRegistry;
use crate::log::{Log, LogError, TopicConfig};
use crate::plan::catalog::Catalog;
use crate::runtime::processing_log::PROCESSING_LOG_TOPIC;
use crate::runtime::query::RunningQuery;
use crate::sql::ast::{ParsedStatement, Statement};

/// Per-client state: `SET` overrides and `DEFINE` variables.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Properties set with `SET`.
    pub overrides: Config,
    /// Variables defined with `DEFINE` or `--define`.
    pub variables: BTreeMap<String, String>,
}

/// Starts (or restarts) a persistent query.
pub(crate) type QueryStarter = Arc<dyn Fn(&Engine) -> Result<RunningQuery> + Send + Sync>;

/// A persistent query the engine runs.
pub(crate) struct PersistentQuery {
    pub id: String,
    pub sql: String,
    pub sink: Option<String>,
    pub sink_topic: Option<String>,
    pub sources: Vec<String>,
    pub logical_plan: String,
    pub topology: String,
    pub running: Option<RunningQuery>,
    pub paused: bool,
    /// How pull queries read the table it writes.
    pub view: Arc<crate::plan::view::TableView>,
    /// What rebuilds the query on RESUME or at the end of a replay.
    pub starter: QueryStarter,
}

pub(crate) struct EngineState {
    pub catalog: Catalog,
    pub queries: BTreeMap<String, PersistentQuery>,
    pub transient_counter: u64,
}

/// The engine.
pub struct Engine {
    log: Arc<dyn Log>,
    config: Mutex<Config>,
    functions: Arc<FunctionRegistry>,
    state: Mutex<EngineState>,
    /// Offsets of the commands this process recorded (the follower skips them).
    own_commands: Mutex<std::collections::BTreeSet<i64>>,
    /// Stops the command-topic follower.
    follower_stop: Arc<std::sync::atomic::AtomicBool>,
    follower: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The data directory of the embedded log, when the engine runs on one.
    data_dir: Option<std::path::PathBuf>,
    /// Topics replayed statements asked for, created once the replay shows they are still used.
    deferred_topics: Mutex<Vec<(String, TopicConfig)>>,
}

impl Engine {
    /// Opens an engine on `log`: makes sure its internal topics exist, then replays the
    /// command topic and restarts every persistent query it names.
    pub fn open(log: Arc<dyn Log>, config: Config) -> Result<Arc<Engine>> {
        Self::open_with_data_dir(log, config, None)
    }

    /// Opens an engine whose embedded log lives in `data_dir`: local state goes under it.
    pub fn open_with_data_dir(
        log: Arc<dyn Log>,
        config: Config,
        data_dir: Option<std::path::PathBuf>,
    ) -> Result<Arc<Engine>> {
        let engine = Arc::new(Engine {
            log,
            config: Mutex::new(config),
            functions: Arc::new(FunctionRegistry::new()),
            state: Mutex::new(EngineState {
                catalog: Catalog::new(),
                queries: BTreeMap::new(),
                transient_counter: 0,
            }),
            own_commands: Mutex::new(std::collections::BTreeSet::new()),
            follower_stop: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            follower: Mutex::new(None),
            data_dir,
            deferred_topics: Mutex::new(Vec::new()),
        });
        engine.ensure_topic(&engine.command_topic(), 1)?;
        engine.ensure_topic(PROCESSING_LOG_TOPIC, 1)?;
        engine.register_processing_log();
        let next = commands::replay(&engine)?;
        // Other processes of the service may record commands on a shared log: follow them.
        if engine.log.is_shared() {
            let (follower_engine, stop) = (Arc::downgrade(&engine), engine.follower_stop.clone());
            let handle = std::thread::Builder::new()
                .name("command-follower".into())
                .spawn(move || {
                    if let Some(engine) = follower_engine.upgrade() {
                        commands::follow(&engine, next, &stop);
                    }
                })
                .map_err(|e| Error::execution(format!("cannot start the command follower: {e}")))?;
            *engine.follower.lock() = Some(handle);
        }
        Ok(engine)
    }

    fn ensure_topic(&self, name: &str, partitions: i32) -> Result<()> {
        match self.log.create_topic(name, &TopicConfig::new(partitions)) {
            Ok(()) | Err(LogError::TopicExists(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The data directory of the embedded log, if the engine runs on one.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.data_dir.as_deref()
    }

    /// The log the engine runs on.
    pub fn log(&self) -> &Arc<dyn Log> {
        &self.log
    }

    /// The function registry.
    pub fn functions(&self) -> &FunctionRegistry {
        &self.functions
    }

    /// The function registry for a statement run with `config`: the engine's, unless the
    /// `ksql.functions.*` properties in force configure the aggregates differently.
    pub(crate) fn functions_for(&self, config: &Config) -> Result<Arc<FunctionRegistry>> {
        let explicit = config.explicit();
        let cfg =
            crate::function::AggregateConfig::from_properties(explicit.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map_err(Error::config)?;
        if cfg == crate::function::AggregateConfig::default() {
            Ok(self.functions.clone())
        } else {
            Ok(Arc::new(FunctionRegistry::with_aggregate_config(&cfg)))
        }
    }

    /// The engine-wide configuration.
    pub fn config(&self) -> Config {
        self.config.lock().clone()
    }

    /// `runnel.service.id`
    pub fn service_id(&self) -> String {
        self.config()
            .get("runnel.service.id")
            .unwrap_or_else(|| "default_".into())
    }

    /// The command topic's name.
    pub fn command_topic(&self) -> String {
        format!("_runnel-{}_command_topic", self.service_id())
    }

    /// The stream or table over `topic`, if any (the first by name).
    pub fn source_for_topic(&self, topic: &str) -> Option<Arc<crate::plan::catalog::SourceDesc>> {
        self.state.lock().catalog.sources().find(|s| s.topic == topic).cloned()
    }

    /// Names of every stream and table (for shell completion).
    pub fn source_names(&self) -> Vec<String> {
        self.state.lock().catalog.sources().map(|s| s.name.clone()).collect()
    }

    /// Column names of every source (for shell completion).
    pub fn column_names(&self) -> Vec<String> {
        let state = self.state.lock();
        let mut names: Vec<String> = state
            .catalog
            .sources()
            .flat_map(|s| s.schema.columns.iter().map(|c| c.name.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Parses and executes every statement of `text` in order, stopping at the first error.
    /// Variables are substituted statement by statement, so a `DEFINE` applies to the
    /// statements after it.
    pub fn execute_text(self: &Arc<Self>, text: &str, session: &mut Session) -> Result<Vec<StatementResult>> {
        let (statements, rest) = crate::sql::split_statements(text);
        let mut out = Vec::new();
        let rest_is_blank = crate::sql::split_statements(&format!("{rest};"))
            .0
            .iter()
            .all(|s| s.trim().trim_end_matches(';').trim().is_empty());
        for stmt in statements
            .iter()
            .map(String::as_str)
            .chain(if rest_is_blank { None } else { Some(rest.as_str()) })
        {
            for parsed in self.parse(stmt, session)? {
                out.push(self.execute(&parsed, session)?);
            }
        }
        Ok(out)
    }

    /// Substitutes session variables into `text` and parses it.
    pub fn parse(&self, text: &str, session: &Session) -> Result<Vec<ParsedStatement>> {
        let text = crate::sql::substitute_variables(text, &session.variables)?;
        let types = self.state.lock().catalog.custom_types().clone();
        Ok(crate::sql::parse_with_types(&text, &types)?)
    }

    /// Executes one parsed statement.
    pub fn execute(self: &Arc<Self>, stmt: &ParsedStatement, session: &mut Session) -> Result<StatementResult> {
        let config = self.config().with_overrides(&session.overrides);
        commands::set_session_overrides(session.overrides.explicit());
        match &stmt.statement {
            Statement::CreateSource(c) => ddl::create_source(self, stmt, c, &config),
            Statement::CreateAsSelect(c) => queries::create_as_select(self, stmt, c, &config),
            Statement::InsertInto {
                target,
                properties,
                query,
            } => queries::insert_into(self, stmt, target, properties, query, &config),
            Statement::InsertValues {
                target,
                columns,
                values,
            } => insert::insert_values(self, target, columns.as_deref(), values),
            Statement::Query(q) => queries::select(self, q, &config),
            Statement::Drop {
                kind,
                if_exists,
                name,
                delete_topic,
            } => ddl::drop_source(self, stmt, *kind, *if_exists, name, *delete_topic),
            Statement::CreateType {
                if_not_exists,
                name,
                data_type,
            } => ddl::create_type(self, stmt, *if_not_exists, name, data_type),
            Statement::DropType { if_exists, name } => ddl::drop_type(self, stmt, *if_exists, name),
            Statement::AlterSource {
                kind,
                name,
                add_columns,
            } => ddl::alter_source(self, stmt, *kind, name, add_columns),
            Statement::Terminate(target) => queries::terminate(self, stmt, target),
            Statement::Pause(target) => queries::pause(self, stmt, target, true),
            Statement::Resume(target) => queries::pause(self, stmt, target, false),
            Statement::Show { what, extended } => describe::show(self, *what, *extended, session),
            Statement::Describe { target, extended } => describe::describe(self, target, *extended),
            Statement::Explain(target) => describe::explain(self, target, &config),
            Statement::Print {
                topic,
                from_beginning,
                interval,
                limit,
            } => print::print(self, topic, *from_beginning, *interval, *limit),
            Statement::Set { name, value } => {
                session.overrides.set(name, value)?;
                Ok(StatementResult::Message(format!(
                    "Successfully changed local property '{name}' to '{value}'."
                )))
            }
            Statement::Unset { name } => {
                session.overrides.unset(name);
                Ok(StatementResult::Message(format!(
                    "Successfully unset local property '{name}'."
                )))
            }
            Statement::AlterSystem { name, value } => {
                if name == "runnel.service.id" {
                    return Err(Error::config(
                        "runnel.service.id names the command topic and cannot change while the engine runs; set it in the config file or with --set and restart",
                    ));
                }
                self.config.lock().set(name, value)?;
                Ok(StatementResult::Message(format!(
                    "Successfully changed system property '{name}' to '{value}'."
                )))
            }
            Statement::Define { name, value } => {
                session.variables.insert(name.clone(), value.clone());
                Ok(StatementResult::Message(format!(
                    "Defined variable {name} as '{value}'."
                )))
            }
            Statement::Undefine { name } => match session.variables.remove(name) {
                Some(_) => Ok(StatementResult::Message(format!("Undefined variable {name}."))),
                None => Err(Error::execution(format!(
                    "Cannot undefine variable '{name}' which was never defined"
                ))),
            },
            Statement::RunScript { .. } => Err(Error::execution(
                "RUN SCRIPT is run by the shell, which reads the file on the client; send the file's statements instead",
            )),
        }
    }

    /// Parses `TIMESTAMP_FORMAT` timestamps (Java `DateTimeFormatter` patterns).
    pub(crate) fn timestamp_parser(&self) -> Option<crate::runtime::source::TimestampParser> {
        Some(crate::function::parse_timestamp_pattern)
    }

    /// Waits until every running persistent query has processed everything written to its
    /// sources so far — including what other queries write meanwhile — or `timeout` passes.
    /// Returns whether it got there.
    pub fn wait_until_idle(&self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut stable_rounds = 0;
        while std::time::Instant::now() < deadline {
            let caught_up = {
                let state = self.state.lock();
                // A failed or stopped query will not move on; it does not hold the others up.
                state
                    .queries
                    .values()
                    .filter_map(|q| q.running.as_ref())
                    .filter(|r| r.state() == crate::runtime::query::QueryState::Running)
                    .all(|r| {
                        let ends: BTreeMap<_, _> = r
                            .source_partitions()
                            .into_iter()
                            .map(|tp| {
                                let end = self.log.end_offset(&tp.topic, tp.partition).unwrap_or(0);
                                (tp, end)
                            })
                            .collect();
                        r.has_processed_up_to(&ends)
                    })
            };
            // Two checks in a row: a query that just caught up may have written more input
            // for another one.
            stable_rounds = if caught_up { stable_rounds + 1 } else { 0 };
            if stable_rounds >= 2 {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        false
    }

    /// Waits until query `id` — after the queries feeding its sources — has processed every
    /// record its sources hold now; errors saying how far behind it is after `timeout`.
    pub fn wait_for_query(&self, id: &str, timeout: std::time::Duration) -> Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        let mut order = Vec::new();
        self.upstream_queries(id, &mut order);
        for qid in order {
            // Its internal topics are named after its consumer group.
            let internal_prefix = queries::group_of(self, &qid);
            let ends = {
                let state = self.state.lock();
                let Some(r) = state.queries.get(&qid).and_then(|q| q.running.as_ref()) else {
                    continue;
                };
                r.source_ends(self.log.as_ref(), &internal_prefix)
            };
            loop {
                let done = {
                    let state = self.state.lock();
                    state
                        .queries
                        .get(&qid)
                        .and_then(|q| q.running.as_ref())
                        .is_none_or(|r| r.caught_up(self.log.as_ref(), &ends))
                };
                if done {
                    break;
                }
                if std::time::Instant::now() >= deadline {
                    return Err(Error::execution(format!(
                        "query {qid} has not caught up with its input within runnel.pull.wait.ms ({} ms); try again, or raise runnel.pull.wait.ms",
                        timeout.as_millis()
                    )));
                }
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
        Ok(())
    }

    /// `id` and every query upstream of it, upstream first.
    fn upstream_queries(&self, id: &str, out: &mut Vec<String>) {
        let mut visiting = std::collections::BTreeSet::new();
        self.upstream_from(id, out, &mut visiting);
    }

    fn upstream_from(&self, id: &str, out: &mut Vec<String>, visiting: &mut std::collections::BTreeSet<String>) {
        // A query may read the table it maintains (CREATE SOURCE TABLE's): visit each once.
        if !visiting.insert(id.to_string()) {
            return;
        }
        let sources: Vec<String> = self
            .state
            .lock()
            .queries
            .get(id)
            .map(|q| q.sources.clone())
            .unwrap_or_default();
        for s in sources {
            let writer = self.state.lock().catalog.source(&s).and_then(|d| d.written_by.clone());
            if let Some(w) = writer {
                self.upstream_from(&w, out, visiting);
            }
        }
        out.push(id.to_string());
    }

    /// One line per persistent query for start-up logs: its id, whether it runs, and per source
    /// partition the offset it resumes from (its consumer group's committed offset) or the
    /// reset policy that applies where nothing is committed yet.
    pub fn startup_report(&self) -> Vec<String> {
        let reset = self
            .config()
            .get("auto.offset.reset")
            .unwrap_or_else(|| "earliest".into());
        let queries: Vec<(String, bool, Vec<String>, Option<String>)> = self
            .state
            .lock()
            .queries
            .values()
            .map(|q| (q.id.clone(), q.running.is_some(), q.sources.clone(), q.sink.clone()))
            .collect();
        let mut lines = Vec::new();
        for (id, running, sources, sink) in queries {
            let group = queries::group_of(self, &id);
            let mut from = Vec::new();
            for source in &sources {
                let topic = match self.state.lock().catalog.source(source) {
                    Some(d) => d.topic.clone(),
                    None => continue,
                };
                let committed = self.log.committed(&group, &topic).unwrap_or_default();
                let partitions = self
                    .log
                    .describe_topic(&topic)
                    .ok()
                    .flatten()
                    .map_or(0, |d| d.partitions);
                let offsets: Vec<String> = (0..partitions)
                    .map(|p| match committed.get(&p) {
                        Some(o) => format!("{p}@{o}"),
                        None => format!("{p}@{reset}"),
                    })
                    .collect();
                from.push(format!("{topic} [{}]", offsets.join(", ")));
            }
            lines.push(format!(
                "query {id} {}{}: reading {}",
                if running { "running" } else { "paused" },
                sink.map(|s| format!(" (writes {s})")).unwrap_or_default(),
                if from.is_empty() {
                    "nothing".to_string()
                } else {
                    from.join("; ")
                }
            ));
        }
        lines
    }

    /// Stops every running query, committing their offsets.
    pub fn shutdown(&self) {
        self.follower_stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(handle) = self.follower.lock().take()
            && handle.thread().id() != std::thread::current().id()
        {
            let _ = handle.join();
        }
        let mut state = self.state.lock();
        for q in state.queries.values_mut() {
            if let Some(r) = q.running.take() {
                r.stop();
            }
        }
    }

    fn register_processing_log(&self) {
        use crate::format::Format;
        use crate::plan::catalog::SourceDesc;
        use crate::runtime::processing_log::PROCESSING_LOG_STREAM;
        use crate::types::{Column, ColumnKind, Schema, SqlType};
        let (Ok(key_format), Ok(value_format)) = (
            Format::from_name("KAFKA").map(Format::for_key),
            Format::from_name("JSON"),
        ) else {
            return;
        };
        let message = SqlType::Struct(vec![
            ("TYPE".into(), SqlType::Int),
            ("KIND".into(), SqlType::String),
            ("ERRORMESSAGE".into(), SqlType::String),
            ("TOPIC".into(), SqlType::String),
            ("PARTITION".into(), SqlType::Int),
            ("OFFSET".into(), SqlType::BigInt),
            ("TARGET".into(), SqlType::String),
        ]);
        let col = |name: &str, ty: SqlType| Column {
            name: name.into(),
            ty,
            kind: ColumnKind::Value,
        };
        let desc = SourceDesc {
            name: PROCESSING_LOG_STREAM.into(),
            kind: crate::sql::ast::SourceKind::Stream,
            schema: Schema::new(vec![
                col("LOGGER", SqlType::String),
                col("LEVEL", SqlType::String),
                col("TIME", SqlType::BigInt),
                col("MESSAGE", message),
            ]),
            topic: PROCESSING_LOG_TOPIC.into(),
            partitions: 1,
            key_format,
            value_format,
            timestamp: None,
            sql: format!(
                "CREATE STREAM {PROCESSING_LOG_STREAM} (...) WITH (KAFKA_TOPIC='{PROCESSING_LOG_TOPIC}', VALUE_FORMAT='JSON');"
            ),
            is_source: true,
            written_by: None,
        };
        self.state.lock().catalog.put_source(desc);
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}
