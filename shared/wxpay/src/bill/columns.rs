//! The columns of the trade bill (`bill_type=ALL`), as WeChat Pay names them in the header rows.
//!
//! §8 of the protocol reference confirms the layout (a header row, detail rows with every field
//! prefixed by a backtick, a summary header, a summary row, comma-separated) but not the column
//! list: these 27 detail and 7 summary columns are the ones in the bills quoted by WeChat Pay's
//! own SDK tests (wechatpay-go) and in merchants' fixtures (assumption, widely observed). The
//! parser finds its columns by name, so an added or reordered column does not break it.

/// 交易时间: `yyyy-MM-dd HH:mm:ss`, China Standard Time.
pub const TIME: &str = "交易时间";
/// 公众账号ID: the appid.
pub const APPID: &str = "公众账号ID";
/// 商户号: the mchid.
pub const MCHID: &str = "商户号";
/// 特约商户号: the sub-merchant (`0` for a direct merchant).
pub const SUB_MCHID: &str = "特约商户号";
/// 设备号.
pub const DEVICE: &str = "设备号";
/// 微信订单号: `transaction_id` (of the original payment, on a refund row too).
pub const TRANSACTION_ID: &str = "微信订单号";
/// 商户订单号: `out_trade_no`.
pub const OUT_TRADE_NO: &str = "商户订单号";
/// 用户标识: the payer's openid.
pub const OPENID: &str = "用户标识";
/// 交易类型: `NATIVE`, `JSAPI`, …
pub const TRADE_TYPE: &str = "交易类型";
/// 交易状态: `SUCCESS` (a payment) or `REFUND` (a refund).
pub const TRADE_STATUS: &str = "交易状态";
/// 付款银行: `bank_type`.
pub const BANK: &str = "付款银行";
/// 货币种类: `CNY`.
pub const CURRENCY: &str = "货币种类";
/// 应结订单金额: what the payment settles (0.00 on a refund row), yuan.
pub const SETTLEMENT_TOTAL: &str = "应结订单金额";
/// 代金券金额: vouchers, yuan.
pub const COUPON: &str = "代金券金额";
/// 微信退款单号: `refund_id` (`0` on a payment row).
pub const REFUND_ID: &str = "微信退款单号";
/// 商户退款单号: `out_refund_no` (`0` on a payment row).
pub const OUT_REFUND_NO: &str = "商户退款单号";
/// 退款金额: what the refund settles, yuan.
pub const REFUND: &str = "退款金额";
/// 充值券退款金额: recharge vouchers refunded, yuan.
pub const RECHARGE_COUPON_REFUND: &str = "充值券退款金额";
/// 退款类型: `ORIGINAL`, …
pub const REFUND_TYPE: &str = "退款类型";
/// 退款状态: `SUCCESS`, …
pub const REFUND_STATUS: &str = "退款状态";
/// 商品名称: the order's `description` (free text).
pub const DESCRIPTION: &str = "商品名称";
/// 商户数据包: the order's `attach` (free text).
pub const ATTACH: &str = "商户数据包";
/// 手续费: WeChat Pay's fee, yuan with five decimals, negative on a refund row.
pub const FEE: &str = "手续费";
/// 费率: the fee rate, `0.60%`.
pub const FEE_RATE: &str = "费率";
/// 订单金额: the order's total, yuan (on a refund row too).
pub const ORDER_TOTAL: &str = "订单金额";
/// 申请退款金额: the refund asked for, yuan.
pub const REQUESTED_REFUND: &str = "申请退款金额";
/// 费率备注.
pub const FEE_NOTE: &str = "费率备注";

/// The detail columns, in WeChat Pay's order.
pub const DETAIL: [&str; 27] = [
    TIME,
    APPID,
    MCHID,
    SUB_MCHID,
    DEVICE,
    TRANSACTION_ID,
    OUT_TRADE_NO,
    OPENID,
    TRADE_TYPE,
    TRADE_STATUS,
    BANK,
    CURRENCY,
    SETTLEMENT_TOTAL,
    COUPON,
    REFUND_ID,
    OUT_REFUND_NO,
    REFUND,
    RECHARGE_COUPON_REFUND,
    REFUND_TYPE,
    REFUND_STATUS,
    DESCRIPTION,
    ATTACH,
    FEE,
    FEE_RATE,
    ORDER_TOTAL,
    REQUESTED_REFUND,
    FEE_NOTE,
];

/// 总交易单数: the number of detail rows.
pub const SUM_COUNT: &str = "总交易单数";
/// 应结订单总金额: the sum of [`SETTLEMENT_TOTAL`].
pub const SUM_SETTLEMENT_TOTAL: &str = "应结订单总金额";
/// 退款总金额: the sum of [`REFUND`].
pub const SUM_REFUND: &str = "退款总金额";
/// 充值券退款总金额: the sum of [`RECHARGE_COUPON_REFUND`].
pub const SUM_RECHARGE_COUPON_REFUND: &str = "充值券退款总金额";
/// 手续费总金额: the sum of [`FEE`].
pub const SUM_FEE: &str = "手续费总金额";
/// 订单总金额: the sum of [`ORDER_TOTAL`].
pub const SUM_ORDER_TOTAL: &str = "订单总金额";
/// 申请退款总金额: the sum of [`REQUESTED_REFUND`].
pub const SUM_REQUESTED_REFUND: &str = "申请退款总金额";

/// The summary columns, in WeChat Pay's order.
pub const SUMMARY: [&str; 7] = [
    SUM_COUNT,
    SUM_SETTLEMENT_TOTAL,
    SUM_REFUND,
    SUM_RECHARGE_COUPON_REFUND,
    SUM_FEE,
    SUM_ORDER_TOTAL,
    SUM_REQUESTED_REFUND,
];
