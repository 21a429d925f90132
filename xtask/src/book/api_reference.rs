//! The HTTP API's reference page, generated from the same OpenAPI document
//! as templates/openapi.yaml (`functions::openapi::document`): each route's
//! actions with their fields and an example, its answers with their error
//! codes, then every schema's fields.

use serde_json::Value;
use std::collections::BTreeSet;

/// `|` and line breaks would break a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `#/components/schemas/Turn` → `Turn`.
fn ref_name(v: &Value) -> Option<&str> {
    v["$ref"].as_str().and_then(|r| r.rsplit('/').next())
}

/// A field's type as a reader wants it: a schema's link, `string`, `integer`, an enum.
fn type_of(v: &Value, schemas: &Value) -> String {
    if let Some(name) = ref_name(v) {
        let target = &schemas[name];
        // Only object schemas get a section of their own.
        return if target.get("properties").is_some() {
            format!("[{name}](#{})", name.to_lowercase())
        } else {
            type_of(target, schemas)
        };
    }
    if let Some(c) = v.get("const") {
        return format!("`{c}`");
    }
    if let Some(e) = v["enum"].as_array() {
        let vals: Vec<String> = e.iter().map(|x| format!("`{x}`")).collect();
        return vals.join(", ");
    }
    let ty = match &v["type"] {
        Value::String(t) => t.clone(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => String::new(),
    };
    if ty == "array" {
        return format!("array of {}", type_of(&v["items"], schemas));
    }
    if let Some(alts) = v["oneOf"].as_array().or(v["anyOf"].as_array()) {
        let alts: Vec<String> = alts.iter().map(|a| type_of(a, schemas)).collect();
        return alts.join(" or ");
    }
    ty
}

/// Bounds of a field: `1..=50`, `≤ 16384 chars`.
fn bounds(v: &Value) -> String {
    let mut b = Vec::new();
    match (v.get("minimum"), v.get("maximum")) {
        (Some(lo), Some(hi)) => b.push(format!("{lo}..={hi}")),
        (None, Some(hi)) => b.push(format!("≤ {hi}")),
        (Some(lo), None) => b.push(format!("≥ {lo}")),
        _ => {}
    }
    if let Some(n) = v.get("maxLength") {
        b.push(format!("≤ {n} chars"));
    }
    if let Some(n) = v.get("maxItems") {
        b.push(format!("≤ {n} items"));
    }
    if let Some(d) = v.get("default") {
        b.push(format!("default {d}"));
    }
    b.join(", ")
}

/// A table of an object schema's fields (skipping `skip`).
fn fields(schema: &Value, schemas: &Value, skip: &str, out: &mut String) {
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let Some(props) = schema["properties"].as_object() else {
        return;
    };
    let rows: Vec<_> = props.iter().filter(|(k, _)| k.as_str() != skip).collect();
    if rows.is_empty() {
        out.push_str("No other fields.\n\n");
        return;
    }
    out.push_str("| field | type | required | limits | meaning |\n|---|---|---|---|---|\n");
    for (name, v) in rows {
        out.push_str(&format!(
            "| `{name}` | {} | {} | {} | {} |\n",
            cell(&type_of(v, schemas)),
            if required.contains(name.as_str()) {
                "yes"
            } else {
                ""
            },
            cell(&bounds(v)),
            cell(v["description"].as_str().unwrap_or(""))
        ));
    }
    out.push('\n');
}

/// The error codes an answer's schema names, wherever its `enum` sits.
fn codes(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(e)) = m.get("properties").and_then(|p| p["code"].get("enum")) {
                out.extend(e.iter().filter_map(Value::as_str).map(str::to_string));
            }
            m.values().for_each(|v| codes(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| codes(v, out)),
        _ => {}
    }
}

pub fn markdown() -> String {
    let doc = functions::openapi::document();
    let schemas = &doc["components"]["schemas"];
    let mut m = String::new();
    m.push_str(&format!(
        "{}\n\n",
        doc["info"]["description"].as_str().unwrap_or("")
    ));
    for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in ops.as_object().into_iter().flatten() {
            m.push_str(&format!("## {} {path}\n\n", method.to_uppercase()));
            m.push_str(&format!("{}\n\n", op["description"].as_str().unwrap_or("")));
            let body = &op["requestBody"]["content"]["application/json"];
            let request = ref_name(&body["schema"]).map(|n| &schemas[n]);
            for alt in request
                .and_then(|r| r["oneOf"].as_array())
                .into_iter()
                .flatten()
            {
                let action = alt["properties"]["action"]["const"].as_str().unwrap_or("?");
                m.push_str(&format!("### `{action}`\n\n"));
                fields(alt, schemas, "action", &mut m);
                if let Some(example) = body["examples"][action].get("value") {
                    m.push_str(&format!(
                        "```json\n{}\n```\n\n",
                        serde_json::to_string(example).unwrap_or_default()
                    ));
                }
            }
            m.push_str(&format!(
                "### Answers of {} {path}\n\n| status | when | error codes |\n|---|---|---|\n",
                method.to_uppercase()
            ));
            for (status, answer) in op["responses"].as_object().into_iter().flatten() {
                let mut c = BTreeSet::new();
                codes(answer, &mut c);
                let c: Vec<String> = c.iter().map(|c| format!("`{c}`")).collect();
                m.push_str(&format!(
                    "| {status} | {} | {} |\n",
                    cell(answer["description"].as_str().unwrap_or("")),
                    c.join(", ")
                ));
            }
            m.push('\n');
        }
    }
    m.push_str("## Schemas\n\n");
    for (name, s) in schemas.as_object().into_iter().flatten() {
        if s.get("properties").is_none() {
            continue;
        }
        m.push_str(&format!("### {name}\n\n"));
        if let Some(d) = s["description"].as_str() {
            m.push_str(&format!("{d}\n\n"));
        }
        fields(s, schemas, "", &mut m);
    }
    m
}
