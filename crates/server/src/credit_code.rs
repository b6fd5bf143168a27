//! 统一社会信用代码 (unified social credit code), GB 32100-2015.
//!
//! Eighteen characters from the 31-character set `0-9 A-H J-N P-R T U W-Y` (no I, O,
//! Z, S, V): 登记管理部门代码 (1), 机构类别代码 (1), 登记管理机关行政区划码 (6),
//! 主体标识码 (9, the organisation code), and a check character. The check character
//! is `31 − (Σ value(cᵢ) × wᵢ mod 31)` (31 becomes 0) with `wᵢ = 3^(i−1) mod 31`.

/// The GB 32100 character set; a character's value is its index.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn value(c: u8) -> Option<u32> {
    CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

/// The check character for the first 17 characters (already upper-case).
pub fn check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in bytes.iter().zip(WEIGHTS) {
        sum += value(*b)? * w;
    }
    let c = (31 - sum % 31) % 31;
    Some(CHARSET[c as usize] as char)
}

/// Why a credit code is invalid, in Chinese for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("统一社会信用代码应为18位，实际为{0}位")]
    Length(usize),
    #[error("统一社会信用代码第{position}位“{ch}”不是有效字符（不使用 I、O、Z、S、V）")]
    Character { position: usize, ch: char },
    #[error("统一社会信用代码校验位错误：应为“{expected}”，实际为“{actual}”")]
    CheckDigit { expected: char, actual: char },
}

/// Normalises (trims, upper-cases) and validates a credit code.
pub fn parse(text: &str) -> Result<String, CreditCodeError> {
    let code: String = text.trim().to_ascii_uppercase();
    let n = code.chars().count();
    if n != 18 {
        return Err(CreditCodeError::Length(n));
    }
    for (i, ch) in code.chars().enumerate() {
        if !ch.is_ascii() || value(ch as u8).is_none() {
            return Err(CreditCodeError::Character {
                position: i + 1,
                ch,
            });
        }
    }
    let expected = check_char(&code[..17]).ok_or(CreditCodeError::Length(n))?;
    let actual = code.as_bytes()[17] as char;
    if expected != actual {
        return Err(CreditCodeError::CheckDigit { expected, actual });
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Credit codes of well-known companies, as printed on their public business
    /// licences.
    const REAL: &[&str] = &[
        "914403001922038216", // 华为技术有限公司
        "9144030071526726XG", // 深圳市腾讯计算机系统有限公司
        "91330100716105852F", // 阿里巴巴（中国）网络技术有限公司
        "91350100M000100Y43", // the example code of GB 32100-2015 itself
    ];

    #[test]
    fn accepts_real_codes() {
        for c in REAL {
            assert_eq!(parse(c).as_deref(), Ok(*c), "{c}");
        }
        assert_eq!(
            parse(" 91330100716105852f ").as_deref(),
            Ok("91330100716105852F"),
            "trimmed and upper-cased"
        );
    }

    #[test]
    fn rejects_a_wrong_check_character() {
        assert_eq!(
            parse("914403001922038217"),
            Err(CreditCodeError::CheckDigit {
                expected: '6',
                actual: '7'
            })
        );
        // Two adjacent characters swapped: the weights make this detectable.
        assert!(matches!(
            parse("914403001922038126"),
            Err(CreditCodeError::CheckDigit { .. })
        ));
    }

    #[test]
    fn rejects_bad_length_and_characters() {
        assert_eq!(parse("91440300192203821"), Err(CreditCodeError::Length(17)));
        assert_eq!(parse(""), Err(CreditCodeError::Length(0)));
        assert!(matches!(
            parse("9144030019220382I6"),
            Err(CreditCodeError::Character { position: 17, .. })
        ));
        assert!(matches!(
            parse("91440300192203821中"),
            Err(CreditCodeError::Character { position: 18, .. })
        ));
        assert!(matches!(
            parse("' OR 1=1 --xxxxxxx"),
            Err(CreditCodeError::Character { .. })
        ));
    }

    #[test]
    fn check_char_generates_valid_codes() {
        let body = "12140000MB1234567";
        let c = check_char(body).expect("valid body");
        assert!(parse(&format!("{body}{c}")).is_ok());
    }
}
