//! The QR code of a `code_url`, as SVG.

use qrcode::QrCode;
use qrcode::render::svg;

/// An SVG QR code for `code_url` (quiet zone included), or `None` if the text cannot be encoded.
pub fn svg_for(code_url: &str) -> Option<String> {
    let code = QrCode::new(code_url.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_url_becomes_an_svg() {
        let svg = svg_for("weixin://wxpay/bizpayurl?pr=JyC91EIz1").unwrap();
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }
}
