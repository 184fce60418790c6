//! The logical plan: name resolution, type checking and the typed plan of a query.
