//! 文号 (document numbers) of the 卫生监督意见书: 地区简称 + 卫 + 类别 + 性质 +
//! 〔年份〕 + 序号, e.g. 晋卫监意字〔2025〕第0012号.
//!
//! The serial comes from the device's leased block of numbers (a number is never
//! issued twice); this module only formats and reads the text.

use std::fmt;

/// The parts of a 文号.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentNumber {
    /// 地区简称, e.g. 晋 (Shanxi), 并 (Taiyuan).
    pub region: String,
    /// 类别, e.g. 监 (监督).
    pub category: String,
    /// 性质, e.g. 意 (意见).
    pub nature: String,
    pub year: i32,
    /// 序号, printed with at least four digits.
    pub serial: u32,
}

impl DocumentNumber {
    /// A 卫生监督意见书 number (类别 监, 性质 意).
    pub fn opinion(region: &str, year: i32, serial: u32) -> DocumentNumber {
        DocumentNumber {
            region: region.to_owned(),
            category: "监".to_owned(),
            nature: "意".to_owned(),
            year,
            serial,
        }
    }

    /// Reads a number printed by [`fmt::Display`]; `None` for anything else.
    pub fn parse(text: &str) -> Option<DocumentNumber> {
        let text = text.trim();
        let (head, rest) = text.split_once('〔')?;
        let (year, rest) = rest.split_once('〕')?;
        let serial = rest.strip_prefix('第')?.strip_suffix('号')?;
        if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let head = head.strip_suffix('字')?;
        let (region, kinds) = head.split_once('卫')?;
        let mut kinds = kinds.chars();
        let category = kinds.next()?.to_string();
        let nature: String = kinds.collect();
        if region.is_empty() || nature.is_empty() {
            return None;
        }
        Some(DocumentNumber {
            region: region.to_owned(),
            category,
            nature,
            year: year.parse().ok()?,
            serial: serial.parse().ok()?,
        })
    }
}

impl fmt::Display for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}卫{}{}字〔{}〕第{:04}号",
            self.region, self.category, self.nature, self.year, self.serial
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_forms() {
        assert_eq!(
            DocumentNumber::opinion("晋", 2025, 12).to_string(),
            "晋卫监意字〔2025〕第0012号"
        );
        assert_eq!(
            DocumentNumber::opinion("并", 2025, 123_456).to_string(),
            "并卫监意字〔2025〕第123456号"
        );
    }

    #[test]
    fn parses_what_it_prints() {
        for n in [
            DocumentNumber::opinion("晋", 2025, 12),
            DocumentNumber::opinion("渝", 2022, 1),
            DocumentNumber {
                region: "晋".into(),
                category: "监".into(),
                nature: "罚".into(),
                year: 2024,
                serial: 9999,
            },
        ] {
            assert_eq!(DocumentNumber::parse(&n.to_string()), Some(n));
        }
        for bad in [
            "",
            "晋卫监意字2025第12号",
            "晋卫监意字〔2025〕第号",
            "卫监意字〔2025〕第1号",
            "晋卫监意字〔二〇二五〕第1号",
        ] {
            assert_eq!(DocumentNumber::parse(bad), None, "{bad}");
        }
    }
}
