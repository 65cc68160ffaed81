#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The conformance suite against the embedded (redb) store, each test in its own directory.

mod conformance;

use orders::adapters::EmbeddedOrderStore;

async fn fresh_store() -> EmbeddedOrderStore {
    // Under target/, so the files outlive the store without littering /tmp.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep();
    EmbeddedOrderStore::open(dir).await.unwrap()
}

conformance_tests!(fresh_store());
refund_conformance_tests!(fresh_store());
listing_conformance_tests!(fresh_store());
cap_conformance_tests!(fresh_store());

/// The same behaviours on the in-memory store of the deterministic simulations, whose transactions
/// run on the calling task.
mod in_memory {
    use orders::adapters::EmbeddedOrderStore;

    async fn fresh_store() -> EmbeddedOrderStore {
        EmbeddedOrderStore::in_memory().unwrap()
    }

    crate::conformance_tests!(fresh_store());
    crate::refund_conformance_tests!(fresh_store());
    crate::listing_conformance_tests!(fresh_store());
    crate::cap_conformance_tests!(fresh_store());
}

#[tokio::test]
async fn orders_survive_reopening_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let order = conformance::new_order(None, conformance::T0);
    {
        let store = EmbeddedOrderStore::open(dir.path()).await.unwrap();
        use orders::ports::OrderCreator;
        store.create_order(&order, None).await.unwrap();
    }
    let reopened = EmbeddedOrderStore::open(dir.path()).await.unwrap();
    use orders::ports::OrderReader;
    assert_eq!(
        reopened.get_order(&order.order_no).await.unwrap(),
        Some(order)
    );
}
