//! The built-in plan templates (templates/*.toml) pinned against the seed documents,
//! and the template validation's error reports.
//!
//! The first half reads the real files through `TemplateSet::builtin()` and asserts the
//! reconstruction exactly: which tables each plan has, every draw row with its quota,
//! every summary table's columns (full labels, kinds, header spans) and rows. A change
//! to a template that alters what an inspector sees or what a 汇总表 reports must fail
//! here, so it is made on purpose and checked against the seed again.
//!
//! The second half feeds small broken templates to `Plan::load` and
//! `TemplateSet::from_sources` and asserts that the error names the file, the entry and
//! the problem in words a bureau editor understands.

use ColumnKind::{
    CancelledFiling, Cases, FineWan, Inspected, Population, RevokedLicence, RevokedPersonnel,
    RevokedSubjects,
};
use QuotaRule::{Count, Percent, Remainder};
use jiandu_core::CategoryCode;
use jiandu_core::plan::{
    Catalogue, Checklist, ColumnKind, Plan, QuotaRule, SummaryTable, TemplateError,
};
use jiandu_core::templates::{BUILTIN_CATALOGUE, TemplateSet};

fn builtin() -> TemplateSet {
    match TemplateSet::builtin() {
        Ok(set) => set,
        Err(e) => panic!("built-in templates must load: {e}"),
    }
}

fn plan<'a>(set: &'a TemplateSet, id: &str) -> &'a Plan {
    set.plan(id)
        .unwrap_or_else(|| panic!("plan {id} is built in"))
}

fn checklist<'a>(plan: &'a Plan, code: &str) -> &'a Checklist {
    plan.checklist(code)
        .unwrap_or_else(|| panic!("{}: checklist {code}", plan.id))
}

fn summary<'a>(plan: &'a Plan, code: &str) -> &'a SummaryTable {
    plan.summary(code)
        .unwrap_or_else(|| panic!("{}: summary {code}", plan.id))
}

fn item_counts(plan: &Plan) -> Vec<(&str, usize)> {
    plan.checklists
        .iter()
        .map(|c| (c.code.as_str(), c.items.len()))
        .collect()
}

fn point_counts(plan: &Plan) -> Vec<(&str, usize)> {
    plan.checklists
        .iter()
        .map(|c| (c.code.as_str(), c.point_count()))
        .collect()
}

type Row<'a> = (
    &'a str,
    &'a str,
    Vec<&'a str>,
    Option<QuotaRule>,
    Option<QuotaRule>,
);

/// A draw row as (序号, label, categories, national rule, city rule).
fn rows(cl: &Checklist) -> Vec<Row<'_>> {
    cl.rows
        .iter()
        .map(|r| {
            (
                r.number.as_str(),
                r.label.as_str(),
                r.categories.iter().map(|c| c.as_str()).collect(),
                r.national.as_ref().and_then(|q| q.rule()),
                r.city.as_ref().and_then(|q| q.rule()),
            )
        })
        .collect()
}

fn labels(st: &SummaryTable) -> Vec<&str> {
    st.columns.iter().map(|c| c.label.as_str()).collect()
}

fn kinds(st: &SummaryTable) -> Vec<ColumnKind> {
    st.columns.iter().map(|c| c.kind).collect()
}

fn row_labels(st: &SummaryTable) -> Vec<String> {
    st.rows.iter().map(|r| r.full_label()).collect()
}

/// Runs of adjacent columns sharing the header path down to `level` (0 = outermost),
/// as (header at that level, number of columns spanned). Columns whose header is
/// shallower than `level` are skipped.
fn spans(st: &SummaryTable, level: usize) -> Vec<(String, usize)> {
    let mut out: Vec<(Vec<String>, usize)> = Vec::new();
    for col in &st.columns {
        if col.header.len() <= level {
            continue;
        }
        let path = col.header[..=level].to_vec();
        match out.last_mut() {
            Some((p, n)) if *p == path => *n += 1,
            _ => out.push((path, 1)),
        }
    }
    out.into_iter()
        .map(|(p, n)| (p[level].clone(), n))
        .collect()
}

fn span(name: &str, n: usize) -> (String, usize) {
    (name.to_owned(), n)
}

/// Kinds in table order: `pre` leading columns, `n` indicators, then `post`.
fn kinds_of(pre: &[ColumnKind], n: usize, post: &[ColumnKind]) -> Vec<ColumnKind> {
    let mut v = pre.to_vec();
    v.extend(std::iter::repeat_n(ColumnKind::Indicator, n));
    v.extend_from_slice(post);
    v
}

/// Check points that feed no summary column, in plan order.
fn unfed_points(plan: &Plan) -> Vec<&str> {
    plan.checklists
        .iter()
        .flat_map(|c| c.items.iter())
        .flat_map(|i| i.points.iter())
        .filter(|p| p.feeds.is_empty())
        .map(|p| p.code.as_str())
        .collect()
}

/// The labels of the columns each point of an item feeds, in point order.
fn fed_labels<'a>(plan: &'a Plan, checklist: &str, item: &str) -> Vec<Vec<&'a str>> {
    let cl = plan.checklist(checklist).expect("checklist");
    let it = cl.items.iter().find(|i| i.number == item).expect("item");
    it.points
        .iter()
        .map(|p| {
            p.feeds
                .iter()
                .map(|f| {
                    let (ti, ci) = plan.resolve_feed(f).expect("feed resolves");
                    plan.summaries[ti].columns[ci].label.as_str()
                })
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// The three built-in plans
// ---------------------------------------------------------------------------------

#[test]
fn builtin_set_has_the_three_seed_plans_in_order() {
    let set = builtin();
    let ids: Vec<_> = set.plans.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["county-2024", "cq-district-2022", "shanxi-2025"]);
    let seeds: Vec<_> = set
        .plans
        .iter()
        .map(|p| p.seed.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(
        seeds,
        [
            "000_a7d040c6838ec870",
            "001_9c7c1f040dc40e9b",
            "003_0d6175c3a49f6e13"
        ]
    );
    let years: Vec<_> = set.plans.iter().map(|p| p.year).collect();
    assert_eq!(years, [2024, 2022, 2025]);
}

#[test]
fn plan_headers_deadlines_and_campaigns() {
    let set = builtin();

    let county = plan(&set, "county-2024");
    assert_eq!(county.title, "2024年医疗卫生随机监督抽查计划");
    assert_eq!(county.authority, "县卫生健康局");
    assert_eq!(county.document_number, None);
    assert_eq!(county.reassignment_cap_percent, None);
    let d: Vec<_> = county
        .deadlines
        .iter()
        .map(|d| (d.date.to_string(), d.what.as_str()))
        .collect();
    assert_eq!(
        d,
        [
            (
                "2024-06-10".to_owned(),
                "报送医疗卫生随机抽查工作阶段性工作总结"
            ),
            (
                "2024-10-30".to_owned(),
                "完成全部医疗卫生随机监督抽查工作并报送工作总结"
            ),
        ]
    );
    let c: Vec<_> = county
        .campaigns
        .iter()
        .map(|c| (c.name.as_str(), c.year))
        .collect();
    assert_eq!(
        c,
        [
            ("医疗机构依法执业专项检查", 2023),
            ("医疗卫生随机监督抽查", 2023),
            ("母婴保健技术服务机构随机监督抽查", 2023),
            (
                "打击非法医疗美容服务和非法应用人类辅助生殖技术专项整治",
                2023
            ),
        ]
    );

    let cq = plan(&set, "cq-district-2022");
    assert_eq!(cq.authority, "区卫生健康委员会");
    assert_eq!(cq.document_number, None);
    assert_eq!(cq.reassignment_cap_percent, None);
    let d: Vec<_> = cq.deadlines.iter().map(|d| d.date.to_string()).collect();
    assert_eq!(d, ["2022-11-04"]);
    assert!(
        cq.deadlines[0]
            .what
            .contains("“回头看”监督检查情况汇总表（附表3）"),
        "the 11月4日 deadline is the 回头看 summary: {}",
        cq.deadlines[0].what
    );
    let c: Vec<_> = cq
        .campaigns
        .iter()
        .map(|c| (c.code.as_str(), c.name.as_str(), c.year))
        .collect();
    assert_eq!(
        c,
        [
            (
                "medical-practice-2021",
                "医疗机构依法执业专项监督检查",
                2021
            ),
            ("random-2021", "医疗卫生随机监督检查", 2021),
            ("cosmetology-2021", "打击非法医疗美容服务专项整治", 2021),
        ]
    );

    let sx = plan(&set, "shanxi-2025");
    assert_eq!(sx.authority, "山西省卫生健康委员会");
    assert_eq!(
        sx.document_number.as_deref(),
        Some("晋卫应急函〔2025〕23号")
    );
    assert_eq!(sx.reassignment_cap_percent, Some(15));
    let d: Vec<_> = sx.deadlines.iter().map(|d| d.date.to_string()).collect();
    assert_eq!(d, ["2025-06-20", "2025-11-20"]);
    assert!(sx.deadlines[0].what.contains("阶段性工作总结"));
    assert!(sx.deadlines[1].what.contains("全年工作总结"));
    assert!(sx.campaigns.is_empty());
}

#[test]
fn county_2024_checklists_items_and_draw_rows() {
    let set = builtin();
    let p = plan(&set, "county-2024");
    assert_eq!(
        item_counts(p),
        [("medical", 8), ("cosmetology", 6), ("blood", 7), ("mch", 4)]
    );
    assert_eq!(
        point_counts(p),
        [
            ("medical", 27),
            ("cosmetology", 14),
            ("blood", 22),
            ("mch", 27)
        ]
    );
    let names: Vec<_> = p.checklists.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["附表1", "附表2", "附表3", "附表4"]);
    // Seed 000 has no 汇总表.
    assert!(p.summaries.is_empty());
    assert_eq!(unfed_points(p).len(), 90, "no point can feed anything");

    // 附表1: the 5% / 10% cells are merged over rows 2–5 and the unnumbered row.
    assert_eq!(
        rows(checklist(p, "medical")),
        [
            (
                "1",
                "医院（含中医院、妇幼保健院）",
                vec!["hospital", "tcm_hospital", "integrated_hospital", "mch"],
                Some(Percent(12)),
                Some(Percent(5)),
            ),
            (
                "2",
                "社区卫生服务机构",
                vec!["chc_center", "chc_station"],
                Some(Percent(5)),
                Some(Percent(10)),
            ),
            (
                "3",
                "卫生院",
                vec!["township_hc"],
                Some(Percent(5)),
                Some(Percent(10))
            ),
            (
                "4",
                "村卫生室（所）",
                vec!["village_clinic"],
                Some(Percent(5)),
                Some(Percent(10)),
            ),
            (
                "5",
                "诊所",
                vec![
                    "clinic",
                    "tcm_clinic",
                    "tcm_general_clinic",
                    "integrated_clinic"
                ],
                Some(Percent(5)),
                Some(Percent(10)),
            ),
            (
                "",
                "其他医疗机构",
                vec!["other_medical", "tcm_outpatient", "integrated_outpatient"],
                Some(Percent(5)),
                Some(Percent(10)),
            ),
        ]
    );
    // 工作任务（一）: 17% of hospitals = 12 + 5, 15% of the rest = 5 + 10.
    for r in &checklist(p, "medical").rows {
        let total = r.national.as_ref().and_then(|q| q.percent).unwrap_or(0)
            + r.city.as_ref().and_then(|q| q.percent).unwrap_or(0);
        let expected = if r.number == "1" { 17 } else { 15 };
        assert_eq!(total, expected, "row {}", r.label);
    }

    let cos = checklist(p, "cosmetology");
    assert_eq!(
        rows(cos),
        [
            (
                "1",
                "医疗美容机构",
                vec!["cosmetology"],
                Some(Percent(50)),
                Some(Percent(30))
            ),
            (
                "2",
                "内设医疗美容科室的医疗机构",
                Vec::<&str>::new(),
                Some(Percent(20)),
                Some(Remainder),
            ),
        ]
    );
    assert_eq!(
        cos.rows[1].city.as_ref().and_then(|q| q.note.as_deref()),
        Some("国家双随机未抽取的剩余单位")
    );

    assert_eq!(
        rows(checklist(p, "blood")),
        [
            (
                "1",
                "一般血站",
                vec!["blood_general"],
                Some(Percent(50)),
                None
            ),
            (
                "2",
                "特殊血站",
                vec!["blood_special"],
                Some(Percent(100)),
                None
            ),
            (
                "3",
                "单采血浆站",
                vec!["plasma_station"],
                Some(Percent(50)),
                None
            ),
            (
                "4",
                "医院（含中医院）",
                vec!["hospital", "tcm_hospital", "integrated_hospital"],
                Some(Percent(6)),
                None,
            ),
        ]
    );

    let mch = checklist(p, "mch");
    assert_eq!(
        rows(mch),
        [
            ("1", "妇幼保健机构", vec!["mch"], Some(Percent(50)), None),
            (
                "2",
                "其他医疗、保健机构",
                Vec::<&str>::new(),
                Some(Percent(50)),
                Some(Percent(10)),
            ),
        ]
    );
    assert_eq!(
        mch.rows[1].city.as_ref().and_then(|q| q.note.as_deref()),
        Some("每个区县抽2家，可合理缺项")
    );
}

#[test]
fn county_2024_medical_quota_reads_back() {
    let set = builtin();
    let cl = checklist(plan(&set, "county-2024"), "medical");
    let row = cl
        .row_for(&CategoryCode::new("mch"))
        .expect("妇幼保健院 is drawn with the hospitals");
    assert_eq!(row.number, "1");
    let national = row.national.as_ref().expect("national");
    let city = row.city.as_ref().expect("city");
    assert_eq!(
        (national.percent, national.count, national.remainder),
        (Some(12), None, false)
    );
    assert_eq!(
        (city.percent, city.count, city.remainder),
        (Some(5), None, false)
    );
    assert_eq!(national.rule().map(|r| r.to_string()), Some("12%".into()));
    assert_eq!(city.rule().map(|r| r.to_string()), Some("5%".into()));
}

#[test]
fn cq_district_2022_checklists_items_and_fixed_counts() {
    let set = builtin();
    let p = plan(&set, "cq-district-2022");
    assert_eq!(item_counts(p), [("medical", 6), ("blood", 5)]);
    assert_eq!(point_counts(p), [("medical", 29), ("blood", 13)]);
    assert_eq!(
        rows(checklist(p, "medical")),
        [
            (
                "1",
                "医院1家",
                vec!["hospital", "tcm_hospital", "integrated_hospital"],
                Some(Count(1)),
                None,
            ),
            ("2", "卫生院1家", vec!["township_hc"], Some(Count(1)), None),
            (
                "3",
                "村卫生室5家",
                vec!["village_clinic"],
                Some(Count(5)),
                None
            ),
            (
                "4",
                "诊所3家",
                vec![
                    "clinic",
                    "tcm_clinic",
                    "tcm_general_clinic",
                    "integrated_clinic"
                ],
                Some(Count(3)),
                None,
            ),
        ]
    );
    assert_eq!(
        rows(checklist(p, "blood")),
        [(
            "1",
            "中心血站1家",
            vec!["blood_general"],
            Some(Count(1)),
            None
        )]
    );
    // The only medical point without a 附表3 column is 医学检验; 附表2 feeds no table.
    let unfed = unfed_points(p);
    assert_eq!(unfed[0], "med.1.5");
    assert_eq!(unfed.len(), 1 + 13);
    assert!(unfed[1..].iter().all(|c| c.starts_with("blood.")));
}

#[test]
fn shanxi_2025_checklists_items_and_draw_rows() {
    let set = builtin();
    let p = plan(&set, "shanxi-2025");
    assert_eq!(
        item_counts(p),
        [
            ("medical", 12),
            ("tcm", 15),
            ("cosmetology", 6),
            ("mch", 5),
            ("blood", 7)
        ]
    );
    assert_eq!(
        point_counts(p),
        [
            ("medical", 43),
            ("tcm", 45),
            ("cosmetology", 15),
            ("mch", 29),
            ("blood", 22)
        ]
    );
    let names: Vec<_> = p.checklists.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "附件1 附表1",
            "附件1 附表3",
            "附件1 附表5",
            "附件1 附表7",
            "附件2 附表1"
        ]
    );

    let five = Some(Percent(5));
    assert_eq!(
        rows(checklist(p, "medical")),
        [
            (
                "1",
                "医院（含妇幼保健院、精神卫生院）",
                vec!["hospital", "mch"],
                Some(Percent(12)),
                None,
            ),
            ("2", "社区卫生服务中心", vec!["chc_center"], five, None),
            ("3", "社区卫生服务站", vec!["chc_station"], five, None),
            ("4", "卫生院", vec!["township_hc"], five, None),
            ("5", "村卫生室（所）", vec!["village_clinic"], five, None),
            ("6", "诊所", vec!["clinic"], five, None),
            ("6", "其他医疗机构", vec!["other_medical"], five, None),
        ]
    );
    // 附表3 has 序号 1 and 3, no 2.
    assert_eq!(
        rows(checklist(p, "tcm")),
        [
            (
                "1",
                "中医医院（含中西医结合医院）",
                vec!["tcm_hospital", "integrated_hospital"],
                Some(Percent(10)),
                None,
            ),
            (
                "3",
                "其他中医医疗机构（含中医、中西医结合诊所、门诊部）",
                vec![
                    "tcm_outpatient",
                    "integrated_outpatient",
                    "tcm_clinic",
                    "tcm_general_clinic",
                    "integrated_clinic",
                ],
                Some(Percent(3)),
                None,
            ),
        ]
    );
    assert_eq!(
        rows(checklist(p, "cosmetology")),
        [
            (
                "1",
                "医疗美容机构",
                vec!["cosmetology"],
                Some(Percent(50)),
                None
            ),
            (
                "2",
                "内设医疗美容科室的医疗机构",
                Vec::<&str>::new(),
                Some(Percent(20)),
                None,
            ),
        ]
    );
    assert_eq!(
        rows(checklist(p, "mch")),
        [
            ("1", "妇幼保健机构", vec!["mch"], Some(Percent(50)), None),
            (
                "2",
                "其他医疗、保健机构",
                Vec::<&str>::new(),
                Some(Percent(50)),
                None
            ),
        ]
    );
    assert_eq!(
        rows(checklist(p, "blood")),
        [
            (
                "1",
                "一般血站",
                vec!["blood_general"],
                Some(Percent(50)),
                None
            ),
            (
                "2",
                "特殊血站",
                vec!["blood_special"],
                Some(Percent(100)),
                None
            ),
            (
                "3",
                "单采血浆站",
                vec!["plasma_station"],
                Some(Percent(100)),
                None
            ),
            (
                "4",
                "医院（含中医院）",
                vec!["hospital", "tcm_hospital", "integrated_hospital"],
                Some(Percent(6)),
                None,
            ),
        ]
    );
    // Points that no 汇总表 column fits (each is a judgement recorded in the template).
    assert_eq!(
        unfed_points(p),
        [
            "tcm.3.1", "tcm.3.2", "tcm.4.1", "cos.5.1", "cos.5.2", "mch.3.6", "mch.5.1", "mch.5.2",
            "mch.5.3", "mch.5.4",
        ]
    );
}

#[test]
fn shanxi_2025_village_clinics_answer_only_prescriptions_of_item_5() {
    let set = builtin();
    let cl = checklist(plan(&set, "shanxi-2025"), "medical");
    let village = CategoryCode::new("village_clinic");
    let item5 = cl.items.iter().find(|i| i.number == "5").expect("item 5");
    assert!(item5.text.ends_with("（村卫生室仅抽查处方管理情况）"));
    for p in &item5.points {
        let excluded = p.except.contains(&village);
        assert_eq!(excluded, p.text != "处方", "point {} ({})", p.code, p.text);
    }
    assert_eq!(
        item5
            .points
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>(),
        ["处方", "病历", "医学证明文件"]
    );
    assert_eq!(cl.point_count(), 43);
    assert_eq!(cl.applicable_points(&village).count(), 41);
    let village_item5: Vec<_> = cl
        .applicable_points(&village)
        .filter(|(i, _)| i.number == "5")
        .map(|(_, p)| p.code.as_str())
        .collect();
    assert_eq!(village_item5, ["med.5.1"]);
    // Every other category of the table answers every point.
    let hospital = CategoryCode::new("hospital");
    assert_eq!(cl.applicable_points(&hospital).count(), 43);
}

#[test]
fn special_blood_station_item_applies_only_to_special_stations() {
    let set = builtin();
    for id in ["county-2024", "shanxi-2025"] {
        let cl = checklist(plan(&set, id), "blood");
        let special = CategoryCode::new("blood_special");
        let general = CategoryCode::new("blood_general");
        assert_eq!(cl.applicable_points(&special).count(), 22, "{id}");
        assert_eq!(cl.applicable_points(&general).count(), 19, "{id}");
        assert!(
            cl.applicable_points(&general)
                .all(|(i, _)| i.title != "特殊血站管理"),
            "{id}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Summary tables
// ---------------------------------------------------------------------------------

#[test]
fn summary_tables_per_plan() {
    let set = builtin();
    let codes = |id: &str| -> Vec<(String, String)> {
        plan(&set, id)
            .summaries
            .iter()
            .map(|s| (s.code.clone(), s.name.clone()))
            .collect()
    };
    assert!(codes("county-2024").is_empty());
    assert_eq!(
        codes("cq-district-2022"),
        [("followup-summary".into(), "附表3".into())]
    );
    assert_eq!(
        codes("shanxi-2025"),
        [
            ("medical-summary".into(), "附件1 附表2".into()),
            ("tcm-summary".into(), "附件1 附表4".into()),
            ("cosmetology-summary".into(), "附件1 附表6".into()),
            ("mch-summary".into(), "附件1 附表8".into()),
            ("blood-summary".into(), "附件2 附表2".into()),
        ]
    );
    let sources: Vec<_> = plan(&set, "shanxi-2025")
        .summaries
        .iter()
        .map(|s| s.sources.join(","))
        .collect();
    assert_eq!(sources, ["medical", "tcm", "cosmetology", "mch", "blood"]);
}

#[test]
fn cq_followup_summary_columns_and_rows() {
    let set = builtin();
    let p = plan(&set, "cq-district-2022");
    let st = summary(p, "followup-summary");
    assert_eq!(st.title, "医疗卫生“回头看”检查情况汇总表");
    assert_eq!(st.sources, ["medical"]);
    assert_eq!(st.row_header, "类别");
    assert_eq!(st.total_label, None, "the seed's table has no 合计 row");
    assert_eq!(
        st.note.as_deref(),
        Some(
            "注：数据包含2022年度重庆市卫生健康领域“双随机、一公开”市级监督抽查中有关医院的检查数据"
        )
    );
    assert_eq!(st.columns.len(), 33);
    assert_eq!(
        labels(st),
        [
            "被处罚单位数",
            "检查单位数",
            "执业许可证管理不符合要求单位数",
            "人员资格管理（未使用非卫生技术人员）不符合要求单位数",
            "医疗机构诊疗活动管理不符合要求单位数",
            "健康体检管理不符合要求单位数",
            "医师管理不符合要求单位数",
            "外国医师管理不符合要求单位数",
            "香港、澳门特别行政区医师管理不符合要求单位数",
            "台湾医师管理不符合要求单位数",
            "乡村医生管理不符合要求单位数",
            "护士管理不符合要求单位数",
            "医技人员管理不符合要求单位数",
            "麻醉药品和精神药品管理不符合要求单位数",
            "抗菌药物管理不符合要求单位数",
            "医疗器械管理不符合要求单位数",
            "禁止临床应用技术管理不符合要求单位数",
            "限制临床应用技术管理不符合要求单位数",
            "医疗美容管理不符合要求单位数",
            "临床基因扩增管理不符合要求单位数",
            "干细胞临床研究管理不符合要求单位数",
            "临床研究管理不符合要求单位数",
            "处方管理不符合要求单位数",
            "病历管理不符合要求单位数",
            "医学证明文件管理不符合要求单位数",
            "用血来源管理不符合要求单位数",
            "血液储存管理不符合要求的单位数",
            "用血管理组织和制度不符合要求单位数",
            "应急用血采血管理不符合要求单位数",
            "查处案件数",
            "罚没款金额（万元）",
            "吊销《医疗机构执业许可证》单位数",
            "吊销诊疗科目单位数",
        ]
    );
    assert_eq!(
        kinds(st),
        kinds_of(
            &[Population, Inspected],
            27,
            &[Cases, FineWan, RevokedLicence, RevokedSubjects]
        )
    );
    assert!(st.columns[..2].iter().all(|c| c.header.is_empty()));
    assert_eq!(
        spans(st, 0),
        [span("不合格情况", 27), span("行政处罚情况", 4)]
    );
    assert_eq!(
        spans(st, 1),
        [
            span("医疗机构资质管理", 4),
            span("医疗卫生人员管理", 7),
            span("药品和医疗器械管理", 3),
            span("医疗技术管理", 6),
            span("医疗文书管理", 3),
            span("临床用血管理", 4),
        ]
    );
    assert_eq!(st.header_depth(), 3);
    assert_eq!(
        row_labels(st),
        [
            "医疗机构依法执业专项监督检查回头看",
            "医疗卫生随机监督检查回头看",
            "打击非法医疗美容服务专项整治回头看 › 非医疗机构",
            "打击非法医疗美容服务专项整治回头看 › 医疗机构",
        ]
    );
    let followups: Vec<_> = st.rows.iter().map(|r| r.followup.as_deref()).collect();
    assert_eq!(
        followups,
        [
            Some("medical-practice-2021"),
            Some("random-2021"),
            Some("cosmetology-2021"),
            Some("cosmetology-2021"),
        ]
    );
    // The 医疗美容 split: a beauty salon counts under 非医疗机构, a clinic under 医疗机构,
    // and neither of the first two rows takes a unit followed up for another campaign.
    let salon = CategoryCode::new("non_medical");
    let clinic = CategoryCode::new("clinic");
    let matches = |cat: &CategoryCode, f: &str| -> Vec<usize> {
        st.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| SummaryTable::row_matches(r, cat, Some(f)))
            .map(|(i, _)| i)
            .collect()
    };
    assert_eq!(matches(&salon, "cosmetology-2021"), [2]);
    assert_eq!(matches(&clinic, "cosmetology-2021"), [3]);
    assert_eq!(matches(&clinic, "random-2021"), [1]);
    // 医疗机构 is every category of kind medical in the catalogue.
    let medical_kinds: Vec<_> = set
        .catalogue
        .categories
        .iter()
        .filter(|c| c.kind == jiandu_core::CategoryKind::Medical)
        .map(|c| c.code.clone())
        .collect();
    assert_eq!(st.rows[3].categories, medical_kinds);
}

#[test]
fn shanxi_medical_summary_columns_and_rows() {
    let set = builtin();
    let p = plan(&set, "shanxi-2025");
    let st = summary(p, "medical-summary");
    assert_eq!(st.title, "2025年医疗机构国家随机监督抽查汇总表");
    assert_eq!(st.row_header, "单位类别");
    assert_eq!(st.total_label.as_deref(), Some("合计"));
    assert_eq!(st.columns.len(), 32);
    assert_eq!(
        labels(st),
        [
            "执业许可证管理不符合要求单位数",
            "医疗机构诊疗活动管理不符合要求单位数",
            "医师管理不符合要求单位数",
            "外国医师管理不符合要求单位数",
            "香港、澳门特别行政区医师管理不符合要求单位数",
            "台湾医师管理不符合要求单位数",
            "乡村医生管理不符合要求单位数",
            "护士管理不符合要求单位数",
            "医技人员管理不符合要求单位数",
            "医疗用毒性药品、麻醉和精神药品管理不符合要求单位数",
            "抗菌药物管理不符合要求单位数",
            "医疗器械管理不符合要求单位数",
            "禁止类技术管理不符合要求单位数",
            "限制类技术管理不符合要求单位数",
            "医疗美容管理不符合要求单位数",
            "临床基因扩增管理不符合要求单位数",
            "生物医学研究研究管理不符合要求单位数",
            "处方管理不符合要求单位数",
            "病历管理不符合要求单位数",
            "医学证明文件管理不符合要求单位数",
            "抽查重点病历不合格单位数",
            "公立医疗机构开设营利性药店单位数",
            "公立医疗机构加价销售医用耗材单位数",
            "公立医疗机构薪酬与业务收入挂钩单位数",
            "殡葬涉医领域管理不符合单位数",
            "患者就医信息数据等医疗数据管理不符合情况单位数",
            "互联网诊疗管理不符合单位数",
            "医保涉医领域管理不符合单位数",
            "查处案件数",
            "罚没款金额（万元）",
            "吊销《医疗机构执业许可证》单位数",
            "吊销诊疗科目单位数",
        ]
    );
    assert_eq!(
        kinds(st),
        kinds_of(&[], 28, &[Cases, FineWan, RevokedLicence, RevokedSubjects])
    );
    assert_eq!(
        spans(st, 0),
        [span("不合格情况", 28), span("行政处罚情况", 4)]
    );
    assert_eq!(
        spans(st, 1),
        [
            span("医疗机构资质管理", 2),
            span("医疗卫生人员管理", 7),
            span("药品和医疗器械管理", 3),
            span("医疗技术与生物医学研究管理", 5),
            span("医疗文书管理", 4),
            span("政策落实", 3),
            span("重点领域执法", 4),
        ]
    );
    assert_eq!(
        row_labels(st),
        [
            "医院（含妇幼保健院、精神卫生院）",
            "社区卫生服务中心",
            "社区卫生服务站",
            "卫生院",
            "村卫生室（所）",
            "诊所",
            "其他医疗机构",
        ]
    );
    // The summary rows are the draw rows of 附表1, with the same categories.
    let draw: Vec<_> = checklist(p, "medical")
        .rows
        .iter()
        .map(|r| (r.label.clone(), r.categories.clone()))
        .collect();
    let sum: Vec<_> = st
        .rows
        .iter()
        .map(|r| (r.label.clone(), r.categories.clone()))
        .collect();
    assert_eq!(draw, sum);

    // Item 2's points each feed their own 医疗卫生人员管理 column.
    assert_eq!(
        fed_labels(p, "medical", "2"),
        [
            vec!["医师管理不符合要求单位数"],
            vec!["外国医师管理不符合要求单位数"],
            vec!["香港、澳门特别行政区医师管理不符合要求单位数"],
            vec!["台湾医师管理不符合要求单位数"],
            vec!["乡村医生管理不符合要求单位数"],
            vec!["护士管理不符合要求单位数"],
            vec!["医技人员管理不符合要求单位数"],
        ]
    );
    // Item 6 (抽查重点病历) feeds 抽查重点病历不合格单位数 only.
    assert!(
        fed_labels(p, "medical", "6")
            .iter()
            .all(|f| f == &["抽查重点病历不合格单位数"])
    );
    assert_eq!(fed_labels(p, "medical", "6").len(), 5);
    // Item 12 (欺诈骗保) feeds 医保涉医领域.
    assert!(
        fed_labels(p, "medical", "12")
            .iter()
            .all(|f| f == &["医保涉医领域管理不符合单位数"])
    );
}

#[test]
fn shanxi_tcm_summary_columns_and_rows() {
    let set = builtin();
    let p = plan(&set, "shanxi-2025");
    let st = summary(p, "tcm-summary");
    assert_eq!(st.title, "2025年中医医疗机构国家随机监督抽查汇总表");
    assert_eq!(st.sources, ["tcm"]);
    assert_eq!(st.total_label.as_deref(), Some("合计"));
    assert_eq!(st.columns.len(), 33);
    assert_eq!(
        labels(st),
        [
            "执业许可证（备案证、备案凭证）管理不符合要求单位数",
            "医疗机构诊疗活动管理不符合要求单位数",
            "医师（其中中医医师）管理不符合要求单位数",
            "中医（专长）医师管理不符合要求单位数",
            "护士管理不符合要求单位数",
            "医技人员管理不符合要求单位数",
            "中药师管理不符合要求单位数",
            "医疗用毒性药品、麻醉和精神药品管理不符合要求单位数",
            "抗菌药物管理不符合要求单位数",
            "中药饮片管理不符合要求单位数",
            "医疗器械管理不符合要求单位数",
            "禁止类技术管理不符合要求单位数",
            "限制类技术管理不符合要求单位数",
            "医疗美容管理不符合要求单位数",
            "临床基因扩增管理不符合要求单位数",
            "生物医学研究管理不符合要求单位数",
            "处方管理不符合要求单位数",
            "病历管理不符合要求单位数",
            "医学证明文件管理不符合要求单位数",
            "抽查重点病历不合格单位数",
            "公立医疗机构开设营利性药店单位数",
            "公立医疗机构加价销售医用耗材单位数",
            "公立医疗机构薪酬与业务收入挂钩单位数",
            "殡葬涉医领域管理不符合单位数",
            "患者就医信息数据等医疗数据管理不符合要求单位数",
            "互联网诊疗管理不符合要求单位数",
            "医保涉医领域管理不符合要求单位数",
            "中医医疗广告发布不符合规定单位数",
            "查处案件数",
            "罚没款金额（万元）",
            "吊销《医疗机构执业许可证》单位数",
            "注销或者撤销备案证单位数",
            "吊销医师（其中中医医师）资格证单位数",
        ]
    );
    assert_eq!(
        kinds(st),
        kinds_of(
            &[],
            28,
            &[
                Cases,
                FineWan,
                RevokedLicence,
                CancelledFiling,
                RevokedPersonnel
            ]
        )
    );
    // The seed prints "不合格的" over the indicators of this table.
    assert_eq!(
        spans(st, 0),
        [span("不合格的", 28), span("行政处罚情况", 5)]
    );
    assert_eq!(
        spans(st, 1),
        [
            span("医疗机构资质管理", 2),
            span("医疗卫生人员管理", 5),
            span("药品和医疗器械管理", 4),
            span("医疗技术与生物医学研究管理", 5),
            span("医疗文书管理", 4),
            span("政策落实", 3),
            span("重点领域执法", 5),
        ]
    );
    assert_eq!(
        row_labels(st),
        [
            "医院 › 中医医院",
            "医院 › 中西医结合医院",
            "门诊部 › 中医门诊部",
            "门诊部 › 中西医结合门诊部",
            "诊所 › 中医诊所",
            "诊所 › 中医（综合）诊所",
            "诊所 › 中西医结合诊所",
        ]
    );
    // Every category of the 中医 draw rows has exactly one summary row.
    for row in &checklist(p, "tcm").rows {
        for c in &row.categories {
            let n = st
                .rows
                .iter()
                .filter(|r| SummaryTable::row_matches(r, c, None))
                .count();
            assert_eq!(n, 1, "category {c}");
        }
    }
    // 抽查重点病历 (欺诈骗保) counts under both columns that describe it.
    assert!(fed_labels(p, "tcm", "9").iter().all(|f| f
        == &[
            "抽查重点病历不合格单位数",
            "医保涉医领域管理不符合要求单位数"
        ]));
    assert_eq!(
        fed_labels(p, "tcm", "2"),
        [
            vec!["医师（其中中医医师）管理不符合要求单位数"],
            vec!["中医（专长）医师管理不符合要求单位数"],
            vec!["护士管理不符合要求单位数"],
            vec!["医技人员管理不符合要求单位数"],
            vec!["中药师管理不符合要求单位数"],
        ]
    );
}

#[test]
fn shanxi_cosmetology_summary_columns_and_rows() {
    let set = builtin();
    let p = plan(&set, "shanxi-2025");
    let st = summary(p, "cosmetology-summary");
    assert_eq!(st.title, "2025年医疗美容机构国家随机监督抽查汇总表");
    assert_eq!(st.total_label.as_deref(), Some("合计"));
    assert_eq!(st.columns.len(), 16);
    assert_eq!(
        labels(st),
        [
            "辖区内机构总数",
            "检查机构数",
            "医疗美容机构执业资质管理不符合要求机构数",
            "未按照备案的医疗美容项目级别开展医疗美容服务机构数",
            "使用非卫生技术人员开展医疗美容服务机构数",
            "执业人员资格管理不符合要求机构数",
            "医师管理不符合要求机构数",
            "护士管理不符合要求机构数",
            "药物管理不符合要求机构数",
            "医疗器械管理不符合要求机构数",
            "医疗美容广告发布管理不符合要求机构数",
            "医疗文书管理不符合要求机构数",
            "查处案件数",
            "罚没款金额（万元）",
            "吊销执业机构许可证机构数",
            "吊销人员资格证机构数",
        ]
    );
    assert_eq!(
        kinds(st),
        kinds_of(
            &[Population, Inspected],
            10,
            &[Cases, FineWan, RevokedLicence, RevokedPersonnel]
        )
    );
    assert_eq!(
        spans(st, 0),
        [span("不合格情况", 10), span("行政处罚情况", 4)]
    );
    assert!(spans(st, 1).is_empty(), "no second header row");
    assert_eq!(st.header_depth(), 2);
    assert_eq!(
        row_labels(st),
        ["医疗美容机构", "内设医疗美容科室的医疗机构"]
    );
    // Item 5 (医疗技术) has no column.
    assert!(
        fed_labels(p, "cosmetology", "5")
            .iter()
            .all(|f| f.is_empty())
    );
}

#[test]
fn shanxi_mch_summary_columns_and_rows() {
    let set = builtin();
    let p = plan(&set, "shanxi-2025");
    let st = summary(p, "mch-summary");
    assert_eq!(st.title, "2025年母婴保健技术服务机构国家随机监督抽查汇总表");
    assert_eq!(st.total_label.as_deref(), Some("合计"));
    assert_eq!(st.columns.len(), 27);
    assert_eq!(
        labels(st),
        [
            "辖区内单位总数",
            "检查单位数",
            "机构执业资质管理不符合要求单位数",
            "人员资格管理不符合要求单位数",
            "机构未按照批准的业务范围和服务项目执业单位数",
            "人员未按照批准的服务项目执业单位数",
            "未按要求开展人工终止妊娠手术进行登记查验单位数",
            "未按要求开展孕妇外周血胎儿游离DNA产前筛查与诊断单位数",
            "未按要求开展人类辅助生殖技术查验身份证、结婚证单位数",
            "未按要求开展产前诊断、人类辅助生殖技术等服务单位数",
            "开展相关技术服务未按要求遵守知情同意原则单位数",
            "出具医学证明文件和诊断报告不符合相关规定单位数",
            "病历、记录、档案等文书不符合相关规定单位数",
            "未按要求设置禁止“两非”警示标志单位数",
            "违法发布母婴保健技术服务广告单位数",
            "存在买卖精子、买卖卵子、代孕等违法犯罪行为单位数",
            "未按规定出具出生医学证明单位数",
            "存在买卖和伪造出生医学证明违法犯罪行为单位数",
            "未建立禁止胎儿性别鉴定管理制度单位数",
            "未建立人工终止妊娠登记查验制度单位数",
            "未建立健全技术档案管理、转诊、追踪观察制度单位数",
            "未建立孕产妇死亡、婴儿死亡以及新生儿初生缺陷报告制度单位数",
            "不具有保证技术服务安全和服务质量的其他管理制度单位数",
            "查处案件数",
            "罚没款金额（万元）",
            "吊销执业机构许可证单位数",
            "吊销人员资格证单位数",
        ]
    );
    assert_eq!(
        kinds(st),
        kinds_of(
            &[Population, Inspected],
            21,
            &[Cases, FineWan, RevokedLicence, RevokedPersonnel]
        )
    );
    assert_eq!(
        spans(st, 0),
        [span("不合格情况", 21), span("行政处罚情况", 4)]
    );
    assert_eq!(
        spans(st, 1),
        [
            span("机构及人员资质情况", 2),
            span("法律法规执行情况", 14),
            span("制度建立情况", 5),
        ]
    );
    assert_eq!(row_labels(st), ["妇幼保健机构", "其他医疗、保健机构"]);
}

#[test]
fn shanxi_blood_summary_columns_and_rows() {
    let set = builtin();
    let p = plan(&set, "shanxi-2025");
    let st = summary(p, "blood-summary");
    assert_eq!(st.name, "附件2 附表2");
    assert_eq!(st.title, "2025年血液国家随机监督抽查汇总表");
    assert_eq!(st.total_label.as_deref(), Some("合计"));
    assert_eq!(st.columns.len(), 25);
    assert_eq!(
        labels(st),
        [
            "辖区内单位总数",
            "检查单位数",
            "未按照许可范围开展工作单位数",
            "从业人员未取得相关岗位执业资格或者执业注册而从事血液安全工作单位数",
            "使用不符合国家规定的耗材单位数",
            "未按规定对献血者、供血浆者进行身份核实、健康征询和体检单位数",
            "未按要求检测新浆员和间隔180天的浆员的血浆单位数",
            "超量、频繁采集血液（浆）的单位数",
            "采集冒名顶替者、健康检查不合格者血液(血浆)单位数",
            "血液（浆）检测项目不齐全单位数",
            "未按规定保存血液标本的单位数",
            "未按规定保存工作记录的单位数",
            "对检测不合格或者报废的血液（浆），未按有关规定处理单位数",
            "全血及成分血不符合国家规定的卫生标准单位数",
            "包装、储存、运输不符合国家规定的卫生标准和要求单位数",
            "非法采集、供应、倒卖血液、血浆单位数，不符合相关文件要求的情况",
            "未按规定依法执业",
            "未按规定科学宣传、规范处理医疗废物",
            "未按要求采集制备脐带血、开展核酸检测",
            "用血来源管理不符合要求单位数",
            "血液出入库不符合要求的单位数",
            "用血管理组织和制度不符合要求单位数",
            "临床输血管理不符合要求单位数",
            "案件查处数",
            "罚没款金额（万元）",
        ]
    );
    assert_eq!(
        kinds(st),
        kinds_of(&[Population, Inspected], 21, &[Cases, FineWan])
    );
    assert_eq!(
        spans(st, 0),
        [span("不合格情况", 21), span("行政处罚情况", 2)]
    );
    assert_eq!(
        spans(st, 1),
        [
            span("资质管理", 3),
            span("血源管理", 4),
            span("血液检测", 5),
            span("包装储存运输", 1),
            span("其他", 1),
            span("特殊血站管理", 3),
            span("临床用血管理", 4),
        ]
    );
    assert_eq!(
        row_labels(st),
        ["一般血站", "特殊血站", "单采血浆站", "医院（含中医院）"]
    );
    // Item 7 (临床用血) points follow the item text; their columns follow the table.
    assert_eq!(
        fed_labels(p, "blood", "7"),
        [
            vec!["用血来源管理不符合要求单位数"],
            vec!["用血管理组织和制度不符合要求单位数"],
            vec!["血液出入库不符合要求的单位数"],
            vec!["临床输血管理不符合要求单位数"],
        ]
    );
}

#[test]
fn every_indicator_is_fed_only_from_its_sources() {
    // Validation enforces this; asserting it on the real files guards the guard.
    let set = builtin();
    for p in &set.plans {
        for (ti, st) in p.summaries.iter().enumerate() {
            for (ci, col) in st.columns.iter().enumerate() {
                let feeders: Vec<_> = p
                    .checklists
                    .iter()
                    .flat_map(|c| {
                        c.items
                            .iter()
                            .flat_map(|i| i.points.iter())
                            .map(move |pt| (c, pt))
                    })
                    .filter(|(_, pt)| pt.feeds.iter().any(|f| p.resolve_feed(f) == Some((ti, ci))))
                    .collect();
                if col.kind == ColumnKind::Indicator {
                    assert!(!feeders.is_empty(), "{}/{} unfed", st.code, col.code);
                } else {
                    assert!(
                        feeders.is_empty(),
                        "{}/{} is not an indicator",
                        st.code,
                        col.code
                    );
                }
                for (c, pt) in feeders {
                    assert!(
                        st.sources.contains(&c.code),
                        "{} feeds {}",
                        pt.code,
                        st.code
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Validation errors
// ---------------------------------------------------------------------------------

/// A minimal valid plan; each negative test breaks one thing in it.
const BASE: &str = r#"
id = "neg"
seed = "test"
year = 2025
title = "测试计划"
authority = "测试卫生健康委员会"

[[checklists]]
code = "medical"
name = "附表1"
title = "医疗机构工作计划表"
rows = [
  { number = "1", label = "医院", categories = ["hospital"], national = { percent = 12 } },
  { number = "2", label = "村卫生室（所）", categories = ["village_clinic"], national = { percent = 5 } },
]

[[checklists.items]]
number = "5"
title = "医疗文书管理情况"
text = "医疗文书（处方、病历）管理情况。"
points = [
  { code = "m.5.1", text = "处方", feeds = ["sum/prescription"] },
  { code = "m.5.2", text = "病历", feeds = ["sum/record"], except = ["village_clinic"] },
]

[[summaries]]
code = "sum"
name = "附表2"
title = "汇总表"
sources = ["medical"]
row_header = "单位类别"
total_label = "合计"
rows = [ { label = "医院", categories = ["hospital"] } ]
columns = [
  { code = "inspected", label = "检查单位数", kind = "inspected" },
  { code = "prescription", label = "处方管理不符合要求单位数", header = ["不合格情况"], kind = "indicator" },
  { code = "record", label = "病历管理不符合要求单位数", header = ["不合格情况"], kind = "indicator" },
  { code = "cases", label = "查处案件数", header = ["行政处罚情况"], kind = "cases" },
]
"#;

fn catalogue() -> Catalogue {
    Catalogue::parse(BUILTIN_CATALOGUE.0, BUILTIN_CATALOGUE.1).expect("catalogue")
}

/// Replaces exactly one occurrence of `from` in BASE (so a typo in a test cannot
/// silently leave BASE valid).
fn broken(from: &str, to: &str) -> String {
    assert_eq!(
        BASE.matches(from).count(),
        1,
        "{from:?} must occur once in BASE"
    );
    BASE.replacen(from, to, 1)
}

fn load_err(text: &str) -> TemplateError {
    match Plan::load("neg.toml", text, &catalogue()) {
        Ok(_) => panic!("the broken template must be refused"),
        Err(e) => e,
    }
}

#[test]
fn base_template_is_valid() {
    let plan = Plan::load("neg.toml", BASE, &catalogue()).expect("BASE is valid");
    assert_eq!(plan.checklists[0].point_count(), 2);
}

#[test]
fn missing_field_names_the_field() {
    let e = load_err(&broken("authority = \"测试卫生健康委员会\"\n", ""));
    assert_eq!(e.file, "neg.toml");
    assert_eq!(
        e.entry, "第 1 行第 1 列",
        "a missing top-level field points at the document"
    );
    assert!(
        e.problem.starts_with("缺少必填字段“authority”"),
        "{}",
        e.problem
    );
    assert!(
        e.to_string()
            .starts_with("模板文件 neg.toml：第 1 行第 1 列：缺少必填字段“authority”"),
        "{e}"
    );
}

#[test]
fn unknown_field_is_refused() {
    let e = load_err(&broken(
        "{ code = \"m.5.1\", text = \"处方\",",
        "{ code = \"m.5.1\", colour = \"red\", text = \"处方\",",
    ));
    assert_eq!(e.file, "neg.toml");
    let line = BASE
        .lines()
        .position(|l| l.contains("{ code = \"m.5.1\", text = \"处方\","))
        .expect("line in BASE")
        + 1;
    assert!(
        e.entry.starts_with(&format!("第 {line} 行")),
        "entry names the line: {}",
        e.entry
    );
    assert!(e.problem.starts_with("未知字段“colour”"), "{}", e.problem);
}

#[test]
fn unknown_category_names_row_and_code() {
    let e = load_err(&broken(
        "categories = [\"hospital\"], national",
        "categories = [\"hospitl\"], national",
    ));
    assert_eq!(e.file, "neg.toml");
    assert_eq!(e.entry, "checklists[medical].rows[1]（医院）");
    assert_eq!(e.problem, "未知的机构类别“hospitl”");
}

#[test]
fn category_in_two_rows_of_one_table_is_refused() {
    let e = load_err(&broken(
        "categories = [\"village_clinic\"]",
        "categories = [\"village_clinic\", \"hospital\"]",
    ));
    assert_eq!(e.entry, "checklists[medical].rows[2]（村卫生室（所））");
    assert_eq!(e.problem, "机构类别“hospital”在本表中出现在多行");
}

#[test]
fn duplicate_point_code_is_refused() {
    let e = load_err(&broken(
        "{ code = \"m.5.2\", text = \"病历\"",
        "{ code = \"m.5.1\", text = \"病历\"",
    ));
    assert_eq!(e.file, "neg.toml");
    assert_eq!(e.entry, "checklists[medical].items[5].points[m.5.1]");
    assert_eq!(e.problem, "要点代码在计划内重复");
}

#[test]
fn indicator_nobody_feeds_is_refused() {
    let e = load_err(&broken(" feeds = [\"sum/record\"],", ""));
    assert_eq!(e.file, "neg.toml");
    assert_eq!(e.entry, "summaries[sum].columns[record]");
    assert_eq!(e.problem, "没有任何检查要点对应此不合格指标（feeds）");
}

#[test]
fn feed_to_missing_column_is_refused() {
    let e = load_err(&broken("\"sum/record\"", "\"sum/recrd\""));
    assert_eq!(e.file, "neg.toml");
    assert_eq!(e.entry, "checklists[medical].items[5].points[m.5.2]");
    assert_eq!(e.problem, "feeds 指向不存在的汇总表栏目“sum/recrd”");
}

#[test]
fn feed_to_a_penalty_column_is_refused() {
    let e = load_err(&broken("\"sum/record\"", "\"sum/record\", \"sum/cases\""));
    assert_eq!(e.entry, "checklists[medical].items[5].points[m.5.2]");
    assert_eq!(e.problem, "feeds 指向的“sum/cases”不是不合格指标栏目");
}

#[test]
fn quota_with_two_kinds_is_refused() {
    let e = load_err(&broken(
        "national = { percent = 12 }",
        "national = { percent = 12, count = 1 }",
    ));
    assert_eq!(e.file, "neg.toml");
    assert_eq!(e.entry, "checklists[medical].rows[1]（医院）.national");
    assert_eq!(e.problem, "percent、count、remainder 必须且只能填一项");
}

#[test]
fn except_outside_the_table_is_refused() {
    let e = load_err(&broken(
        "except = [\"village_clinic\"]",
        "except = [\"clinic\"]",
    ));
    assert_eq!(e.entry, "checklists[medical].items[5].points[m.5.2]");
    assert_eq!(e.problem, "机构类别“clinic”不在本表的抽查对象中");
}

#[test]
fn template_set_names_the_broken_file_and_duplicate_ids() {
    let bad = broken("\"sum/record\"", "\"sum/recrd\"");
    let e = TemplateSet::from_sources(
        BUILTIN_CATALOGUE,
        [("good.toml", BASE), ("bad.toml", bad.as_str())],
    )
    .expect_err("bad.toml must be refused");
    assert_eq!(e.file, "bad.toml");
    assert_eq!(e.entry, "checklists[medical].items[5].points[m.5.2]");

    let e = TemplateSet::from_sources(BUILTIN_CATALOGUE, [("a.toml", BASE), ("b.toml", BASE)])
        .expect_err("same id twice");
    assert_eq!(e.file, "b.toml");
    assert_eq!(e.entry, "id");
    assert_eq!(e.problem, "计划代码“neg”与另一个模板文件重复");
}

#[test]
fn deadlines_accept_toml_dates_and_strings_but_not_nonsense() {
    let with = |line: &str| BASE.replacen("authority =", &format!("{line}\nauthority ="), 1);
    let plan = Plan::load(
        "neg.toml",
        &with("deadlines = [{ date = 2025-06-20, what = \"阶段性工作总结\" }]"),
        &catalogue(),
    )
    .expect("unquoted TOML date");
    assert_eq!(plan.deadlines[0].date.to_string(), "2025-06-20");
    let plan = Plan::load(
        "neg.toml",
        &with("deadlines = [{ date = \"2025-11-20\", what = \"全年总结\" }]"),
        &catalogue(),
    )
    .expect("quoted date");
    assert_eq!(plan.deadlines[0].date.to_string(), "2025-11-20");
    let e = Plan::load(
        "neg.toml",
        &with("deadlines = [{ date = \"6月20日\", what = \"总结\" }]"),
        &catalogue(),
    )
    .expect_err("not a date");
    assert!(e.problem.contains("“6月20日”不是有效日期"), "{}", e.problem);
    let e = Plan::load(
        "neg.toml",
        &with("deadlines = [{ date = 2025-06-20T10:00:00, what = \"总结\" }]"),
        &catalogue(),
    )
    .expect_err("a time is not a deadline date");
    assert!(e.problem.contains("不带时间"), "{}", e.problem);
}

/// Rows that draw by service (服务项目): 内设医疗美容科室的医疗机构 are units offering
/// 医疗美容, 其他医疗、保健机构 those offering 母婴保健技术服务 (a general hospital with
/// a 医美科 or an 产科 is in those populations); the old categories imply them.
#[test]
fn rows_by_service_and_categories_that_imply_services() {
    let set = builtin();
    for id in ["county-2024", "shanxi-2025"] {
        let p = plan(&set, id);
        let cos = checklist(p, "cosmetology");
        assert_eq!(cos.rows[1].services, ["cosmetic_medicine"], "{id}");
        assert!(cos.rows[1].categories.is_empty());
        let mch = checklist(p, "mch");
        assert_eq!(mch.rows[1].services, ["mch_technical"], "{id}");
        let hospital = CategoryCode::new("hospital");
        let with = |s: &[&str]| {
            set.catalogue.effective_services(
                &hospital,
                &s.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            cos.row_for_unit(&hospital, &with(&["cosmetic_medicine"]))
                .map(|r| r.number.as_str()),
            Some("2")
        );
        assert!(cos.row_for_unit(&hospital, &with(&[])).is_none());
        // A kind of 母婴保健技术服务 puts a hospital in the mch table's row 2.
        assert_eq!(
            mch.row_for_unit(&hospital, &with(&["midwifery"]))
                .map(|r| r.number.as_str()),
            Some("2")
        );
        // A 医疗美容机构 stays in row 1 (first row that takes it).
        let cosmetology = CategoryCode::new("cosmetology");
        let implied = set.catalogue.effective_services(&cosmetology, &[]);
        assert_eq!(implied, ["cosmetic_medicine"]);
        assert_eq!(
            cos.row_for_unit(&cosmetology, &implied)
                .map(|r| r.number.as_str()),
            Some("1")
        );
        let old = CategoryCode::new("cosmetology_dept");
        assert_eq!(
            cos.row_for_unit(&old, &set.catalogue.effective_services(&old, &[]))
                .map(|r| r.number.as_str()),
            Some("2")
        );
    }
    assert_eq!(
        set.catalogue
            .service_named("临床用血")
            .map(|s| s.code.as_str()),
        Some("clinical_blood")
    );
}

/// Every campaign names the table its units are followed up on (回头看): the
/// 母婴保健 campaign on the mch table, not 附表1.
#[test]
fn campaigns_name_their_followup_checklist() {
    let set = builtin();
    let county = plan(&set, "county-2024");
    let by: Vec<(&str, &str)> = county
        .campaigns
        .iter()
        .map(|c| (c.code.as_str(), c.checklist.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        by,
        [
            ("medical-practice-2023", "medical"),
            ("random-2023", "medical"),
            ("mch-random-2023", "mch"),
            ("cosmetology-art-2023", "cosmetology")
        ]
    );
    let cq = plan(&set, "cq-district-2022");
    assert!(
        cq.campaigns
            .iter()
            .all(|c| c.checklist.as_deref() == Some("medical"))
    );
    // Validation requires it.
    let mut broken = county.clone();
    broken.campaigns[0].checklist = None;
    let problems = broken.problems("x.toml", &set.catalogue);
    assert!(
        problems
            .iter()
            .any(|e| e.entry == "campaigns[medical-practice-2023]"
                && e.problem.contains("checklist")),
        "{problems:?}"
    );
    broken.campaigns[0].checklist = Some("nope".into());
    assert!(!broken.problems("x.toml", &set.catalogue).is_empty());
}
