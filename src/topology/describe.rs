//! `Topology#describe()`: the text Kafka Streams prints for a topology (SEMANTICS §10.5).

use std::fmt::Write;

use super::builder::{NodeKind, Topology};

impl Topology {
    /// The topology as Kafka Streams' `Topology#describe()` prints it.
    pub fn describe(&self) -> String {
        let n = self.nodes.len();
        let children: Vec<Vec<usize>> = (0..n).map(|i| self.children(i)).collect();
        let component = self.components();
        let components = component.iter().copied().max().map_or(0, |m| m + 1);
        let subtree = |i: usize| {
            let mut seen = vec![false; n];
            let mut stack = vec![i];
            let mut count = 0;
            while let Some(j) = stack.pop() {
                if !std::mem::replace(&mut seen[j], true) {
                    count += 1;
                    stack.extend(children[j].iter().copied());
                }
            }
            count
        };
        let mut out = String::from("Topologies:\n");
        for c in 0..components {
            let _ = writeln!(out, "{}Sub-topology: {c}", if c == 0 { "   " } else { "  " });
            let mut members: Vec<usize> = (0..n).filter(|i| component[*i] == c).collect();
            members.sort_by(|a, b| {
                subtree(*b)
                    .cmp(&subtree(*a))
                    .then_with(|| self.nodes[*a].name.cmp(&self.nodes[*b].name))
            });
            for i in members {
                let node = &self.nodes[i];
                let names = |idx: &[usize]| {
                    if idx.is_empty() {
                        "none".to_string()
                    } else {
                        idx.iter()
                            .map(|j| self.nodes[*j].name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                };
                match &node.kind {
                    NodeKind::Source(spec) => {
                        let _ = writeln!(out, "    Source: {} (topics: [{}])", node.name, spec.topic);
                    }
                    NodeKind::Processor { stores, .. } => {
                        let _ = writeln!(out, "    Processor: {} (stores: [{}])", node.name, stores.join(", "));
                    }
                    NodeKind::Sink(spec) => {
                        let _ = writeln!(out, "    Sink: {} (topic: {})", node.name, spec.topic);
                    }
                    NodeKind::ChannelSink(_) => {
                        // A transient query's rows leave through a terminal processor.
                        let _ = writeln!(out, "    Processor: {} (stores: [])", node.name);
                        let _ = writeln!(out, "      --> none");
                    }
                }
                if !matches!(node.kind, NodeKind::Sink(_) | NodeKind::ChannelSink(_)) {
                    let _ = writeln!(out, "      --> {}", names(&children[i]));
                }
                if !node.parents.is_empty() {
                    let _ = writeln!(out, "      <-- {}", names(&node.parents));
                }
            }
            out.push('\n');
        }
        out
    }
}
