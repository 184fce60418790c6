//! NULL handling and other functions: COALESCE, IFNULL, NULLIF, AS_VALUE, GEO_DISTANCE.

use crate::function::sig::{Builtin, arg, func};
use crate::types::{SqlType, Value};

pub(super) fn register(v: &mut Vec<Builtin>) {
    v.push(
        func("COALESCE", "CONDITIONAL", "The first non-NULL argument.", |a, _, _| {
            Ok(a.iter().find(|v| !v.is_null()).cloned().unwrap_or(Value::Null))
        })
        .variadic(&[("first", "T"), ("others", "T")], "T")
        .lenient(),
    );
    v.push(
        func(
            "IFNULL",
            "CONDITIONAL",
            "The first argument, or the second when the first is NULL.",
            |a, _, _| {
                let first = arg::get(a, 0);
                Ok(if first.is_null() {
                    arg::get(a, 1).clone()
                } else {
                    first.clone()
                })
            },
        )
        .sig(&[("expression", "T"), ("alternative", "T")], "T")
        .lenient(),
    );
    v.push(
        func(
            "NULLIF",
            "CONDITIONAL",
            "NULL when both arguments are equal, else the first.",
            |a, _, _| {
                let (x, y) = (arg::get(a, 0), arg::get(a, 1));
                Ok(if super::array::same(x, y) && !x.is_null() {
                    Value::Null
                } else {
                    x.clone()
                })
            },
        )
        .sig(&[("expression1", "T"), ("expression2", "T")], "T")
        .lenient(),
    );
    v.push(
        func(
            "AS_VALUE",
            "OTHER",
            "Copies a key column into the value, unchanged.",
            |a, _, _| Ok(arg::get(a, 0).clone()),
        )
        .sig(&[("key", "T")], "T")
        .lenient(),
    );
    v.push(
        func(
            "GEO_DISTANCE",
            "OTHER",
            "The great-circle distance between two latitude/longitude points, in kilometres \
             (default) or miles ('MI', 'MILES').",
            geo_distance,
        )
        .sig(
            &[
                ("lat1", "DOUBLE"),
                ("lon1", "DOUBLE"),
                ("lat2", "DOUBLE"),
                ("lon2", "DOUBLE"),
            ],
            "DOUBLE",
        )
        .sig(
            &[
                ("lat1", "DOUBLE"),
                ("lon1", "DOUBLE"),
                ("lat2", "DOUBLE"),
                ("lon2", "DOUBLE"),
                ("units", "VARCHAR"),
            ],
            "DOUBLE",
        )
        // A NULL unit means kilometres, so NULL arguments reach the function.
        .lenient(),
    );
}

fn geo_distance(a: &[Value], _: &SqlType, _: &[crate::function::Lambda<'_>]) -> Result<Value, String> {
    let mut c = [0f64; 4];
    for (i, slot) in c.iter_mut().enumerate() {
        match arg::num(a, i)? {
            Some(x) => *slot = x,
            None => return Ok(Value::Null),
        }
    }
    let [lat1, lon1, lat2, lon2] = c;
    if !(-90.0..=90.0).contains(&lat1) || !(-90.0..=90.0).contains(&lat2) {
        return Err("valid latitude values for GEO_DISTANCE are between -90 and 90".into());
    }
    if !(-180.0..=180.0).contains(&lon1) || !(-180.0..=180.0).contains(&lon2) {
        return Err("valid longitude values for GEO_DISTANCE are between -180 and 180".into());
    }
    // No unit, or a NULL one, means kilometres.
    let radius = match if a.len() > 4 { arg::str(a, 4)? } else { None } {
        None => 6371.0,
        Some(u) => match u.to_ascii_uppercase().as_str() {
            "KM" | "KILOMETER" | "KILOMETERS" | "KILOMETRE" | "KILOMETRES" => 6371.0,
            "MI" | "MILE" | "MILES" => 3959.0,
            _ => {
                return Err(format!("GEO_DISTANCE: unknown distance unit '{u}'; use KM or MI"));
            }
        },
    };
    // Haversine formula.
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    Ok(Value::Double(2.0 * radius * h.sqrt().asin()))
}

#[cfg(test)]
mod tests {
    use crate::function::testing::{call, s};
    use crate::types::Value;

    #[test]
    fn conditional_functions() {
        let n = Value::Null;
        let cases: Vec<(&str, Vec<Value>, Value)> = vec![
            ("COALESCE", vec![n.clone(), Value::Int(2), Value::Int(3)], Value::Int(2)),
            (
                "COALESCE",
                vec![n.clone(), Value::Int(1), Value::BigInt(3)],
                Value::BigInt(1),
            ),
            ("IFNULL", vec![n.clone(), s("x")], s("x")),
            ("IFNULL", vec![s("a"), s("x")], s("a")),
            ("NULLIF", vec![s("a"), s("a")], n.clone()),
            ("NULLIF", vec![s("a"), s("b")], s("a")),
            ("AS_VALUE", vec![Value::Int(4)], Value::Int(4)),
        ];
        for (name, args, want) in cases {
            assert_eq!(call(name, &args), Ok(want), "{name}({args:?})");
        }
        let Ok(Value::Double(km)) = call(
            "GEO_DISTANCE",
            &[
                Value::Double(37.4439),
                Value::Double(-122.1663),
                Value::Double(51.5257),
                Value::Double(-0.1122),
            ],
        ) else {
            panic!("GEO_DISTANCE must return a double");
        };
        assert!((km - 8634.6528).abs() < 0.01, "{km}");
        // An untyped NULL literal leaves T unknown, which ksqlDB rejects too.
        assert!(call("COALESCE", &[n.clone(), n.clone()]).is_err());
        assert!(
            call(
                "GEO_DISTANCE",
                &[
                    Value::Double(91.0),
                    Value::Double(0.0),
                    Value::Double(0.0),
                    Value::Double(0.0)
                ]
            )
            .is_err()
        );
    }
}
