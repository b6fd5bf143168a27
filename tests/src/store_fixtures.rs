//! Fixtures for the device-store tests (tests/tests/store_*.rs) and the crash
//! writer: a small fixed plan, people, tasks, a pinned clock and image bytes.

use chrono::{DateTime, TimeZone, Utc};
use jiandu_core::inspection::{AssignedInspector, DrawKind, Institution, Task};
use jiandu_core::templates::TemplateSet;
use jiandu_core::{Actor, CategoryCode, Role};
use uuid::Uuid;

/// The fixture plan's id and checklist (crates/store/testdata).
pub const PLAN_ID: &str = "fixture-2025";
pub const CHECKLIST: &str = "medical";

/// The fixture templates: 60 check points for a hospital or clinic, 6 for a
/// 村卫生室 (item 10 only).
pub fn templates() -> TemplateSet {
    TemplateSet::from_sources(
        (
            "fixture-categories.toml",
            include_str!("../../crates/store/testdata/fixture-categories.toml"),
        ),
        [(
            "fixture-plan.toml",
            include_str!("../../crates/store/testdata/fixture-plan.toml"),
        )],
    )
    .expect("the fixture templates are valid")
}

/// The check points a unit of `category` answers, in order.
pub fn points(templates: &TemplateSet, category: &str) -> Vec<String> {
    let category = CategoryCode::new(category);
    templates
        .plan(PLAN_ID)
        .and_then(|p| p.checklist(CHECKLIST))
        .expect("fixture checklist")
        .applicable_points(&category)
        .map(|(_, p)| p.code.clone())
        .collect()
}

/// A fixed point in time plus `secs` seconds (tests pin the clock).
pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_746_000_000 + secs, 0)
        .single()
        .expect("valid fixed time")
}

/// Inspector number `n` (1 and 2 are assigned to every fixture task).
pub fn inspector(n: u128) -> Actor {
    Actor {
        user_id: Uuid::from_u128(0x1000 + n),
        name: format!("检查员{n}"),
        role: Role::Inspector,
    }
}

pub fn team_lead() -> Actor {
    Actor {
        user_id: Uuid::from_u128(0x2000),
        name: "组长".into(),
        role: Role::TeamLead,
    }
}

/// A task of the fixture plan for an institution of `category`, assigned to
/// inspectors 1 and 2.
pub fn task(id: Uuid, name: &str, category: &str) -> Task {
    Task {
        id,
        plan_id: PLAN_ID.into(),
        plan_version: 1,
        checklist: CHECKLIST.into(),
        draw_kind: DrawKind::National,
        followup: None,
        institution: Institution {
            id: Uuid::from_u128(id.as_u128() ^ 0xFFFF),
            name: name.into(),
            credit_code: "12140000MB1234567X".into(),
            licence_no: "PDY00001X14010011A1001".into(),
            category: CategoryCode::new(category),
            district: "小店区".into(),
            address: "太原市小店区测试路1号".into(),
            legal_representative: "张三".into(),
            phone: "0351-1234567".into(),
        },
        inspectors: [1, 2]
            .into_iter()
            .map(|n| AssignedInspector {
                user_id: inspector(n).user_id,
                name: inspector(n).name,
                badge_no: format!("晋卫执{n:04}"),
            })
            .collect(),
        deadline: chrono::NaiveDate::from_ymd_opt(2025, 10, 30),
    }
}

/// Bytes that pass as a JPEG (signature FF D8 FF) of `len` bytes, content from `seed`.
pub fn jpeg(len: usize, seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len.max(4));
    v.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push((x >> 24) as u8);
    }
    v
}

/// Bytes that pass as a PNG (signature 89 50 4E 47 …) of `len` bytes.
pub fn png(len: usize, seed: u64) -> Vec<u8> {
    let mut v = jpeg(len.max(8), seed);
    v[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    v
}
