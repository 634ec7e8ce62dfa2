//! The QR code of an `otpauth://` URI, as PNG and SVG, drawn by the server (no third-party
//! service ever sees the secret).

use qrcode::QrCode;
use qrcode::render::svg;

use crate::error::{Error, Result};

fn code(uri: &str) -> Result<QrCode> {
    QrCode::new(uri.as_bytes()).map_err(|e| Error::Internal(anyhow::anyhow!("drawing a QR code: {e}")))
}

pub fn svg(uri: &str) -> Result<String> {
    Ok(code(uri)?.render::<svg::Color<'_>>().min_dimensions(240, 240).quiet_zone(true).build())
}

pub fn png(uri: &str) -> Result<Vec<u8>> {
    let image = code(uri)?.render::<image::Luma<u8>>().min_dimensions(240, 240).quiet_zone(true).build();
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| Error::Internal(anyhow::anyhow!("encoding a QR code as PNG: {e}")))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_forms_are_drawn() {
        let uri = "otpauth://totp/Roster:ann?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Roster";
        let png = super::png(uri).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let svg = super::svg(uri).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
    }
}
