//! Creates the table with its GSIs and TTL, for local runs and tests (production's comes from the
//! SAM template, which must match: see the names in [`super::item`]).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use super::item::{
    BUYER_HASH, BY_BUYER_INDEX, BY_STATUS_INDEX, CREATED_AT, PENDING_INDEX, PENDING_PK, PENDING_SK,
    PK, REFUNDING_INDEX, REFUNDING_PK, REFUNDING_SK, SK, STATUS_PK, STATUS_SK, TTL,
};
use super::sdk_error;
use crate::ports::StoreError;
use aws_sdk_dynamodb::types::TableStatus;

fn invalid(err: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(err.to_string())
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(invalid)
}

fn attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(invalid)
}

fn index(name: &str, hash: &str, range: &str) -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(invalid)
}

/// Creates `table` (on-demand): key `pk`/`sk`, GSIs `pending` (`pendingPk`, `pendingSk`),
/// `byBuyer` (`buyerHash`, `createdAt`), `refunding` (`refundingPk`, `refundingSk`) and
/// `byStatus` (`statusPk`, `statusSk`), all
/// projecting all attributes, and TTL on `ttl`.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(index(PENDING_INDEX, PENDING_PK, PENDING_SK)?)
        .global_secondary_indexes(index(BY_BUYER_INDEX, BUYER_HASH, CREATED_AT)?)
        .global_secondary_indexes(index(REFUNDING_INDEX, REFUNDING_PK, REFUNDING_SK)?)
        .global_secondary_indexes(index(BY_STATUS_INDEX, STATUS_PK, STATUS_SK)?);
    for name in [
        PK,
        SK,
        PENDING_PK,
        PENDING_SK,
        BUYER_HASH,
        CREATED_AT,
        REFUNDING_PK,
        REFUNDING_SK,
        STATUS_PK,
        STATUS_SK,
    ] {
        request = request.attribute_definitions(attribute(name)?);
    }
    request.send().await.map_err(sdk_error)?;
    wait_until_active(client, table).await?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL)
                .enabled(true)
                .build()
                .map_err(invalid)?,
        )
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

async fn wait_until_active(client: &Client, table: &str) -> Result<(), StoreError> {
    for _ in 0..120 {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(sdk_error)?;
        let status = described.table().and_then(|t| t.table_status());
        if status == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(StoreError::Unavailable(format!(
        "table {table} did not become active"
    )))
}
