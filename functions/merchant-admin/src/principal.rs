//! Who is asking: put on the request by the host once it has authenticated the caller (in AWS, the
//! IAM principal API Gateway verified; locally, `local-admin` once the bearer token matched), and
//! stored with each refund as `requestedBy`.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lambda_http::request::RequestContext;

use crate::envelope::AdminError;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(pub String);

/// The name the local stack's token stands for.
pub const LOCAL_ADMIN: &str = "local-admin";

/// The IAM principal of an API Gateway (HTTP API) request authorized with `AWS_IAM`:
/// `requestContext.authorizer.iam.userArn`.
pub fn from_lambda_context(context: &RequestContext) -> Option<Principal> {
    match context {
        RequestContext::ApiGatewayV2(context) => context
            .authorizer
            .as_ref()?
            .iam
            .as_ref()?
            .user_arn
            .clone()
            .filter(|arn| !arn.is_empty())
            .map(Principal),
        _ => None,
    }
}

/// Middleware of the Lambda: the request's IAM principal as its [`Principal`] (none if absent,
/// so that the router answers 401).
pub async fn from_lambda(mut request: Request, next: Next) -> Response {
    let principal = request
        .extensions()
        .get::<RequestContext>()
        .and_then(from_lambda_context);
    match principal {
        Some(principal) => {
            request.extensions_mut().insert(principal);
        }
        None => {
            request.extensions_mut().remove::<Principal>();
        }
    }
    next.run(request).await
}

/// Middleware of the router: 401 unless the host put a [`Principal`] on the request.
pub async fn required(request: Request, next: Next) -> Response {
    if request.extensions().get::<Principal>().is_none() {
        return AdminError::Unauthenticated.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;

    fn context(authorizer: serde_json::Value) -> RequestContext {
        let mut value = serde_json::json!({
            "routeKey": "POST /admin/orders/{orderNo}/refunds",
            "accountId": "123456789012",
            "stage": "$default",
            "requestId": "id",
            "apiId": "api",
            "domainName": "api.example",
            "domainPrefix": "api",
            "time": "01/May/2024:00:00:00 +0000",
            "timeEpoch": 0,
            "http": {"method": "POST", "path": "/admin/orders", "protocol": "HTTP/1.1",
                     "sourceIp": "1.2.3.4", "userAgent": "wxpay-admin"}
        });
        if !authorizer.is_null() {
            value["authorizer"] = authorizer;
        }
        let context: ApiGatewayV2httpRequestContext = serde_json::from_value(value).unwrap();
        RequestContext::ApiGatewayV2(context)
    }

    #[test]
    fn the_iam_user_arn_is_the_principal_and_nothing_else_is() {
        let arn = "arn:aws:sts::123456789012:assumed-role/Refunds/alice";
        let signed =
            context(serde_json::json!({"iam": {"userArn": arn, "accountId": "123456789012"}}));
        assert_eq!(from_lambda_context(&signed), Some(Principal(arn.into())));
        assert_eq!(from_lambda_context(&context(serde_json::Value::Null)), None);
        let empty = context(serde_json::json!({"iam": {"userArn": ""}}));
        assert_eq!(from_lambda_context(&empty), None);
        let jwt = context(serde_json::json!({"jwt": {"claims": {"sub": "x"}, "scopes": []}}));
        assert_eq!(from_lambda_context(&jwt), None);
    }
}
