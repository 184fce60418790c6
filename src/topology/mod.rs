//! Topologies: the public API for building stream processors, and what the SQL planner
//! lowers queries to.
//!
//! Two levels, as in Kafka Streams:
//! - [`TopologyBuilder`] — the Processor API: add sources, processors (anything implementing
//!   [`Processor`]) and sinks by name, wire them by parent names.
//! - [`StreamsBuilder`] / [`KStream`] — a DSL over it (`filter`, `map_values`, `process`,
//!   `to`) that names nodes the way Kafka Streams does (`KSTREAM-FILTER-0000000001`).
//!
//! [`Topology::describe`] prints the topology in the format of Kafka Streams'
//! `Topology#describe()`; [`Topology::to_graph`] makes it runnable by the runtime.

mod builder;
mod describe;
mod dsl;

pub use builder::{NodeKind, Topology, TopologyBuilder, TopologyNode};
pub use dsl::{KStream, StreamsBuilder};

pub use crate::runtime::batch::{Batch, BatchSchema};
pub use crate::runtime::processor::{Processor, ProcessorContext, ProcessorSupplier};
pub use crate::runtime::sink::SinkSpec;
pub use crate::runtime::source::{SourceSpec, TimestampSpec};
