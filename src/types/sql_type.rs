use std::fmt;

/// A ksqlDB SQL type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SqlType {
    /// `BOOLEAN`
    Boolean,
    /// `INT` / `INTEGER`: 32-bit signed.
    Int,
    /// `BIGINT`: 64-bit signed.
    BigInt,
    /// `DOUBLE`: 64-bit float.
    Double,
    /// `DECIMAL(precision, scale)`
    Decimal {
        /// Total digits, 1..=38.
        precision: u8,
        /// Digits after the point, 0..=precision.
        scale: i8,
    },
    /// `STRING` / `VARCHAR`
    String,
    /// `BYTES`
    Bytes,
    /// `TIMESTAMP`: milliseconds since the epoch, UTC.
    Timestamp,
    /// `DATE`: days since the epoch.
    Date,
    /// `TIME`: milliseconds since midnight.
    Time,
    /// `ARRAY<T>`
    Array(Box<SqlType>),
    /// `MAP<K, V>`
    Map(Box<SqlType>, Box<SqlType>),
    /// `STRUCT<name T, ...>`; field names keep their case.
    Struct(Vec<(String, SqlType)>),
}

impl SqlType {
    /// Whether this is INT, BIGINT, DECIMAL or DOUBLE.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::Decimal { .. }
        )
    }

    /// Whether this is one of the primitive (non-collection) types.
    pub fn is_primitive(&self) -> bool {
        !matches!(self, SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_))
    }

    /// The decimal precision and scale an integer or decimal type fits in, as ksqlDB widens
    /// (INT → DECIMAL(10,0), BIGINT → DECIMAL(19,0)).
    pub fn decimal_bounds(&self) -> Option<(u8, i8)> {
        match self {
            SqlType::Int => Some((10, 0)),
            SqlType::BigInt => Some((19, 0)),
            SqlType::Decimal { precision, scale } => Some((*precision, *scale)),
            _ => None,
        }
    }

    /// The rank of a numeric type in ksqlDB's implicit widening order
    /// INT < BIGINT < DECIMAL < DOUBLE.
    fn numeric_rank(&self) -> Option<u8> {
        match self {
            SqlType::Int => Some(0),
            SqlType::BigInt => Some(1),
            SqlType::Decimal { .. } => Some(2),
            SqlType::Double => Some(3),
            _ => None,
        }
    }

    /// Whether a value of `self` may be used where `target` is expected without a CAST.
    pub fn can_widen_to(&self, target: &SqlType) -> bool {
        if self == target {
            return true;
        }
        match (self.numeric_rank(), target.numeric_rank()) {
            (Some(a), Some(b)) => {
                if let (SqlType::Decimal { .. }, SqlType::Decimal { .. }) = (self, target) {
                    return true;
                }
                a <= b
            }
            _ => match (self, target) {
                (SqlType::Array(a), SqlType::Array(b)) => a.can_widen_to(b),
                (SqlType::Map(ak, av), SqlType::Map(bk, bv)) => ak.can_widen_to(bk) && av.can_widen_to(bv),
                _ => false,
            },
        }
    }

    /// The common type two numeric types widen to, or `None` when they have none.
    pub fn common_numeric(a: &SqlType, b: &SqlType) -> Option<SqlType> {
        let (ra, rb) = (a.numeric_rank()?, b.numeric_rank()?);
        if ra == 3 || rb == 3 {
            return Some(SqlType::Double);
        }
        if ra == 2 || rb == 2 {
            let (pa, sa) = a.decimal_bounds()?;
            let (pb, sb) = b.decimal_bounds()?;
            let scale = sa.max(sb);
            let int_digits = (pa as i16 - sa as i16).max(pb as i16 - sb as i16);
            let precision = (int_digits + scale as i16).clamp(1, 38) as u8;
            return Some(SqlType::Decimal { precision, scale });
        }
        Some(if ra.max(rb) == 1 { SqlType::BigInt } else { SqlType::Int })
    }

    /// The common type of two types for CASE branches, IN lists, COALESCE and the like.
    pub fn common(a: &SqlType, b: &SqlType) -> Option<SqlType> {
        if a == b {
            return Some(a.clone());
        }
        SqlType::common_numeric(a, b)
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::Int => f.write_str("INTEGER"),
            SqlType::BigInt => f.write_str("BIGINT"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SqlType::String => f.write_str("STRING"),
            SqlType::Bytes => f.write_str("BYTES"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Array(t) => write!(f, "ARRAY<{t}>"),
            SqlType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            SqlType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, (name, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{name}` {t}")?;
                }
                f.write_str(">")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_follows_ksqldb_order() {
        assert!(SqlType::Int.can_widen_to(&SqlType::BigInt));
        assert!(SqlType::BigInt.can_widen_to(&SqlType::Double));
        assert!(!SqlType::Double.can_widen_to(&SqlType::Int));
        assert!(!SqlType::String.can_widen_to(&SqlType::Int));
        assert_eq!(
            SqlType::common_numeric(&SqlType::Int, &SqlType::BigInt),
            Some(SqlType::BigInt)
        );
        assert_eq!(
            SqlType::common_numeric(&SqlType::Int, &SqlType::Decimal { precision: 4, scale: 2 }),
            Some(SqlType::Decimal {
                precision: 12,
                scale: 2
            })
        );
    }

    #[test]
    fn display_matches_ksqldb() {
        let t = SqlType::Map(
            Box::new(SqlType::String),
            Box::new(SqlType::Array(Box::new(SqlType::Int))),
        );
        assert_eq!(t.to_string(), "MAP<STRING, ARRAY<INTEGER>>");
    }
}
