//! DynamoDB's published item-size formula and the capacity units it implies
//! (moto reports a constant ConsumedCapacity, so tests compute units here).
//!
//! Item size = sum over attributes of (UTF-8 length of the name + size of the
//! value): strings by UTF-8 length, binary by length, numbers about one byte
//! per two significant digits plus one, booleans and nulls one byte, lists and
//! maps 3 bytes plus one byte per element plus the elements.
//!
//! * Write: 1 unit per 1 KB (rounded up) of the item written; an update is
//!   billed on the larger of the item before and after. A write that changes
//!   a GSI also writes the index (a key change: a delete and a put).
//! * Read: 1 unit per 4 KB of the summed item sizes a query returns, rounded
//!   up to 4 KB; an eventually consistent read costs half.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

/// Size in bytes of a number as DynamoDB counts it.
pub fn number_size(n: &str) -> usize {
    let digits: String = n
        .trim_start_matches('-')
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    let count = significant.len().max(1);
    count.div_ceil(2) + 1
}

pub fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(l) => 3 + l.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// Size in bytes of an item.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// Write units to write an item of `bytes`.
pub fn write_units(bytes: usize) -> u64 {
    (bytes.max(1) as u64).div_ceil(1024)
}

/// Read units to read `bytes` in one query or get.
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let blocks = (bytes.max(1) as u64).div_ceil(4096) as f64;
    if consistent {
        blocks
    } else {
        blocks / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(number_size("0"), 2);
        assert_eq!(number_size("1795824000"), 5);
        assert_eq!(number_size("1000"), 2);
        assert_eq!(number_size("12345"), 4);
        let item = HashMap::from([
            ("sk".to_string(), AttributeValue::S("SESSION".into())),
            ("n".to_string(), AttributeValue::N("12".into())),
        ]);
        assert_eq!(item_size(&item), 2 + 7 + 1 + 2);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        assert_eq!(read_units(4097, true), 2.0);
        assert_eq!(read_units(4000, false), 0.5);
    }
}
