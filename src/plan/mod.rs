//! The logical plan: name resolution, type checking and the typed plan of a query.
//!
//! [`catalog`] holds what exists; [`binder`] turns parsed expressions into typed
//! [`crate::runtime::expr::PhysicalExpr`]s; [`query`] plans a `SELECT` into a
//! [`logical::LogicalPlan`]; [`lower`] turns that into a [`crate::topology::Topology`].

pub mod aggregate;
pub mod binder;
pub mod catalog;
pub mod data_type;
pub mod logical;
pub mod lower;
pub mod query;
pub mod rewrite;
pub mod view;
