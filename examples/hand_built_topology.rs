//! A topology built by hand with the Processor API and the DSL, run on the embedded log
//! without any SQL: it reads JSON `{"word": ...}` records, keeps words longer than three
//! characters with a DSL filter, upper-cases them in a custom processor, and writes them out.
//!
//! Run it with `cargo run --example hand_built_topology`.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::{Array, ArrayRef, StringArray};
use runnel::format::Format;
use runnel::log::embedded::EmbeddedLog;
use runnel::log::{Bytes, Log, Record, TopicConfig, TopicPartition};
use runnel::runtime::expr::{BinaryOp, PhysicalExpr};
use runnel::runtime::query::{OffsetReset, QueryConfig, RunningQuery};
use runnel::topology::{Batch, BatchSchema, Processor, ProcessorContext, SinkSpec, SourceSpec, StreamsBuilder};
use runnel::types::{Column, ColumnKind, SqlType, Value};

/// Upper-cases the first column of every batch.
struct Shout;

impl Processor for Shout {
    fn process(&mut self, batch: Batch, ctx: &mut ProcessorContext) -> runnel::Result<()> {
        let words = batch.columns[0]
            .as_any()
            .downcast_ref::<StringArray>()
            .cloned()
            .unwrap_or_else(|| StringArray::from(Vec::<Option<&str>>::new()));
        let shouted: StringArray = words.iter().map(|w| w.map(str::to_uppercase)).collect();
        let mut columns: Vec<ArrayRef> = vec![Arc::new(shouted)];
        columns.extend(batch.pseudo_columns());
        ctx.forward(Batch::new(columns, batch.len)?);
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let log: Arc<dyn Log> = EmbeddedLog::open(dir.path())?;
    log.create_topic("words", &TopicConfig::new(1))?;
    log.create_topic("loud-words", &TopicConfig::new(1))?;
    let records: Vec<Record> = ["hi", "hello", "hey", "streams"]
        .iter()
        .enumerate()
        .map(|(i, w)| Record {
            key: None,
            value: Some(Bytes::from(format!("{{\"word\":\"{w}\"}}"))),
            timestamp: i as i64,
            headers: vec![],
        })
        .collect();
    log.append("words", 0, &records)?;

    let word = Column {
        name: "WORD".into(),
        ty: SqlType::String,
        kind: ColumnKind::Value,
    };
    let schema = BatchSchema::with_pseudo_columns(vec![word]);
    let mut builder = StreamsBuilder::new();
    let words = builder.stream(SourceSpec {
        topic: "words".into(),
        key_format: Format::from_name("KAFKA")?.for_key(),
        value_format: Format::from_name("JSON")?,
        schema: schema.clone(),
        timestamp: None,
        drop_null_keys: false,
    })?;
    // LEN(WORD) > 3, built by hand: the planner would build the same expression from SQL.
    let len = runnel::function::FunctionRegistry::new()
        .scalar("LEN")
        .ok_or("LEN is not registered")?;
    let long = PhysicalExpr::Binary {
        op: BinaryOp::Gt,
        left: Box::new(PhysicalExpr::Call {
            func: len,
            args: vec![PhysicalExpr::column(0, "WORD", SqlType::String)],
            ty: SqlType::Int,
        }),
        right: Box::new(PhysicalExpr::literal(Value::Int(3), SqlType::Int)),
        ty: SqlType::Boolean,
    };
    let long_words = words.filter(&mut builder, long, None)?;
    let loud = long_words.process(
        &mut builder,
        "SHOUT",
        None,
        Arc::new(|| Box::new(Shout)),
        schema.clone(),
    )?;
    loud.to(
        &mut builder,
        SinkSpec {
            topic: "loud-words".into(),
            partitions: 1,
            key_format: Format::from_name("KAFKA")?.for_key(),
            value_format: Format::from_name("JSON")?,
            key_columns: vec![],
            value_columns: vec![(0, "WORD".into(), SqlType::String)],
        },
    )?;
    let topology = builder.build();
    print!("{}", topology.describe());

    let config = QueryConfig {
        query_id: "example".into(),
        group: Some("example-app".into()),
        threads: 1,
        commit_interval: Duration::from_millis(100),
        offset_reset: OffsetReset::Earliest,
        max_poll_records: 1000,
        stop_at: None,
        cache_max_bytes: 0,
        state: runnel::state::StateConfig::memory(),
        exactly_once: false,
        fail_on_invalid_timestamp: false,
    };
    let running = RunningQuery::start(topology.to_graphs(), log.clone(), config, None)?;
    let mut consumer = log.consumer()?;
    consumer.assign(&[(TopicPartition::new("loud-words", 0), 0)])?;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        for r in consumer.poll(10, Duration::from_secs(5))? {
            seen.push(String::from_utf8_lossy(r.record.value.as_deref().unwrap_or_default()).into_owned());
        }
    }
    running.stop();
    for v in &seen {
        println!("{v}");
    }
    assert_eq!(seen, vec![r#"{"WORD":"HELLO"}"#, r#"{"WORD":"STREAMS"}"#]);
    Ok(())
}
