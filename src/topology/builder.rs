use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use crate::error::{Error, Result};
use crate::runtime::batch::Batch;
use crate::runtime::graph::{GraphNode, GraphSource, ProcessorGraph};
use crate::runtime::ops::{ChannelSink, TopicSink};
use crate::runtime::processor::ProcessorSupplier;
use crate::runtime::sink::SinkSpec;
use crate::runtime::source::SourceSpec;

/// What a node does.
#[derive(Clone)]
pub enum NodeKind {
    /// Reads and decodes a topic.
    Source(SourceSpec),
    /// Runs a processor.
    Processor {
        /// Makes the processor of each task.
        supplier: ProcessorSupplier,
        /// State stores it uses.
        stores: Vec<String>,
    },
    /// Encodes and writes to a topic.
    Sink(SinkSpec),
    /// Hands batches to a transient query's reader.
    ChannelSink(SyncSender<Batch>),
}

/// A named node and its parents.
#[derive(Clone)]
pub struct TopologyNode {
    /// Unique name.
    pub name: String,
    /// What it does.
    pub kind: NodeKind,
    /// Indexes of the nodes feeding it.
    pub parents: Vec<usize>,
}

/// The Processor API: builds a [`Topology`] node by node.
#[derive(Default)]
pub struct TopologyBuilder {
    nodes: Vec<TopologyNode>,
}

impl TopologyBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&mut self, name: &str, kind: NodeKind, parents: &[&str]) -> Result<usize> {
        if self.nodes.iter().any(|n| n.name == name) {
            return Err(Error::plan(format!("a topology node named '{name}' already exists")));
        }
        let parents = parents
            .iter()
            .map(|p| {
                self.index_of(p)
                    .ok_or_else(|| Error::plan(format!("parent node '{p}' of '{name}' is not in the topology")))
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(p) = parents
            .iter()
            .find(|p| matches!(self.nodes[**p].kind, NodeKind::Sink(_) | NodeKind::ChannelSink(_)))
        {
            return Err(Error::plan(format!(
                "'{}' is a sink and cannot feed '{name}'",
                self.nodes[*p].name
            )));
        }
        self.nodes.push(TopologyNode {
            name: name.to_string(),
            kind,
            parents,
        });
        Ok(self.nodes.len() - 1)
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Adds a source reading `spec.topic`.
    pub fn add_source(&mut self, name: &str, spec: SourceSpec) -> Result<usize> {
        self.add(name, NodeKind::Source(spec), &[])
    }

    /// Adds a processor fed by `parents`.
    pub fn add_processor(&mut self, name: &str, supplier: ProcessorSupplier, parents: &[&str]) -> Result<usize> {
        if parents.is_empty() {
            return Err(Error::plan(format!("processor '{name}' needs at least one parent")));
        }
        self.add(
            name,
            NodeKind::Processor {
                supplier,
                stores: Vec::new(),
            },
            parents,
        )
    }

    /// Adds a processor that uses the state stores `stores`.
    pub fn add_stateful_processor(
        &mut self,
        name: &str,
        supplier: ProcessorSupplier,
        stores: Vec<String>,
        parents: &[&str],
    ) -> Result<usize> {
        if parents.is_empty() {
            return Err(Error::plan(format!("processor '{name}' needs at least one parent")));
        }
        self.add(name, NodeKind::Processor { supplier, stores }, parents)
    }

    /// Adds a sink writing to `spec.topic`.
    pub fn add_sink(&mut self, name: &str, spec: SinkSpec, parents: &[&str]) -> Result<usize> {
        self.add(name, NodeKind::Sink(spec), parents)
    }

    /// Adds a sink that hands batches to a channel (transient queries).
    pub fn add_channel_sink(&mut self, name: &str, sender: SyncSender<Batch>, parents: &[&str]) -> Result<usize> {
        self.add(name, NodeKind::ChannelSink(sender), parents)
    }

    /// The finished topology.
    pub fn build(self) -> Topology {
        Topology {
            nodes: self.nodes,
            internal_topics: Vec::new(),
        }
    }
}

/// A built topology.
#[derive(Clone)]
pub struct Topology {
    pub(crate) nodes: Vec<TopologyNode>,
    pub(crate) internal_topics: Vec<(String, i32)>,
}

impl Topology {
    /// The nodes, in the order they were added.
    pub fn nodes(&self) -> &[TopologyNode] {
        &self.nodes
    }

    /// Indexes of the nodes `i` feeds.
    pub(crate) fn children(&self, i: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|c| self.nodes[*c].parents.contains(&i))
            .collect()
    }

    /// Internal topics (repartition topics) with their partition counts: they must exist
    /// before the topology runs.
    pub fn internal_topics(&self) -> &[(String, i32)] {
        &self.internal_topics
    }

    /// Topics read.
    pub fn source_topics(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Source(s) => Some(s.topic.clone()),
                _ => None,
            })
            .collect()
    }

    /// Topics written.
    pub fn sink_topics(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Sink(s) => Some(s.topic.clone()),
                _ => None,
            })
            .collect()
    }

    /// One runnable graph per sub-topology (connected component), in `describe()` order.
    pub fn to_graphs(&self) -> Vec<ProcessorGraph> {
        let components = self.components();
        (0..components.iter().copied().max().map_or(0, |m| m + 1))
            .map(|c| {
                let members: Vec<usize> = (0..self.nodes.len()).filter(|i| components[*i] == c).collect();
                self.graph_of(&members)
            })
            .collect()
    }

    /// Sub-topology number of each node: connected components numbered by first node.
    pub(crate) fn components(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let mut component = vec![usize::MAX; n];
        let mut next = 0;
        for start in 0..n {
            if component[start] != usize::MAX {
                continue;
            }
            let mut stack = vec![start];
            while let Some(i) = stack.pop() {
                if component[i] != usize::MAX {
                    continue;
                }
                component[i] = next;
                stack.extend(self.children(i));
                stack.extend(self.nodes[i].parents.iter().copied());
            }
            next += 1;
        }
        component
    }

    /// The whole topology as one graph (for running it in one task, as pull queries do).
    pub fn to_graph(&self) -> ProcessorGraph {
        self.graph_of(&(0..self.nodes.len()).collect::<Vec<_>>())
    }

    fn graph_of(&self, members: &[usize]) -> ProcessorGraph {
        // Non-source nodes are numbered densely in the graph.
        let mut graph_index = vec![usize::MAX; self.nodes.len()];
        let mut nodes = Vec::new();
        for &i in members {
            let n = &self.nodes[i];
            let supplier: ProcessorSupplier = match &n.kind {
                NodeKind::Source(_) => continue,
                NodeKind::Processor { supplier, .. } => supplier.clone(),
                NodeKind::Sink(spec) => {
                    let spec = spec.clone();
                    Arc::new(move || Box::new(TopicSink::new(spec.clone())))
                }
                NodeKind::ChannelSink(sender) => {
                    let sender = sender.clone();
                    Arc::new(move || Box::new(ChannelSink::new(sender.clone())))
                }
            };
            graph_index[i] = nodes.len();
            let stores = match &n.kind {
                NodeKind::Processor { stores, .. } => stores.clone(),
                _ => Vec::new(),
            };
            nodes.push(GraphNode {
                name: n.name.clone(),
                supplier,
                children: Vec::new(),
                stores,
            });
        }
        let mut sources = Vec::new();
        for &i in members {
            let n = &self.nodes[i];
            let children: Vec<usize> = self
                .children(i)
                .into_iter()
                .filter(|c| graph_index[*c] != usize::MAX)
                .map(|c| graph_index[c])
                .collect();
            match &n.kind {
                NodeKind::Source(spec) => sources.push(GraphSource {
                    spec: spec.clone(),
                    children,
                }),
                _ => nodes[graph_index[i]].children = children,
            }
        }
        ProcessorGraph { sources, nodes }
    }
}
