//! placeholder
use crate::function::sig::Builtin;
pub(super) fn register(_v: &mut Vec<Builtin>) {}
