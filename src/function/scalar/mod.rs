//! The built-in scalar functions, one file per category.

mod array;
mod conditional;
mod datetime;
mod encode;
mod json;
mod lambda;
mod map;
mod mask;
mod math;
mod md5;
mod regex;
mod string;
mod time_format;
mod time_zone;
mod url;

use super::sig::Builtin;

/// Every built-in scalar function.
pub(crate) fn all() -> Vec<Builtin> {
    let mut v = Vec::new();
    string::register(&mut v);
    mask::register(&mut v);
    encode::register(&mut v);
    regex::register(&mut v);
    math::register(&mut v);
    datetime::register(&mut v);
    json::register(&mut v);
    array::register(&mut v);
    map::register(&mut v);
    lambda::register(&mut v);
    url::register(&mut v);
    conditional::register(&mut v);
    v
}
