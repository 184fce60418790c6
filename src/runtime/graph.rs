//! [`ProcessorGraph`]: the runnable form of a topology — sources that decode topics into
//! batches and a DAG of processor suppliers. The `topology` module builds it; tasks
//! instantiate it once per partition.

use std::sync::Arc;

use crate::runtime::processor::ProcessorSupplier;
use crate::runtime::source::SourceSpec;

/// A source: a topic decoded into batches, feeding some nodes.
#[derive(Clone)]
pub struct GraphSource {
    /// How to read it.
    pub spec: SourceSpec,
    /// Indexes of the nodes it feeds.
    pub children: Vec<usize>,
}

/// A processor node.
#[derive(Clone)]
pub struct GraphNode {
    /// Its name (`KSTREAM-FILTER-0000000001`, `Project`, ...).
    pub name: String,
    /// Makes the processor of each task.
    pub supplier: ProcessorSupplier,
    /// Indexes of the nodes it forwards to.
    pub children: Vec<usize>,
    /// The state stores it uses (each task gets its own instance).
    pub stores: Vec<String>,
}

/// Sources and processors of one sub-topology, ready to run.
#[derive(Clone, Default)]
pub struct ProcessorGraph {
    /// The sources.
    pub sources: Vec<GraphSource>,
    /// The processors, sinks included.
    pub nodes: Vec<GraphNode>,
}

impl ProcessorGraph {
    /// Every state store of the graph.
    pub fn stores(&self) -> Vec<String> {
        self.nodes.iter().flat_map(|n| n.stores.iter().cloned()).collect()
    }

    /// Whether it has a record cache (`KTABLE-CACHE`), which takes a share of
    /// `statestore.cache.max.bytes`.
    pub fn has_record_cache(&self) -> bool {
        self.nodes.iter().any(|n| n.name.starts_with("KTABLE-CACHE"))
    }

    /// The topics read.
    pub fn source_topics(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.spec.topic.clone()).collect()
    }
}

/// A shared graph.
pub type SharedGraph = Arc<ProcessorGraph>;
