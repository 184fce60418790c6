//! Topologies: processors, the builder, the KStream-style DSL and `describe()`.
