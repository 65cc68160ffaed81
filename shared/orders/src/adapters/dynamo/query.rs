//! Query helpers: one page with its capacity counted, and every item of a partition.

use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;

use super::item::Item;
use super::{DynamoOrderStore, s, sdk_error};
use crate::ports::StoreError;

impl DynamoOrderStore {
    /// Sends one Query, asking for (and counting) the capacity it consumes when reads are counted.
    pub(super) async fn query_page(
        &self,
        query: QueryFluentBuilder,
    ) -> Result<QueryOutput, StoreError> {
        let output = query
            .set_return_consumed_capacity(Self::capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.count_capacity(
            u64::try_from(output.scanned_count()).unwrap_or(0),
            output.consumed_capacity(),
        );
        Ok(output)
    }

    /// Every item of partition `pk` (only those whose sort key begins with `sk_prefix`, if given),
    /// read consistently, page after page.
    pub(super) async fn query_partition(
        &self,
        pk: String,
        sk_prefix: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let query = self
                .client
                .query()
                .table_name(self.table.as_ref())
                .expression_attribute_values(":pk", s(pk.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start);
            let query = match sk_prefix {
                Some(prefix) => query
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", s(prefix)),
                None => query.key_condition_expression("pk = :pk"),
            };
            let output = self.query_page(query).await?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}
