//! The two tables: keys, the user index, TTL, point-in-time recovery and
//! the customer-managed key.

use super::*;

pub(super) fn attr(name: &str, kind: AttributeType) -> AttributeDefinition {
    AttributeDefinition {
        attribute_name: name.to_string(),
        attribute_type: kind,
    }
}

pub(super) fn key_el(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement {
        attribute_name: name.to_string(),
        key_type,
    }
}

pub(super) fn table_common(
    name: &str,
    attrs: Vec<AttributeDefinition>,
    key_schema: Vec<KeySchemaElement>,
    gsis: Vec<GlobalSecondaryIndex>,
) -> Table {
    Table {
        table_name: name.to_string(),
        billing_mode: "PAY_PER_REQUEST".into(),
        attribute_definitions: attrs,
        key_schema,
        global_secondary_indexes: gsis,
        point_in_time_recovery_specification: PointInTimeRecoverySpecification {
            point_in_time_recovery_enabled: true,
        },
        sse_specification: SseSpecification {
            sse_enabled: true,
            sse_type: "KMS".into(),
            kms_master_key_id: r#ref(KEY),
        },
        time_to_live_specification: TimeToLiveSpecification {
            attribute_name: "expiresAt".into(),
            enabled: true,
        },
        deletion_protection_enabled: true,
        tags: None,
    }
}

pub(super) fn tables(t: &mut Template, n: &Names) {
    t.resource(
        SESSIONS_TABLE,
        Resource::new(table_common(
            &n.sessions_table,
            vec![
                attr("sessionId", AttributeType::S),
                attr("sk", AttributeType::S),
                attr("updatedAt", AttributeType::S),
                attr("userId", AttributeType::S),
            ],
            vec![
                key_el("sessionId", KeyType::Hash),
                key_el("sk", KeyType::Range),
            ],
            vec![GlobalSecondaryIndex {
                index_name: n.user_session_index.clone(),
                key_schema: vec![
                    key_el("userId", KeyType::Hash),
                    key_el("updatedAt", KeyType::Range),
                ],
                projection: Projection {
                    projection_type: ProjectionType::Include,
                    non_key_attributes: USER_SESSION_INDEX_PROJECTION
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                },
            }],
        ))
        .retain(),
    );
    t.resource(
        USER_PROFILES_TABLE,
        Resource::new(table_common(
            &n.user_profiles_table,
            vec![attr("userId", AttributeType::S)],
            vec![key_el("userId", KeyType::Hash)],
            vec![],
        ))
        .retain(),
    );
}
