//! Tables and key in the emulator, made through the DynamoDB and KMS APIs from
//! the typed stack model (the same `Table` and `KmsKey` values synth writes).
//! Idempotent: what the saved emulator state already has is checked against
//! the model and kept.
use crate::error::{bail, Context, Result};
use crate::model::{LocalModel, Resolver, REGION};
use aws_sdk_dynamodb::types as ddb;
use stack::resources::{AttributeType, KeyType, ProjectionType, Table};
use stack::Template;

pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            emulator::TEST_ACCESS_KEY_ID,
            emulator::TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "xtask-dev",
        ))
        .load()
        .await
}

/// What provisioning did.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub key_id: String,
    pub key_arn: String,
    pub key_created: bool,
    pub tables_created: Vec<String>,
    pub tables_kept: Vec<String>,
    pub resolver: Resolver,
}

pub async fn provision(t: &Template, m: &LocalModel, endpoint: &str) -> Result<Provisioned> {
    let conf = sdk_config(endpoint).await;
    let kms = aws_sdk_kms::Client::new(&conf);
    let dynamo = aws_sdk_dynamodb::Client::new(&conf);

    // The key: found by its alias when the saved state has it.
    let mut existing = None;
    if let Some(alias) = &m.key.alias {
        let aliases = kms.list_aliases().send().await.context("KMS ListAliases")?;
        existing = aliases
            .aliases()
            .iter()
            .find(|a| a.alias_name() == Some(alias.as_str()))
            .and_then(|a| a.target_key_id().map(str::to_string));
    }
    let key_created = existing.is_none();
    let key_id = match existing {
        Some(id) => id,
        None => {
            let placeholder = crate::model::resolver(t, "", "");
            let policy = placeholder
                .resolve(&m.key.policy)
                .context("resolving the key policy")?;
            let out = kms
                .create_key()
                .description(&m.key.description)
                .policy(policy.to_string())
                .key_usage(aws_sdk_kms::types::KeyUsageType::EncryptDecrypt)
                .key_spec(aws_sdk_kms::types::KeySpec::SymmetricDefault)
                .send()
                .await
                .context("KMS CreateKey")?;
            let id = out
                .key_metadata()
                .context("CreateKey returned no key")?
                .key_id()
                .to_string();
            if m.key.enable_rotation {
                kms.enable_key_rotation()
                    .key_id(&id)
                    .send()
                    .await
                    .context("KMS EnableKeyRotation")?;
            }
            if let Some(alias) = &m.key.alias {
                kms.create_alias()
                    .alias_name(alias)
                    .target_key_id(&id)
                    .send()
                    .await
                    .context("KMS CreateAlias")?;
            }
            id
        }
    };
    let described = kms
        .describe_key()
        .key_id(&key_id)
        .send()
        .await
        .context("KMS DescribeKey")?;
    let meta = described
        .key_metadata()
        .context("DescribeKey returned no key")?;
    let key_arn = meta.arn().context("the key has no ARN")?.to_string();
    let resolver = crate::model::resolver(t, &key_id, &key_arn);

    let mut tables_created = vec![];
    let mut tables_kept = vec![];
    for (id, table) in &m.tables {
        match dynamo
            .describe_table()
            .table_name(&table.table_name)
            .send()
            .await
        {
            Ok(out) => {
                let desc = out.table().context("DescribeTable returned no table")?;
                check_existing(table, desc).with_context(|| format!("table {id}"))?;
                tables_kept.push(table.table_name.clone());
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                create_table(&dynamo, table, &resolver)
                    .await
                    .with_context(|| format!("creating table {} ({id})", table.table_name))?;
                tables_created.push(table.table_name.clone());
            }
            Err(e) => return Err(e).context("DynamoDB DescribeTable"),
        }
        // TTL and PITR are set through their own APIs (idempotent).
        let ttl = &table.time_to_live_specification;
        let current = dynamo
            .describe_time_to_live()
            .table_name(&table.table_name)
            .send()
            .await
            .context("DynamoDB DescribeTimeToLive")?;
        let enabled = current
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status())
            .is_some_and(|s| *s == ddb::TimeToLiveStatus::Enabled);
        if ttl.enabled && !enabled {
            dynamo
                .update_time_to_live()
                .table_name(&table.table_name)
                .time_to_live_specification(
                    ddb::TimeToLiveSpecification::builder()
                        .attribute_name(&ttl.attribute_name)
                        .enabled(true)
                        .build()
                        .context("building a DynamoDB request")?,
                )
                .send()
                .await
                .context("DynamoDB UpdateTimeToLive")?;
        }
        if table
            .point_in_time_recovery_specification
            .point_in_time_recovery_enabled
        {
            dynamo
                .update_continuous_backups()
                .table_name(&table.table_name)
                .point_in_time_recovery_specification(
                    ddb::PointInTimeRecoverySpecification::builder()
                        .point_in_time_recovery_enabled(true)
                        .build()
                        .context("building a DynamoDB request")?,
                )
                .send()
                .await
                .context("DynamoDB UpdateContinuousBackups")?;
        }
    }
    Ok(Provisioned {
        key_id,
        key_arn,
        key_created,
        tables_created,
        tables_kept,
        resolver,
    })
}

fn attr_type(t: AttributeType) -> ddb::ScalarAttributeType {
    match t {
        AttributeType::S => ddb::ScalarAttributeType::S,
        AttributeType::N => ddb::ScalarAttributeType::N,
        AttributeType::B => ddb::ScalarAttributeType::B,
    }
}

fn key_type(k: KeyType) -> ddb::KeyType {
    match k {
        KeyType::Hash => ddb::KeyType::Hash,
        KeyType::Range => ddb::KeyType::Range,
    }
}

fn key_schema(
    elements: &[stack::resources::KeySchemaElement],
) -> Result<Vec<ddb::KeySchemaElement>> {
    elements
        .iter()
        .map(|k| {
            ddb::KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(key_type(k.key_type))
                .build()
                .context("building a DynamoDB request")
        })
        .collect()
}

async fn create_table(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &Table,
    r: &Resolver,
) -> Result<()> {
    let mut req = dynamo
        .create_table()
        .table_name(&table.table_name)
        .billing_mode(ddb::BillingMode::from(table.billing_mode.as_str()))
        .set_key_schema(Some(key_schema(&table.key_schema)?))
        .deletion_protection_enabled(table.deletion_protection_enabled);
    for a in &table.attribute_definitions {
        req = req.attribute_definitions(
            ddb::AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(attr_type(a.attribute_type))
                .build()
                .context("building a DynamoDB request")?,
        );
    }
    for g in &table.global_secondary_indexes {
        let projection = ddb::Projection::builder()
            .projection_type(match g.projection.projection_type {
                ProjectionType::All => ddb::ProjectionType::All,
                ProjectionType::KeysOnly => ddb::ProjectionType::KeysOnly,
                ProjectionType::Include => ddb::ProjectionType::Include,
            })
            .set_non_key_attributes(
                (!g.projection.non_key_attributes.is_empty())
                    .then(|| g.projection.non_key_attributes.clone()),
            )
            .build();
        req = req.global_secondary_indexes(
            ddb::GlobalSecondaryIndex::builder()
                .index_name(&g.index_name)
                .set_key_schema(Some(key_schema(&g.key_schema)?))
                .projection(projection)
                .build()
                .context("building a DynamoDB request")?,
        );
    }
    let sse = &table.sse_specification;
    if sse.sse_enabled {
        req = req.sse_specification(
            ddb::SseSpecification::builder()
                .enabled(true)
                .sse_type(ddb::SseType::from(sse.sse_type.as_str()))
                .kms_master_key_id(r.string(&sse.kms_master_key_id)?)
                .build(),
        );
    }
    req.send().await.context("DynamoDB CreateTable")?;
    Ok(())
}

/// A table from the saved state must have the model's keys and indexes.
fn check_existing(model: &Table, desc: &ddb::TableDescription) -> Result<()> {
    let have: Vec<(String, String)> = desc
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = key_schema(&model.key_schema)?
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    if have != want {
        bail!(
            "{} in the saved dev state has key schema {have:?} but the stack model has {want:?}; run `cargo xtask dev --fresh` to start over",
            model.table_name
        );
    }
    let have_gsis: Vec<&str> = desc
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name())
        .collect();
    for g in &model.global_secondary_indexes {
        if !have_gsis.contains(&g.index_name.as_str()) {
            bail!(
                "{} in the saved dev state has no index {}; run `cargo xtask dev --fresh` to start over",
                model.table_name,
                g.index_name
            );
        }
    }
    Ok(())
}
