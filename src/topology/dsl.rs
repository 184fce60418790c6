use std::sync::Arc;

use crate::error::Result;
use crate::runtime::batch::BatchSchema;
use crate::runtime::expr::PhysicalExpr;
use crate::runtime::ops::{Filter, Project};
use crate::runtime::processor::ProcessorSupplier;
use crate::runtime::sink::SinkSpec;
use crate::runtime::source::SourceSpec;
use crate::types::ColumnKind;

use super::builder::{Topology, TopologyBuilder};

/// The DSL's builder: creates streams and names their nodes as Kafka Streams does.
#[derive(Default)]
pub struct StreamsBuilder {
    inner: TopologyBuilder,
    counter: usize,
    internal_topics: Vec<(String, i32)>,
}

/// A stream in the DSL: the node that produces it and the schema of its batches.
#[derive(Debug, Clone)]
pub struct KStream {
    /// The node name.
    pub node: String,
    /// The schema of the batches it carries.
    pub schema: BatchSchema,
}

impl StreamsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn next_name(&mut self, prefix: &str) -> String {
        let name = format!("{prefix}-{:010}", self.counter);
        self.counter += 1;
        name
    }

    /// A stream read from `spec.topic`.
    pub fn stream(&mut self, spec: SourceSpec) -> Result<KStream> {
        let name = self.next_name("KSTREAM-SOURCE");
        let schema = spec.schema.clone();
        self.inner.add_source(&name, spec)?;
        Ok(KStream { node: name, schema })
    }

    /// A stream read from `spec.topic` through a source node called `name`.
    pub fn stream_named(&mut self, spec: SourceSpec, name: &str) -> Result<KStream> {
        self.counter += 1;
        let schema = spec.schema.clone();
        self.inner.add_source(name, spec)?;
        Ok(KStream {
            node: name.to_string(),
            schema,
        })
    }

    /// Records a topic the topology needs created before it runs (repartition topics).
    pub fn add_internal_topic(&mut self, topic: &str, partitions: i32) {
        self.internal_topics.push((topic.to_string(), partitions));
    }

    /// The underlying Processor-API builder, for nodes the DSL has no verb for.
    pub fn processor_api(&mut self) -> &mut TopologyBuilder {
        &mut self.inner
    }

    /// The built topology.
    pub fn build(self) -> Topology {
        let mut t = self.inner.build();
        t.internal_topics = self.internal_topics;
        t
    }
}

impl KStream {
    /// Keeps rows matching `predicate`.
    pub fn filter(&self, b: &mut StreamsBuilder, predicate: PhysicalExpr, name: Option<&str>) -> Result<KStream> {
        let supplier: ProcessorSupplier = Arc::new(move || Box::new(Filter::new(predicate.clone())));
        self.process(b, "KSTREAM-FILTER", name, supplier, self.schema.clone())
    }

    /// Keeps rows matching `predicate` on a table's changelog: others become tombstones.
    pub fn filter_table(&self, b: &mut StreamsBuilder, predicate: PhysicalExpr, name: Option<&str>) -> Result<KStream> {
        let supplier: ProcessorSupplier = Arc::new(move || Box::new(Filter::on_table(predicate.clone())));
        self.process(b, "KTABLE-FILTER", name, supplier, self.schema.clone())
    }

    /// [`KStream::filter_table`] over changes that carry each key's old row (an aggregation
    /// sending old values): a row that never matched is dropped instead of deleted.
    pub fn filter_table_changes(
        &self,
        b: &mut StreamsBuilder,
        predicate: PhysicalExpr,
        name: Option<&str>,
    ) -> Result<KStream> {
        let supplier: ProcessorSupplier = Arc::new(move || Box::new(Filter::on_table_changes(predicate.clone())));
        self.process(b, "KTABLE-FILTER", name, supplier, self.schema.clone())
    }

    /// Passes batches on unchanged: the `KSTREAM-TRANSFORMVALUES` step ksqlDB puts after
    /// each source (where it adds the pseudo columns, which Runnel's sources already carry),
    /// kept so topologies describe the same way.
    pub fn transform_values(&self, b: &mut StreamsBuilder) -> Result<KStream> {
        let supplier: ProcessorSupplier = Arc::new(|| Box::new(crate::runtime::ops::PassThrough));
        self.process(b, "KSTREAM-TRANSFORMVALUES", None, supplier, self.schema.clone())
    }

    /// Computes new columns; `schema` describes them.
    pub fn map_values(
        &self,
        b: &mut StreamsBuilder,
        exprs: Vec<PhysicalExpr>,
        schema: BatchSchema,
        name: Option<&str>,
    ) -> Result<KStream> {
        // The key changes unless every output key column is an input key column, in order.
        let input_keys: Vec<usize> = self
            .schema
            .data_columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == ColumnKind::Key)
            .map(|(i, _)| i)
            .collect();
        let output_keys: Vec<Option<usize>> = schema
            .data_columns()
            .iter()
            .zip(&exprs)
            .filter(|(c, _)| c.kind == ColumnKind::Key)
            .map(|(_, e)| match e {
                PhysicalExpr::Column { index, .. } => Some(*index),
                _ => None,
            })
            .collect();
        let rekeyed = output_keys != input_keys.iter().copied().map(Some).collect::<Vec<_>>();
        // New key columns computed from value columns, which a record without a value lacks.
        let data_width = self.schema.data_columns().len();
        let from_values: Vec<usize> = schema
            .data_columns()
            .iter()
            .zip(&exprs)
            .enumerate()
            .filter(|(_, (c, e))| {
                let mut reads_value = false;
                (*e).clone().remap_columns(&mut |i| {
                    reads_value |= i < data_width && !input_keys.contains(&i);
                    i
                });
                c.kind == ColumnKind::Key && reads_value
            })
            .map(|(i, _)| i)
            .collect();
        let supplier: ProcessorSupplier = Arc::new(move || {
            Box::new(if rekeyed {
                Project::rekeying(exprs.clone()).null_on_tombstones(from_values.clone())
            } else {
                Project::new(exprs.clone())
            })
        });
        self.process(b, "KSTREAM-MAPVALUES", name, supplier, schema)
    }

    /// Applies table functions: each row becomes one row per value they return (ksqlDB's
    /// `FlatMap` step, a `flatTransformValues`); `schema` describes the output.
    pub fn flat_map(
        &self,
        b: &mut StreamsBuilder,
        calls: Vec<crate::runtime::ops::TableFunctionCall>,
        schema: BatchSchema,
    ) -> Result<KStream> {
        let supplier: ProcessorSupplier = Arc::new(move || Box::new(crate::runtime::ops::FlatMap::new(calls.clone())));
        self.process(b, "KSTREAM-FLATTRANSFORMVALUES", Some("FlatMap"), supplier, schema)
    }

    /// Runs a custom processor whose output batches have `schema`.
    pub fn process(
        &self,
        b: &mut StreamsBuilder,
        prefix: &str,
        name: Option<&str>,
        supplier: ProcessorSupplier,
        schema: BatchSchema,
    ) -> Result<KStream> {
        // Named nodes take a number too, as Kafka Streams' counter does.
        let generated = b.next_name(prefix);
        let name = name.map(str::to_string).unwrap_or(generated);
        b.inner.add_processor(&name, supplier, &[&self.node])?;
        Ok(KStream { node: name, schema })
    }

    /// Runs a processor that uses state stores.
    pub fn process_stateful(
        &self,
        b: &mut StreamsBuilder,
        prefix: &str,
        supplier: ProcessorSupplier,
        stores: Vec<String>,
        schema: BatchSchema,
    ) -> Result<KStream> {
        let name = b.next_name(prefix);
        b.inner.add_stateful_processor(&name, supplier, stores, &[&self.node])?;
        Ok(KStream { node: name, schema })
    }

    /// Writes the stream to a topic through a sink called `name`.
    pub fn to_named(&self, b: &mut StreamsBuilder, spec: SinkSpec, name: &str) -> Result<()> {
        b.counter += 1;
        b.inner.add_sink(name, spec, &[&self.node])?;
        Ok(())
    }

    /// Writes the stream to a topic.
    pub fn to(&self, b: &mut StreamsBuilder, spec: SinkSpec) -> Result<()> {
        let name = b.next_name("KSTREAM-SINK");
        b.inner.add_sink(&name, spec, &[&self.node])?;
        Ok(())
    }

    /// Hands the stream's batches to a channel (transient queries).
    pub fn to_channel(
        &self,
        b: &mut StreamsBuilder,
        sender: std::sync::mpsc::SyncSender<crate::runtime::batch::Batch>,
    ) -> Result<()> {
        let name = b.next_name("KSTREAM-PROCESSOR");
        b.inner.add_channel_sink(&name, sender, &[&self.node])?;
        Ok(())
    }
}
