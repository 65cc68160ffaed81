//! [`PaymentGateway`] for the `wxpay` client.

use wxpay::models::{NativePrepayRequest, Transaction};
use wxpay::{Client, ClientError};

use crate::ports::{GatewayError, PaymentGateway};

/// Sorts a client error into what the order services act on.
pub fn gateway_error(err: ClientError) -> GatewayError {
    match err {
        ClientError::Timeout => GatewayError::Timeout,
        ClientError::Connect(detail) | ClientError::Transport(detail) => {
            GatewayError::Unavailable(detail)
        }
        ClientError::Api {
            status,
            code,
            message,
            ..
        } => match code.as_str() {
            "ORDERPAID" | "ORDER_PAID" => GatewayError::OrderPaid,
            "ORDER_CLOSED" => GatewayError::OrderClosed,
            "ORDER_NOT_EXIST" | "ORDERNOTEXIST" if status == 404 => GatewayError::OrderNotFound,
            "FREQUENCY_LIMITED" => GatewayError::Throttled(format!("{status} {code}: {message}")),
            _ if status == 429 => GatewayError::Throttled(format!("{status} {code}: {message}")),
            _ if status >= 500 => GatewayError::Unavailable(format!("{status} {code}: {message}")),
            _ => GatewayError::Rejected {
                status,
                code,
                message,
            },
        },
        ClientError::Verification(err) => {
            GatewayError::InvalidResponse(format!("unverified answer: {err}"))
        }
        ClientError::InvalidResponse(detail) => GatewayError::InvalidResponse(detail),
        other @ (ClientError::InvalidRequest(_)
        | ClientError::Signing(_)
        | ClientError::Config(_)) => GatewayError::NotSent(other.to_string()),
    }
}

impl PaymentGateway for Client {
    async fn native_prepay(&self, request: &NativePrepayRequest) -> Result<String, GatewayError> {
        Client::native_prepay(self, request)
            .await
            .map(|response| response.code_url)
            .map_err(gateway_error)
    }

    async fn query_order(&self, out_trade_no: &str) -> Result<Option<Transaction>, GatewayError> {
        match self
            .query_by_out_trade_no(out_trade_no)
            .await
            .map_err(gateway_error)
        {
            Ok(transaction) => Ok(Some(transaction)),
            Err(GatewayError::OrderNotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn close_order(&self, out_trade_no: &str) -> Result<(), GatewayError> {
        self.close(out_trade_no).await.map_err(gateway_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> ClientError {
        ClientError::Api {
            status,
            code: code.into(),
            message: "m".into(),
            detail: None,
        }
    }

    #[test]
    fn only_a_404_that_says_order_not_exist_means_unknown_order() {
        assert_eq!(
            gateway_error(api(404, "ORDERNOTEXIST")),
            GatewayError::OrderNotFound
        );
        for foreign in [
            api(404, ""),
            api(404, "RESOURCE_NOT_EXISTS"),
            api(400, "ORDER_NOT_EXIST"),
        ] {
            assert!(
                matches!(gateway_error(foreign), GatewayError::Rejected { .. }),
                "a 404 without ORDER_NOT_EXIST, or that code without a 404, is no proof"
            );
        }
    }

    #[test]
    fn client_errors_sort_into_gateway_errors() {
        assert_eq!(gateway_error(ClientError::Timeout), GatewayError::Timeout);
        assert!(matches!(
            gateway_error(ClientError::Connect("x".into())),
            GatewayError::Unavailable(_)
        ));
        assert_eq!(
            gateway_error(api(403, "ORDERPAID")),
            GatewayError::OrderPaid
        );
        assert_eq!(
            gateway_error(api(400, "ORDER_CLOSED")),
            GatewayError::OrderClosed
        );
        assert_eq!(
            gateway_error(api(404, "ORDER_NOT_EXIST")),
            GatewayError::OrderNotFound
        );
        assert!(matches!(
            gateway_error(api(429, "FREQUENCY_LIMITED")),
            GatewayError::Throttled(_)
        ));
        assert!(matches!(
            gateway_error(api(429, "")),
            GatewayError::Throttled(_)
        ));
        assert!(matches!(
            gateway_error(api(500, "SYSTEM_ERROR")),
            GatewayError::Unavailable(_)
        ));
        assert!(matches!(
            gateway_error(api(400, "PARAM_ERROR")),
            GatewayError::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            gateway_error(ClientError::Config("c".into())),
            GatewayError::NotSent(_)
        ));
    }
}
