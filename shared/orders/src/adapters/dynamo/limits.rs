//! Fixed-window rate counters: one item per window (`LIMIT#{name}#{start}`), counted by a
//! conditional atomic `ADD`, with a TTL so old windows expire.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{LIMIT_SK, PK, SK, TTL};
use super::{DynamoOrderStore, s, sdk_error};
use crate::adapters::keys::limit_pk;
use crate::ports::{RateCounter, RateWindow, StoreError};

/// How long a window's item outlives the window before DynamoDB may delete it.
const KEEP_AFTER_WINDOW_SECS: i64 = 60;

impl RateCounter for DynamoOrderStore {
    async fn admit(&self, window: &RateWindow) -> Result<bool, StoreError> {
        let expires = (window.start + window.length).unix_timestamp() + KEEP_AFTER_WINDOW_SECS;
        let result = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .key(PK, s(limit_pk(window.name, window.start)))
            .key(SK, s(LIMIT_SK))
            .update_expression("ADD #count :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":limit", AttributeValue::N(window.limit.to_string()))
            .expression_attribute_values(":ttl", AttributeValue::N(expires.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(err))
                if matches!(
                    err.err(),
                    UpdateItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(sdk_error(err)),
        }
    }
}
