//! Reading a template as JSON: its resources, their types and properties.

use serde_json::{Map, Value};

/// The template's resources, in template order (none for `Value::Null`: no stack).
pub fn resources(t: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    t.get("Resources")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// A resource's `Type` ("" when absent).
pub fn type_of(r: &Value) -> &str {
    r.get("Type").and_then(Value::as_str).unwrap_or_default()
}

/// A resource's `Properties` (`Value::Null` when absent).
pub fn properties(r: &Value) -> &Value {
    r.get("Properties").unwrap_or(&Value::Null)
}
