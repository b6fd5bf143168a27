//! Inputs and pieces shared by the documents: people and their signatures, Beijing
//! time, and the signature boxes.

use crate::compose::{Canvas, Composer, ImageRef, Style};
use crate::image::prepare_signature;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Utc};
use jiandu_core::inspection::AssignedInspector;

/// China Standard Time (UTC+8, no daylight saving): every date on a document is
/// the date in Beijing, whatever the device clock's zone.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// "2025年6月12日".
pub fn cn_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// The Beijing date of an instant.
pub fn beijing_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&beijing()).date_naive()
}

/// "2025年6月12日9时05分" in Beijing time.
pub fn cn_datetime(t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&beijing());
    format!(
        "{}年{}月{}日{}时{:02}分",
        l.year(),
        l.month(),
        l.day(),
        l.hour(),
        l.minute()
    )
}

/// An inspector (执法人员) as printed, with the signature PNG captured on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectorSign {
    pub name: String,
    /// 执法证号.
    pub badge_no: String,
    /// PNG bytes; `None` leaves a blank line to sign by hand.
    pub signature_png: Option<Vec<u8>>,
    /// When the inspector signed (the 签名日期 printed beside the signature);
    /// `None` prints "年 月 日" blanks.
    pub signed_at: Option<DateTime<Utc>>,
}

impl From<&AssignedInspector> for InspectorSign {
    fn from(a: &AssignedInspector) -> Self {
        InspectorSign {
            name: a.name.clone(),
            badge_no: a.badge_no.clone(),
            signature_png: None,
            signed_at: None,
        }
    }
}

/// "2025年6月12日" for a signing time, or the blanks to write it by hand.
pub fn sign_date(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| cn_date(beijing_date(t)))
        .unwrap_or_else(|| "    年  月  日".to_owned())
}

/// A signature of the inspected party (被检查人/被监督人) or a witness (见证人).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartySign {
    pub name: String,
    /// PNG bytes; `None` leaves a blank line.
    pub signature_png: Option<Vec<u8>>,
    /// When signed; `None` prints "年 月 日" blanks.
    pub signed_at: Option<DateTime<Utc>>,
}

/// How the inspected party answered the record (《行政强制法》第18条).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartyConfirmation {
    /// Read the record and signed it (the signature repeats on every page).
    Signed(PartySign),
    /// 当事人拒绝签字: the reason, and a witness's signature where one was found.
    Refused {
        reason: String,
        witness: Option<PartySign>,
    },
    /// Printed before signing: blank lines to sign on paper.
    Pending,
}

/// A signature image placed in a composer, or nothing (blank line).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sig {
    pub image: Option<(ImageRef, f32)>,
}

impl Sig {
    /// Registers a signature PNG; a missing or unreadable one gives a blank line
    /// (an unreadable one is no reason to refuse printing the document).
    pub fn register(c: &mut Composer<'_>, png: Option<&[u8]>) -> Sig {
        match prepare_signature(png) {
            Ok(img) => {
                let aspect = img.aspect();
                Sig {
                    image: Some((c.add_image(img), aspect)),
                }
            }
            Err(_) => Sig { image: None },
        }
    }

    /// Draws the signature fitted into `w` × `h` at (x, top), on an underline.
    pub fn draw(&self, canvas: &mut Canvas<'_>, x: f32, top: f32, w: f32, h: f32) {
        if let Some((img, aspect)) = self.image {
            let (mut iw, mut ih) = (w, w / aspect);
            if ih > h {
                ih = h;
                iw = h * aspect;
            }
            canvas.image(img, x, top + h - ih, iw, ih);
        }
        // After the image: its white background must not hide the line.
        canvas.hline(x, x + w, top + h, 0.5);
    }
}

/// Standard text sizes of the forms (三号 title, 四号/小四 body, 五号 notes).
pub(crate) const TITLE: Style = Style::new(22.0).bold().leading(1.5);
pub(crate) const SUBTITLE: Style = Style::new(15.0).leading(1.5);
pub(crate) const BODY: Style = Style::new(12.0).leading(1.75);
pub(crate) const LABEL: Style = Style::new(12.0).bold().leading(1.75);
pub(crate) const SMALL: Style = Style::new(10.5).leading(1.5);
pub(crate) const NOTE: Style = Style::new(9.0).leading(1.4);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_are_beijing_dates() {
        // 20:30 UTC on 11 June is 04:30 on 12 June in Beijing.
        let t = Utc.with_ymd_and_hms(2025, 6, 11, 20, 30, 0).unwrap();
        assert_eq!(cn_datetime(t), "2025年6月12日4时30分");
        assert_eq!(cn_date(beijing_date(t)), "2025年6月12日");
    }
}
