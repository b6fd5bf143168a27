//! 汇总表 from known inspections against hand-made expected tables, on SQLite and
//! PostgreSQL, for three more 附表: seed 003 附件1 附表8 (母婴保健技术服务), seed 003
//! 附件2 附表2 (血液) and seed 001 附表3 (回头看, whose first column is the number of
//! units penalised in each campaign and whose rows are the campaigns followed up).
//! Each table is also written as XLSX and read back (calamine): title, merged
//! grouped headers (positions and texts written out by hand), the data rows.
//! (Seed 003 附件1 附表2 is tested in reports.rs.)
#![allow(clippy::unwrap_used)]

mod common;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::{TimeZone, Utc};
use common::{backends, code, institutions_csv};
use jiandu_core::inspection::{
    Finding, Inspection, InspectionStatus, Outcome, Penalty, PublicCategory, Verdict,
};
use jiandu_core::plan::ColumnKind;
use jiandu_core::plan::SummaryTable;
use jiandu_core::summary::SummaryReport;
use jiandu_core::templates::TemplateSet;
use jiandu_core::{Fen, Plan};
use jiandu_server::formats;
use jiandu_server::model::{ReviewDecision, ReviewRecord, StoredTask};
use jiandu_server::service::{Actor, reports};
use jiandu_server::store::ServerStore;
use std::io::Cursor;
use uuid::Uuid;

/// An inspection of `task` answering every applicable point (不符合 for `bad`).
fn inspection(
    plan: &Plan,
    task: &StoredTask,
    status: InspectionStatus,
    bad: &[&str],
    category: PublicCategory,
    penalty: Option<Penalty>,
) -> Inspection {
    let checklist = plan.checklist(&task.checklist).unwrap();
    let applicable: Vec<String> = checklist
        .applicable_points(&task.category)
        .map(|(_, p)| p.code.clone())
        .collect();
    for b in bad {
        assert!(
            applicable.iter().any(|p| p == b),
            "{b} does not apply to {}",
            task.category
        );
    }
    let id = Uuid::now_v7();
    let at = Utc.with_ymd_and_hms(2025, 6, 3, 2, 0, 0).unwrap();
    let mut i = Inspection::new(id, task.id);
    i.status = status;
    i.version = 9;
    i.started_at = Some(at);
    i.place = "现场".into();
    i.findings = applicable
        .iter()
        .map(|p| Finding {
            id: Uuid::now_v7(),
            inspection_id: id,
            point: p.clone(),
            verdict: if bad.contains(&p.as_str()) {
                Verdict::NonCompliant
            } else {
                Verdict::Compliant
            },
            observation: if bad.contains(&p.as_str()) {
                "现场发现问题".into()
            } else {
                String::new()
            },
            photo_ids: vec![],
            recorded_by: task.inspectors[0],
            recorded_at: at,
        })
        .collect();
    i.outcome = Some(Outcome {
        category,
        penalty,
        opinion: None,
        unreachable_reason: None,
    });
    i
}

fn penalty(cases: u32, yuan: i64) -> Penalty {
    Penalty {
        cases,
        fine: Fen(yuan * 100),
        ..Default::default()
    }
}

async fn import(store: &dyn ServerStore, _t: &TemplateSet, csv: &str) {
    common::import_csv(store, csv).await;
}

fn staff_csv(n: u32) -> String {
    let mut s = "姓名,执法证号,科室,区县\n".to_owned();
    for k in 1..=n {
        s.push_str(&format!("检查员{k},SX-{k:04},监督一科,小店区\n"));
    }
    s
}

fn of<'a>(tasks: &'a [StoredTask], checklist: &str, cat: &str) -> Vec<&'a StoredTask> {
    tasks
        .iter()
        .filter(|t| t.checklist == checklist && t.category.as_str() == cat && t.followup.is_none())
        .collect()
}

/// (group, label, non-zero cells as (column code, text)); every other cell is "0"
/// ("0.0000" for 罚没款金额（万元）).
type Expected = Vec<(
    Option<&'static str>,
    &'static str,
    Vec<(&'static str, &'static str)>,
)>;

fn cell_text(table: &SummaryTable, expected_row: &[(&str, &str)], ci: usize) -> String {
    let col = &table.columns[ci];
    expected_row
        .iter()
        .find(|(c, _)| *c == col.code)
        .map(|(_, v)| (*v).to_owned())
        .unwrap_or_else(|| {
            if col.kind == ColumnKind::FineWan {
                "0.0000".into()
            } else {
                "0".into()
            }
        })
}

fn check_report(backend: &str, table: &SummaryTable, report: &SummaryReport, expected: &Expected) {
    for (_, _, cells) in expected {
        for (c, _) in cells {
            assert!(
                table.columns.iter().any(|col| col.code == *c),
                "no column {c} in {}",
                table.code
            );
        }
    }
    assert_eq!(
        report.rows.len(),
        expected.len(),
        "{backend} {}",
        table.code
    );
    for (row, (group, label, cells)) in report.rows.iter().zip(expected) {
        assert_eq!(row.label, *label, "{backend}");
        assert_eq!(row.group.as_deref(), *group, "{backend}");
        for ci in 0..table.columns.len() {
            assert_eq!(
                row.cells[ci].text(),
                cell_text(table, cells, ci),
                "{backend} {}: {label} / {}",
                table.code,
                table.columns[ci].code
            );
        }
    }
}

/// What the XLSX must show, written out by hand.
struct Layout {
    sheet: &'static str,
    /// Merged ranges (row0, col0, row1, col1), zero-based; exactly these.
    merges: Vec<(u32, u32, u32, u32)>,
    /// Header texts at (row, col).
    texts: Vec<(u32, u32, &'static str)>,
    /// First data row and the column of the first number.
    first_data_row: u32,
    first_value_col: u32,
}

fn check_xlsx(table: &SummaryTable, report: &SummaryReport, expected: &Expected, layout: &Layout) {
    let bytes = formats::to_xlsx(table, report).unwrap();
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), vec![layout.sheet.to_owned()]);
    let range = book.worksheet_range(layout.sheet).unwrap();
    let mut merges: Vec<(u32, u32, u32, u32)> = book
        .worksheet_merge_cells(layout.sheet)
        .unwrap()
        .unwrap()
        .iter()
        .map(|d| (d.start.0, d.start.1, d.end.0, d.end.1))
        .collect();
    merges.sort();
    let mut want = layout.merges.clone();
    want.sort();
    assert_eq!(merges, want, "{}: merged cells", table.code);
    let text = |r: u32, c: u32| match range.get_value((r, c)) {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => format!("{f}"),
        Some(Data::Int(i)) => i.to_string(),
        Some(Data::Empty) | None => String::new(),
        Some(other) => format!("{other:?}"),
    };
    assert_eq!(text(0, 0), format!("{} {}", table.name, table.title));
    for (r, c, t) in &layout.texts {
        assert_eq!(text(*r, *c), *t, "{}: header cell ({r},{c})", table.code);
    }
    // Cells covered by a merge (other than its top-left) are empty.
    for (r0, c0, r1, c1) in &layout.merges {
        for r in *r0..=*r1 {
            for c in *c0..=*c1 {
                if (r, c) != (*r0, *c0) {
                    assert_eq!(text(r, c), "", "{}: ({r},{c}) inside a merge", table.code);
                }
            }
        }
    }
    // Data rows: counts are numbers, fines the exact text.
    for (k, (group, label, cells)) in expected.iter().enumerate() {
        let r = layout.first_data_row + k as u32;
        let label_col = if group.is_none() {
            0
        } else {
            layout.first_value_col - 1
        };
        assert_eq!(text(r, label_col), *label, "{}: row {r}", table.code);
        if let Some(g) = group {
            let shown = (layout.first_data_row..=r)
                .rev()
                .map(|rr| text(rr, 0))
                .find(|s| !s.is_empty())
                .unwrap();
            assert_eq!(shown, *g);
        }
        for ci in 0..table.columns.len() {
            let c = layout.first_value_col + ci as u32;
            let want = cell_text(table, cells, ci);
            match range.get_value((r, c)) {
                Some(Data::Float(f)) => {
                    assert_ne!(table.columns[ci].kind, ColumnKind::FineWan);
                    assert_eq!(format!("{f}"), want, "{}: ({r},{c})", table.code);
                }
                Some(Data::String(s)) => {
                    assert_eq!(table.columns[ci].kind, ColumnKind::FineWan);
                    assert_eq!(s, &want, "{}: ({r},{c})", table.code);
                }
                other => panic!("{}: ({r},{c}) is {other:?}", table.code),
            }
        }
    }
}

/// Seed 003: 附件1 附表8 (母婴保健) and 附件2 附表2 (血液) from one draw.
#[tokio::test]
async fn shanxi_mch_and_blood_tables() {
    let t = TemplateSet::builtin().unwrap();
    let plan = t.plan("shanxi-2025").unwrap();
    for b in backends().await {
        let store = &*b.store;
        import(
            store,
            &t,
            &institutions_csv(
                &[
                    ("mch", 5),
                    ("other_mch", 4),
                    ("blood_general", 2),
                    ("blood_special", 1),
                    ("plasma_station", 3),
                    ("hospital", 10),
                    ("tcm_hospital", 2),
                ],
                1,
                "小店区",
            ),
        )
        .await;
        import(store, &t, &staff_csv(8)).await;
        let view = common::draw(&b.store, &plan.id, "汇总表测试").await;
        let tasks = store.tasks_of_draw(view.id).await.unwrap();
        let (mch, other) = (of(&tasks, "mch", "mch"), of(&tasks, "mch", "other_mch"));
        assert_eq!(
            (mch.len(), other.len()),
            (3, 2),
            "50% of 5 and of 4, rounded up"
        );
        let bg = of(&tasks, "blood", "blood_general");
        let bs = of(&tasks, "blood", "blood_special");
        let pl = of(&tasks, "blood", "plasma_station");
        let bh = of(&tasks, "blood", "hospital");
        let bt = of(&tasks, "blood", "tcm_hospital");
        // "医院（含中医院）6%" is one population: ceil((hospitals + 中医院) × 6%) = 1.
        assert_eq!(
            (bg.len(), bs.len(), pl.len(), bh.len() + bt.len()),
            (1, 1, 3, 1)
        );
        use InspectionStatus::{Approved, Submitted};
        use PublicCategory::{Corrected, NoProblem, Penalised};
        let mut with_flags = penalty(2, 35_000);
        with_flags.revoked_personnel = true;
        let mut revoked = penalty(1, 8_000);
        revoked.revoked_licence = true;
        let all = [
            // 附表8.
            // Two points feeding 机构执业资质 on one unit count once.
            inspection(
                plan,
                mch[0],
                Approved,
                &["mch.1.1", "mch.4.4", "mch.2.3"],
                Penalised,
                Some(with_flags),
            ),
            inspection(
                plan,
                mch[1],
                Approved,
                &["mch.5.5", "mch.4.1", "mch.2.6"],
                Corrected,
                None,
            ),
            // Not approved: not counted.
            inspection(plan, mch[2], Submitted, &["mch.2.1"], Corrected, None),
            inspection(plan, other[0], Approved, &[], NoProblem, None),
            inspection(
                plan,
                other[1],
                Approved,
                &["mch.3.1"],
                Penalised,
                Some(revoked),
            ),
            // 附件2 附表2.
            inspection(
                plan,
                bg[0],
                Approved,
                &["blood.1.2", "blood.3.1", "blood.3.2"],
                Penalised,
                Some(penalty(1, 20_000)),
            ),
            inspection(
                plan,
                bs[0],
                Approved,
                &["blood.6.3", "blood.4.1"],
                Corrected,
                None,
            ),
            inspection(
                plan,
                pl[0],
                Approved,
                &["blood.2.2", "blood.2.3"],
                Penalised,
                Some(penalty(3, 56_000)),
            ),
            inspection(plan, pl[1], Approved, &[], NoProblem, None),
            inspection(
                plan,
                bh.first().or(bt.first()).copied().unwrap(),
                Approved,
                &["blood.7.1", "blood.7.3", "blood.7.4"],
                Corrected,
                None,
            ),
        ];
        for i in all {
            common::put_new(store, i).await;
        }

        // ---- 附件1 附表8 ----
        let (_, table, report) = reports::summary_table(
            &common::platform(&b),
            &Actor::system(),
            &plan.id,
            "mch-summary",
        )
        .await
        .unwrap();
        let expected: Expected = vec![
            (
                None,
                "妇幼保健机构",
                vec![
                    ("population", "5"),
                    ("inspected", "2"),
                    ("institution_qualification", "1"),
                    ("termination_registration", "1"),
                    ("prenatal_art_services", "1"),
                    ("birth_certificate_fraud", "1"),
                    ("cases", "2"),
                    ("fines", "3.5000"),
                    ("revoked_personnel", "1"),
                ],
            ),
            (
                None,
                "其他医疗、保健机构",
                vec![
                    ("population", "4"),
                    ("inspected", "2"),
                    ("no_sex_selection_system", "1"),
                    ("cases", "1"),
                    ("fines", "0.8000"),
                    ("revoked_licence", "1"),
                ],
            ),
            (
                None,
                "合计",
                vec![
                    ("population", "9"),
                    ("inspected", "4"),
                    ("institution_qualification", "1"),
                    ("termination_registration", "1"),
                    ("prenatal_art_services", "1"),
                    ("birth_certificate_fraud", "1"),
                    ("no_sex_selection_system", "1"),
                    ("cases", "3"),
                    ("fines", "4.3000"),
                    ("revoked_licence", "1"),
                    ("revoked_personnel", "1"),
                ],
            ),
        ];
        check_report(b.name, &table, &report, &expected);
        assert_eq!(table.columns.len(), 27);
        // Columns: 0 单位类别; 1 population … 27 revoked_personnel. Header rows 1–3.
        let mut merges = vec![
            (0, 0, 0, 27),  // title
            (1, 0, 3, 0),   // 单位类别
            (1, 1, 3, 1),   // 辖区内单位总数
            (1, 2, 3, 2),   // 检查单位数
            (1, 3, 1, 23),  // 不合格情况
            (2, 3, 2, 4),   // 机构及人员资质情况
            (2, 5, 2, 18),  // 法律法规执行情况
            (2, 19, 2, 23), // 制度建立情况
            (1, 24, 1, 27), // 行政处罚情况
        ];
        merges.extend((24..=27).map(|c| (2, c, 3, c)));
        check_xlsx(
            &table,
            &report,
            &expected,
            &Layout {
                sheet: "附件1 附表8",
                merges,
                texts: vec![
                    (1, 0, "单位类别"),
                    (1, 1, "辖区内单位总数"),
                    (1, 2, "检查单位数"),
                    (1, 3, "不合格情况"),
                    (2, 3, "机构及人员资质情况"),
                    (2, 5, "法律法规执行情况"),
                    (2, 19, "制度建立情况"),
                    (3, 3, "机构执业资质管理不符合要求单位数"),
                    (3, 7, "未按要求开展人工终止妊娠手术进行登记查验单位数"),
                    (3, 18, "存在买卖和伪造出生医学证明违法犯罪行为单位数"),
                    (
                        3,
                        23,
                        "不具有保证技术服务安全和服务质量的其他管理制度单位数",
                    ),
                    (1, 24, "行政处罚情况"),
                    (2, 24, "查处案件数"),
                    (2, 25, "罚没款金额（万元）"),
                    (2, 27, "吊销人员资格证单位数"),
                ],
                first_data_row: 4,
                first_value_col: 1,
            },
        );

        // ---- 附件2 附表2 ----
        let (_, table, report) = reports::summary_table(
            &common::platform(&b),
            &Actor::system(),
            &plan.id,
            "blood-summary",
        )
        .await
        .unwrap();
        let expected: Expected = vec![
            (
                None,
                "一般血站",
                vec![
                    ("population", "2"),
                    ("inspected", "1"),
                    ("staff_qualification", "1"),
                    ("test_items", "1"),
                    ("samples", "1"),
                    ("cases", "1"),
                    ("fines", "2.0000"),
                ],
            ),
            (
                None,
                "特殊血站",
                vec![
                    ("population", "1"),
                    ("inspected", "1"),
                    ("packaging", "1"),
                    ("special_cord_blood", "1"),
                ],
            ),
            (
                None,
                "单采血浆站",
                vec![
                    ("population", "3"),
                    ("inspected", "2"),
                    ("plasma_donor_testing", "1"),
                    ("over_collection", "1"),
                    ("cases", "3"),
                    ("fines", "5.6000"),
                ],
            ),
            (
                None,
                "医院（含中医院）",
                vec![
                    // 10 hospitals + 2 中医医院 in the registry, one row: 1 drawn.
                    ("population", "12"),
                    ("inspected", "1"),
                    ("blood_source", "1"),
                    ("blood_inventory", "1"),
                    ("transfusion", "1"),
                ],
            ),
            (
                None,
                "合计",
                vec![
                    ("population", "18"),
                    ("inspected", "5"),
                    ("staff_qualification", "1"),
                    ("test_items", "1"),
                    ("samples", "1"),
                    ("packaging", "1"),
                    ("special_cord_blood", "1"),
                    ("plasma_donor_testing", "1"),
                    ("over_collection", "1"),
                    ("blood_source", "1"),
                    ("blood_inventory", "1"),
                    ("transfusion", "1"),
                    ("cases", "4"),
                    ("fines", "7.6000"),
                ],
            ),
        ];
        check_report(b.name, &table, &report, &expected);
        assert_eq!(table.columns.len(), 25);
        check_xlsx(
            &table,
            &report,
            &expected,
            &Layout {
                sheet: "附件2 附表2",
                merges: vec![
                    (0, 0, 0, 25),
                    (1, 0, 3, 0),
                    (1, 1, 3, 1),
                    (1, 2, 3, 2),
                    (1, 3, 1, 23),  // 不合格情况
                    (2, 3, 2, 5),   // 资质管理
                    (2, 6, 2, 9),   // 血源管理
                    (2, 10, 2, 14), // 血液检测
                    // 包装储存运输 (col 15) and 其他 (col 16) are one column each.
                    (2, 17, 2, 19), // 特殊血站管理
                    (2, 20, 2, 23), // 临床用血管理
                    (1, 24, 1, 25), // 行政处罚情况
                    (2, 24, 3, 24),
                    (2, 25, 3, 25),
                ],
                texts: vec![
                    (1, 3, "不合格情况"),
                    (2, 3, "资质管理"),
                    (2, 6, "血源管理"),
                    (2, 10, "血液检测"),
                    (2, 15, "包装储存运输"),
                    (2, 16, "其他"),
                    (2, 17, "特殊血站管理"),
                    (2, 20, "临床用血管理"),
                    (
                        3,
                        15,
                        "包装、储存、运输不符合国家规定的卫生标准和要求单位数",
                    ),
                    (3, 19, "未按要求采集制备脐带血、开展核酸检测"),
                    (2, 24, "案件查处数"),
                    (2, 25, "罚没款金额（万元）"),
                ],
                first_data_row: 4,
                first_value_col: 1,
            },
        );
    }
}

/// Seed 001 附表3: the 回头看 table, rows by campaign, 被处罚单位数 from the list of
/// penalised units, no 合计 row, a note under the table.
#[tokio::test]
async fn chongqing_followup_table() {
    let t = TemplateSet::builtin().unwrap();
    let plan = t.plan("cq-district-2022").unwrap();
    for b in backends().await {
        let store = &*b.store;
        // Units 1–2 hospitals, 3 卫生院, 4–8 村卫生室, 9–14 诊所, 15 非医疗机构,
        // 16 中心血站.
        import(
            store,
            &t,
            &institutions_csv(
                &[
                    ("hospital", 2),
                    ("township_hc", 1),
                    ("village_clinic", 5),
                    ("clinic", 6),
                    ("non_medical", 1),
                    ("blood_general", 1),
                ],
                1,
                "渝中区",
            ),
        )
        .await;
        import(store, &t, &staff_csv(6)).await;
        // Two of the penalised units are 非医疗机构: a salon with a credit code, and an
        // unlicensed place known by name, address and its keeper's ID number.
        let penalised = format!(
            "专项代码,统一社会信用代码,名称,地址,类别,区县,证件号码,备注\n\
             medical-practice-2021,{},,,,,,\nmedical-practice-2021,{},,,,,,\nmedical-practice-2021,{},,,,,,\n\
             random-2021,{},,,,,,\nrandom-2021,{},,,,,,\n\
             cosmetology-2021,{},,,,,,\ncosmetology-2021,{},,,,,,\n\
             cosmetology-2021,,无证美容工作室,渝中区解放碑1号,非医疗机构,渝中区,500103199001011234,非法医疗美容\n\
             not-followed-2019,{},,,,,,\n",
            code(9),  // clinic A
            code(1),  // hospital H
            code(10), // clinic B
            code(4),  // village clinic V
            code(11), // clinic C
            code(12), // clinic D (a medical institution)
            code(15), // a beauty salon (非医疗机构)
            code(13), // a campaign this plan does not follow up
        );
        import(store, &t, &penalised).await;
        let view = common::draw(&b.store, &plan.id, "回头看").await;
        let tasks = store.tasks_of_draw(view.id).await.unwrap();
        let institutions = store.list_institutions().await.unwrap();
        let follow = |n: u32, campaign: &str| -> StoredTask {
            let id = institutions
                .iter()
                .find(|i| i.credit_code == code(n))
                .unwrap()
                .id;
            tasks
                .iter()
                .find(|t| t.institution_id == id && t.followup.as_deref() == Some(campaign))
                .cloned()
                .unwrap_or_else(|| panic!("no 回头看 task for unit {n} in {campaign}"))
        };
        let followups = tasks.iter().filter(|t| t.followup.is_some()).count();
        // Every penalised unit of a followed-up campaign gets one task, the beauty
        // salon and the unlicensed place (非医疗机构) too: on 附表1, the checklist
        // their campaign names.
        assert_eq!(followups, 8, "{}", b.name);
        let unlicensed = institutions
            .iter()
            .find(|i| i.name == "无证美容工作室")
            .expect("the unlicensed place is in the registry");
        assert_eq!(
            unlicensed.credit_code,
            "无证美容工作室|渝中区解放碑1号|5001**********1234"
        );
        let unlicensed = tasks
            .iter()
            .find(|t| t.institution_id == unlicensed.id)
            .cloned()
            .expect("a 回头看 task for the unlicensed place");
        assert_eq!(
            (
                unlicensed.checklist.as_str(),
                unlicensed.category.as_str(),
                unlicensed.followup.as_deref()
            ),
            ("medical", "non_medical", Some("cosmetology-2021"))
        );
        let salon = follow(15, "cosmetology-2021");
        assert_eq!(
            (salon.checklist.as_str(), salon.category.as_str()),
            ("medical", "non_medical")
        );
        use InspectionStatus::{Approved, Submitted};
        use PublicCategory::{Corrected, NoProblem, Penalised};
        let mut subjects = penalty(1, 3_000);
        subjects.revoked_subjects = true;
        let mut licence = penalty(2, 12_500);
        licence.revoked_licence = true;
        let national = tasks
            .iter()
            .find(|t| t.followup.is_none() && t.checklist == "medical")
            .unwrap();
        let all = [
            inspection(
                plan,
                &follow(9, "medical-practice-2021"),
                Approved,
                &["med.5.1", "med.2.1"],
                Penalised,
                Some(subjects),
            ),
            // 麻醉药品 and 精神药品 feed one column: the unit counts once.
            inspection(
                plan,
                &follow(1, "medical-practice-2021"),
                Approved,
                &["med.3.1", "med.3.2"],
                Corrected,
                None,
            ),
            inspection(
                plan,
                &follow(10, "medical-practice-2021"),
                Submitted,
                &["med.1.1"],
                Corrected,
                None,
            ),
            inspection(
                plan,
                &follow(4, "random-2021"),
                Approved,
                &[],
                NoProblem,
                None,
            ),
            inspection(
                plan,
                &follow(11, "random-2021"),
                Approved,
                &["med.1.2"],
                Penalised,
                Some(licence),
            ),
            inspection(
                plan,
                &follow(12, "cosmetology-2021"),
                Approved,
                &["med.4.3"],
                Corrected,
                None,
            ),
            inspection(
                plan,
                &salon,
                Approved,
                &["med.4.3"],
                Penalised,
                Some(penalty(1, 10_000)),
            ),
            inspection(plan, &unlicensed, Approved, &[], NoProblem, None),
            // An ordinary (not 回头看) inspection is in no row of 附表3.
            inspection(
                plan,
                national,
                Approved,
                &["med.1.1"],
                Penalised,
                Some(penalty(5, 50_000)),
            ),
        ];
        for i in all {
            common::put_new(store, i).await;
        }
        let (_, table, report) = reports::summary_table(
            &common::platform(&b),
            &Actor::system(),
            &plan.id,
            "followup-summary",
        )
        .await
        .unwrap();
        let group = Some("打击非法医疗美容服务专项整治回头看");
        let expected: Expected = vec![
            (
                None,
                "医疗机构依法执业专项监督检查回头看",
                vec![
                    ("penalised", "3"),
                    ("inspected", "2"),
                    ("physician", "1"),
                    ("narcotic_psychotropic", "1"),
                    ("prescription", "1"),
                    ("cases", "1"),
                    ("fines", "0.3000"),
                    ("revoked_subjects", "1"),
                ],
            ),
            (
                None,
                "医疗卫生随机监督检查回头看",
                vec![
                    ("penalised", "2"),
                    ("inspected", "2"),
                    ("staff_qualification", "1"),
                    ("cases", "2"),
                    ("fines", "1.2500"),
                    ("revoked_licence", "1"),
                ],
            ),
            (
                group,
                "非医疗机构",
                vec![
                    ("penalised", "2"),
                    ("inspected", "2"),
                    ("cosmetology", "1"),
                    ("cases", "1"),
                    ("fines", "1.0000"),
                ],
            ),
            (
                group,
                "医疗机构",
                vec![("penalised", "1"), ("inspected", "1"), ("cosmetology", "1")],
            ),
        ];
        check_report(b.name, &table, &report, &expected);
        // The public list names the unlicensed place without a credit code, its
        // keeper's ID number masked.
        let public = reports::public_list(&common::platform(&b), &plan.id)
            .await
            .unwrap();
        let entry = public
            .iter()
            .find(|e| e.institution == "无证美容工作室")
            .expect("the unlicensed place is on the public list");
        assert_eq!(entry.credit_code, "无（证件号码 5001**********1234）");
        assert_eq!(table.columns.len(), 33);
        // Two label columns (group, label); columns 2 (被处罚单位数) … 34.
        let mut merges = vec![
            (0, 0, 0, 34),  // title
            (1, 0, 3, 1),   // 类别 over both label columns
            (1, 2, 3, 2),   // 被处罚单位数
            (1, 3, 3, 3),   // 检查单位数
            (1, 4, 1, 30),  // 不合格情况
            (2, 4, 2, 7),   // 医疗机构资质管理
            (2, 8, 2, 14),  // 医疗卫生人员管理
            (2, 15, 2, 17), // 药品和医疗器械管理
            (2, 18, 2, 23), // 医疗技术管理
            (2, 24, 2, 26), // 医疗文书管理
            (2, 27, 2, 30), // 临床用血管理
            (1, 31, 1, 34), // 行政处罚情况
            (4, 0, 4, 1),   // a campaign row without a group spans both label columns
            (5, 0, 5, 1),
            (6, 0, 7, 0),  // the group over its two rows
            (9, 0, 9, 34), // the note, one row below the table
        ];
        merges.extend((31..=34).map(|c| (2, c, 3, c)));
        check_xlsx(
            &table,
            &report,
            &expected,
            &Layout {
                sheet: "附表3",
                merges,
                texts: vec![
                    (1, 0, "类别"),
                    (1, 2, "被处罚单位数"),
                    (1, 3, "检查单位数"),
                    (1, 4, "不合格情况"),
                    (2, 4, "医疗机构资质管理"),
                    (2, 8, "医疗卫生人员管理"),
                    (3, 4, "执业许可证管理不符合要求单位数"),
                    (3, 17, "医疗器械管理不符合要求单位数"),
                    (3, 30, "应急用血采血管理不符合要求单位数"),
                    (1, 31, "行政处罚情况"),
                    (2, 34, "吊销诊疗科目单位数"),
                    (4, 0, "医疗机构依法执业专项监督检查回头看"),
                    (6, 0, "打击非法医疗美容服务专项整治回头看"),
                    (6, 1, "非医疗机构"),
                    (7, 1, "医疗机构"),
                    (
                        9,
                        0,
                        "注：数据包含2022年度重庆市卫生健康领域“双随机、一公开”市级监督抽查中有关医院的检查数据",
                    ),
                ],
                first_data_row: 4,
                first_value_col: 2,
            },
        );
        // Approving the waiting inspection (an UPDATE of `inspections`) reaches the
        // table: the results kept beside inspections follow every write.
        let waiting = store
            .inspections_of_tasks(&[follow(10, "medical-practice-2021").id])
            .await
            .unwrap()
            .remove(0);
        let mut approved = waiting.inspection.clone();
        approved.status = InspectionStatus::Approved;
        approved.version += 1;
        store
            .record_review(
                &common::stamp(),
                ReviewRecord {
                    id: Uuid::now_v7(),
                    inspection_id: approved.id,
                    decision: ReviewDecision::Approve,
                    reviewed_version: waiting.inspection.version,
                    comment: None,
                    reviewer: tasks[0].inspectors[0],
                    at: Utc::now(),
                },
                Box::new(move |_| Ok(approved)),
            )
            .await
            .unwrap();
        let (_, _, after) = reports::summary_table(
            &common::platform(&b),
            &Actor::system(),
            &plan.id,
            "followup-summary",
        )
        .await
        .unwrap();
        let col = |code: &str| table.columns.iter().position(|c| c.code == code).unwrap();
        assert_eq!(after.rows[0].cells[col("inspected")].text(), "3");
        assert_eq!(after.rows[0].cells[col("licence")].text(), "1");

        // CSV: the title, the same three header lines, rows without a 合计, and
        // the 注 the XLSX prints (seed 001 附表3).
        let csv = formats::to_csv(&table, &report);
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert!(lines[0].starts_with("附表3"), "{}", lines[0]);
        assert!(
            lines[1].starts_with("类别,,被处罚单位数,检查单位数,不合格情况,"),
            "{}",
            lines[1]
        );
        assert!(
            lines.last().unwrap().starts_with("注：数据包含2022年度"),
            "{}",
            lines.last().unwrap()
        );
        assert!(!csv.contains("合计"));
    }
}

/// A 回头看名单 row whose unit the registry does not hold, and the file does not
/// describe (no credit code: 名称, 地址, 类别, 区县), is refused with its row at
/// preview and import, and nothing of the file is written: no unit is silently left
/// without its follow-up.
#[tokio::test]
async fn penalised_list_refuses_units_it_cannot_place() {
    use jiandu_server::service::registry;
    for b in backends().await {
        let p = common::platform(&b);
        let admin = Actor::system();
        let now = Utc::now();
        registry::import(
            &p,
            &admin,
            now,
            institutions_csv(&[("clinic", 2)], 1, "渝中区").as_bytes(),
        )
        .await
        .unwrap();
        let list = format!(
            "专项代码,统一社会信用代码,名称,地址,类别,区县,证件号码\n\
             cosmetology-2021,{},,,,,\n\
             cosmetology-2021,{},,,,,\n\
             cosmetology-2021,,无证美容工作室,渝中区解放碑1号,非医疗机构,渝中区,500103199001011234\n",
            code(1),
            code(99),
        );
        let preview = registry::preview(&p, &admin, list.as_bytes())
            .await
            .unwrap();
        assert_eq!(
            preview.problems.len(),
            1,
            "{}: {:?}",
            b.name,
            preview.problems
        );
        assert_eq!(preview.problems[0].row, 3);
        assert!(preview.problems[0].message.contains(&code(99)));
        let e = registry::import(&p, &admin, now, list.as_bytes())
            .await
            .unwrap_err();
        assert!(
            e.details
                .iter()
                .any(|d| d.starts_with("第 3 行：") && d.contains("不在名录库中")),
            "{}: {:?}",
            b.name,
            e.details
        );
        assert!(b.store.penalised().await.unwrap().is_empty(), "{}", b.name);
        assert_eq!(b.store.list_institutions().await.unwrap().len(), 2);
        // Without the unknown row the file goes in whole: the unlicensed place too.
        let good: String = list
            .lines()
            .filter(|l| !l.contains(&code(99)))
            .map(|l| format!("{l}\n"))
            .collect();
        let done = registry::import(&p, &admin, now, good.as_bytes())
            .await
            .unwrap();
        assert_eq!(
            (done.counts.penalised, done.counts.institutions_added),
            (2, 1),
            "{}",
            b.name
        );
        let stored = format!("{:?}", b.store.list_institutions().await.unwrap());
        assert!(stored.contains("5001**********1234") && !stored.contains("199001011234"));
    }
}
