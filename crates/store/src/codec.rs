//! How values are written to and read from SQLite columns.
//!
//! Times: UTC RFC 3339 with nine fraction digits and `Z` (fixed width, so text order
//! is time order, and a `DateTime<Utc>` reads back exactly equal). Ids: hyphenated
//! lowercase UUID text. Enumerations: jiandu-core's snake_case names.

use crate::error::{Result, StoreError};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use jiandu_core::inspection::DrawKind;
use uuid::Uuid;

pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Data(format!("时间“{s}”无法解析：{e}")))
}

pub(crate) fn parse_opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Data(format!("编号“{s}”无法解析：{e}")))
}

pub(crate) fn parse_opt_uuid(s: Option<String>) -> Result<Option<Uuid>> {
    s.as_deref().map(parse_uuid).transpose()
}

pub(crate) fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| StoreError::Data(format!("日期“{s}”无法解析：{e}")))
}

pub(crate) fn draw_kind_str(k: DrawKind) -> &'static str {
    match k {
        DrawKind::National => "national",
        DrawKind::City => "city",
        DrawKind::FollowUp => "follow_up",
    }
}

pub(crate) fn parse_draw_kind(s: &str) -> Result<DrawKind> {
    match s {
        "national" => Ok(DrawKind::National),
        "city" => Ok(DrawKind::City),
        "follow_up" => Ok(DrawKind::FollowUp),
        other => Err(StoreError::Data(format!("未知的抽取方式“{other}”"))),
    }
}

/// Serializes a value for an outbox payload or the audit log.
pub(crate) fn json(v: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Data(format!("JSON 序列化失败：{e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_round_trip_exactly_and_sort_as_text() {
        let a = Utc
            .timestamp_opt(1_746_500_000, 123_456_789)
            .single()
            .expect("valid timestamp");
        let b = Utc
            .timestamp_opt(1_746_500_001, 5)
            .single()
            .expect("valid timestamp");
        assert_eq!(parse_ts(&ts(a)).expect("parses"), a, "nanoseconds survive");
        assert!(
            ts(a) < ts(b),
            "text order is time order: {} {}",
            ts(a),
            ts(b)
        );
        assert_eq!(ts(a).len(), ts(b).len(), "fixed width");
    }

    #[test]
    fn draw_kinds_match_core_serde_names() {
        for k in [DrawKind::National, DrawKind::City, DrawKind::FollowUp] {
            let serde_name = serde_json::to_value(k).expect("serializes");
            assert_eq!(serde_name, draw_kind_str(k), "same word as core's serde");
            assert_eq!(parse_draw_kind(draw_kind_str(k)).expect("parses"), k);
        }
    }
}
