//! Money. Fines (罚没款) are integer fen (分), never floats; reports show 万元.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in fen (分, 1/100 yuan). Signed so that arithmetic cannot wrap
/// silently, but rules reject negative fines.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Fen(pub i64);

/// 1 万元 = 10,000 元 = 1,000,000 fen.
const FEN_PER_WAN: i64 = 1_000_000;

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Parses an amount in 元 as typed by a person ("5000", "5000.5", "1,200.00").
    /// At most two decimals; anything else is refused rather than rounded.
    pub fn parse_yuan(text: &str) -> Result<Fen, MoneyError> {
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| *c != ',' && *c != '，')
            .collect();
        let bad = || MoneyError::Invalid(text.to_owned());
        if cleaned.is_empty() {
            return Err(bad());
        }
        let (int_part, frac_part) = match cleaned.split_once('.') {
            Some((i, f)) => (i, f),
            None => (cleaned.as_str(), ""),
        };
        if int_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        if frac_part.len() > 2 {
            return Err(MoneyError::TooPrecise(text.to_owned()));
        }
        let yuan: i64 = int_part
            .parse()
            .map_err(|_| MoneyError::TooLarge(text.to_owned()))?;
        let mut frac: i64 = if frac_part.is_empty() {
            0
        } else {
            frac_part.parse().map_err(|_| bad())?
        };
        if frac_part.len() == 1 {
            frac *= 10;
        }
        yuan.checked_mul(100)
            .and_then(|f| f.checked_add(frac))
            .map(Fen)
            .ok_or_else(|| MoneyError::TooLarge(text.to_owned()))
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    /// The amount in 万元 as the summary tables show it: exact (no rounding),
    /// at least four decimals (one 元 is 0.0001 万元), more only when fen demand it.
    /// 12,345.67 元 → "1.234567"; 5,000 元 → "0.5000"; 0 → "0.0000".
    pub fn wan_yuan(self) -> String {
        let neg = self.0 < 0;
        let abs = self.0.unsigned_abs();
        let int = abs / FEN_PER_WAN as u64;
        let frac = abs % FEN_PER_WAN as u64;
        let mut digits = format!("{frac:06}");
        while digits.len() > 4 && digits.ends_with('0') {
            digits.pop();
        }
        format!("{}{int}.{digits}", if neg { "-" } else { "" })
    }

    /// The amount in 元 with two decimals, e.g. "12345.67".
    pub fn yuan(self) -> String {
        let neg = self.0 < 0;
        let abs = self.0.unsigned_abs();
        format!(
            "{}{}.{:02}",
            if neg { "-" } else { "" },
            abs / 100,
            abs % 100
        )
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}元", self.yuan())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("金额“{0}”无法识别，请输入以元为单位的数字，例如 5000 或 5000.50")]
    Invalid(String),
    #[error("金额“{0}”最多保留两位小数（到分）")]
    TooPrecise(String),
    #[error("金额“{0}”超出范围")]
    TooLarge(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yuan_exactly() {
        assert_eq!(Fen::parse_yuan("5000"), Ok(Fen(500_000)));
        assert_eq!(Fen::parse_yuan("5000.5"), Ok(Fen(500_050)));
        assert_eq!(Fen::parse_yuan(" 1,200.07 "), Ok(Fen(120_007)));
        assert_eq!(Fen::parse_yuan("0.01"), Ok(Fen(1)));
        assert!(matches!(
            Fen::parse_yuan("1.005"),
            Err(MoneyError::TooPrecise(_))
        ));
        assert!(matches!(Fen::parse_yuan("-5"), Err(MoneyError::Invalid(_))));
        assert!(matches!(
            Fen::parse_yuan("五千"),
            Err(MoneyError::Invalid(_))
        ));
        assert!(matches!(Fen::parse_yuan(""), Err(MoneyError::Invalid(_))));
        assert!(matches!(Fen::parse_yuan(".5"), Err(MoneyError::Invalid(_))));
        assert!(matches!(
            Fen::parse_yuan("99999999999999999999"),
            Err(MoneyError::TooLarge(_))
        ));
    }

    #[test]
    fn shows_wan_yuan_without_rounding() {
        assert_eq!(Fen(1_234_567).wan_yuan(), "1.234567");
        assert_eq!(Fen(500_000).wan_yuan(), "0.5000");
        assert_eq!(Fen(0).wan_yuan(), "0.0000");
        assert_eq!(Fen(3_000_000).wan_yuan(), "3.0000");
        assert_eq!(Fen(100).wan_yuan(), "0.0001");
        assert_eq!(Fen(150).wan_yuan(), "0.00015");
        assert_eq!(Fen(123_456).yuan(), "1234.56");
    }
}
