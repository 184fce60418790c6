//! `PRINT topic`: raw records of a topic as they arrive, decoded as text where they are text.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::Duration;

use super::Engine;
use super::result::{PushQuery, QueryHandle, StatementResult};
use crate::error::{Error, Result};
use crate::log::{Bytes, TopicPartition};
use crate::runtime::batch::Batch;
use crate::sql::ast::Ident;
use crate::types::arrow::{build_array, format_timestamp};
use crate::types::{SqlType, Value};

fn text_of(bytes: &Option<Bytes>) -> Value {
    match bytes {
        None => Value::String("<null>".into()),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => Value::String(s.to_string()),
            _ => Value::String(format!(
                "0x{}",
                b.iter().map(|x| format!("{x:02X}")).collect::<String>()
            )),
        },
    }
}

pub(super) fn print(
    engine: &Arc<Engine>,
    topic: &Ident,
    from_beginning: bool,
    interval: Option<u64>,
    limit: Option<u64>,
) -> Result<StatementResult> {
    let topics = engine.log.list_topics()?;
    let found = topics
        .iter()
        .find(|t| t.name == topic.value)
        .or_else(|| topics.iter().find(|t| t.name.eq_ignore_ascii_case(&topic.value)))
        .cloned();
    let Some(desc) = found else {
        return Err(Error::execution(format!(
            "Could not find topic '{}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive.",
            topic.value
        )));
    };
    let mut positions = Vec::new();
    for p in 0..desc.partitions {
        let offset = if from_beginning {
            engine.log.start_offset(&desc.name, p)?
        } else {
            engine.log.end_offset(&desc.name, p)?
        };
        positions.push((TopicPartition::new(desc.name.clone(), p), offset));
    }
    let mut consumer = engine.log.consumer()?;
    consumer.assign(&positions)?;
    let (tx, rx) = sync_channel::<Batch>(16);
    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = stop.clone();
    let every = interval.unwrap_or(1).max(1);
    let join = std::thread::Builder::new()
        .name(format!("print-{}", desc.name))
        .spawn(move || -> std::result::Result<(), String> {
            let mut seen: u64 = 0;
            while !stop_flag.load(Ordering::SeqCst) {
                let records = consumer
                    .poll(500, Duration::from_millis(100))
                    .map_err(|e| e.to_string())?;
                let mut cols: [Vec<Value>; 5] = Default::default();
                for r in records {
                    seen += 1;
                    if !(seen - 1).is_multiple_of(every) {
                        continue;
                    }
                    cols[0].push(Value::String(format_timestamp(r.record.timestamp)));
                    cols[1].push(Value::Int(r.partition));
                    cols[2].push(Value::BigInt(r.offset));
                    cols[3].push(text_of(&r.record.key));
                    cols[4].push(text_of(&r.record.value));
                }
                if cols[0].is_empty() {
                    continue;
                }
                let types = [
                    SqlType::String,
                    SqlType::Int,
                    SqlType::BigInt,
                    SqlType::String,
                    SqlType::String,
                ];
                let n = cols[0].len();
                let arrays = cols
                    .iter()
                    .zip(types.iter())
                    .map(|(c, t)| build_array(t, c))
                    .collect::<Result<Vec<_>>>()
                    .map_err(|e| e.to_string())?;
                let batch = Batch::new(arrays, n).map_err(|e| e.to_string())?;
                if tx.send(batch).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        })
        .map_err(|e| Error::execution(format!("cannot start PRINT: {e}")))?;
    let columns = ["ROWTIME", "PARTITION", "OFFSET", "KEY", "VALUE"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    Ok(StatementResult::Stream(PushQuery::new(
        format!("print_{}", desc.name),
        columns,
        rx,
        QueryHandle::Thread { stop, join },
        limit,
    )))
}
