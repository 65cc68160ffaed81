//! What every Lambda function loads at a cold start (its setup), in one place.

use env_config::{
    ConfigError, Env, FlowSettings, MerchantSecrets, WxPaySettings, aws_config, dynamodb_client,
    orders_config, secrets_manager_client, wxpay_client,
};

/// The configuration and clients shared by the three functions: merchant settings, flow timing,
/// the orders table, a DynamoDB client and the WeChat Pay client (its secrets read from Secrets
/// Manager when `WXPAY_SECRET_ID` is set).
pub struct Setup {
    /// `WXPAY_*` settings.
    pub wxpay_settings: WxPaySettings,
    /// `ORDER_TTL_SECS`, `RECONCILE_*`.
    pub flow: FlowSettings,
    /// `ORDERS_TABLE`.
    pub orders_table: String,
    /// DynamoDB (honours `AWS_ENDPOINT_URL_DYNAMODB`).
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// WeChat Pay.
    pub wxpay: wxpay::Client,
}

impl Setup {
    /// Reads the variables (failing on the first missing one, by name), loads the secrets and
    /// builds the clients.
    pub async fn load(env: &impl Env) -> Result<Self, ConfigError> {
        let wxpay_settings = WxPaySettings::from_env(env)?;
        let flow = FlowSettings::from_env(env)?;
        let orders_table = env.required("ORDERS_TABLE")?;
        let aws = aws_config().await?;
        let secrets_manager = secrets_manager_client(&aws);
        let secrets =
            MerchantSecrets::load(&wxpay_settings.secrets, Some(&secrets_manager)).await?;
        let wxpay = wxpay_client(&wxpay_settings, secrets)?;
        Ok(Self {
            dynamodb: dynamodb_client(&aws),
            wxpay_settings,
            flow,
            orders_table,
            wxpay,
        })
    }

    /// The order services' configuration.
    pub fn orders_config(&self) -> orders::OrdersConfig {
        orders_config(&self.wxpay_settings, &self.flow)
    }
}
