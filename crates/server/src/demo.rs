//! `jiandu-server demo`: fills a fresh database with a realistic generated registry,
//! staff, users of every role, a current plan's draw and a few inspections, enough
//! to try every screen.
//!
//! The plan is the Shanxi plan re-issued for the current year as a bureau would: a
//! plan file of its own (`shanxi-YYYY`, deadlines a month and three months from the
//! day of the run), imported and published through the same doors as any plan, so
//! a newcomer sees tasks due, not every task overdue.
//!
//! Everything is derived from the seed text ([`DEFAULT_SEED`] unless given) through
//! SHA-256 in counter mode, never a library PRNG whose output could change with an
//! upgrade, and every id is derived from the seed too: the same seed gives the same
//! registry, the same users, the same draw (the draw depends on unit and inspector
//! ids) and the same inspections; only timestamps of creation differ.
//!
//! The data goes through the same doors as a bureau's: the registry and staff
//! directory are written as CSV and imported with
//! [`crate::service::registry::parse_csv`] (so every credit code passes the GB 32100
//! check and every phone number the registry's check), the draw is
//! [`crate::service::draws::run`], and inspections follow `jiandu_core`'s rules
//! (start, findings, outcome, submit, approve/return).
//!
//! Demo accounts, all with the password [`DEMO_PASSWORD`]: see [`DEMO_ACCOUNTS`].

use crate::auth;
use crate::error::ServiceError;
use crate::model::{NewUser, ReviewDecision, ReviewRecord, StoredTask};
use crate::service::{Actor, Platform, draws, plans, registry, review};
use crate::store::ServerStore;
use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use jiandu_core::inspection::{
    Actor as CoreActor, Finding, Inspection, InspectionStatus, Outcome, Penalty, PublicCategory,
    Verdict,
};
use jiandu_core::{CategoryCode, Fen, Role};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use uuid::Uuid;

/// Seed used when `--seed` is not given.
pub const DEFAULT_SEED: &str = "jiandu-demo";

/// Password of every demo account (printed by the command, documented in README).
pub const DEMO_PASSWORD: &str = "jiandu-demo-1";

/// The plan drawn by the demo (seed 003).
/// The built-in plan the demo re-issues for the current year.
pub const DEMO_BASE_PLAN: &str = "shanxi-2025";

/// The demo's plan id in the year of `today`, e.g. `shanxi-2026`.
pub fn plan_id(today: NaiveDate) -> String {
    format!("shanxi-{}", today.year())
}

/// The Shanxi plan re-issued for the year of `today`: the built-in plan's file with
/// the year, title and document number of that year and deadlines 4 and 13 weeks
/// after `today`, as a bureau's own file (no seed).
pub fn plan_file(today: NaiveDate) -> anyhow::Result<String> {
    let (_, text) = jiandu_core::templates::BUILTIN_PLANS
        .iter()
        .find(|(name, _)| name.starts_with(DEMO_BASE_PLAN))
        .context("内置模板中没有山西计划")?;
    let year = today.year().to_string();
    let mut doc: toml::Table = text.replace("2025年", &format!("{year}年")).parse()?;
    doc.insert("id".into(), plan_id(today).into());
    doc.remove("seed");
    doc.insert("year".into(), toml::Value::Integer(today.year().into()));
    doc.insert(
        "document_number".into(),
        format!("晋卫应急函〔{year}〕23号（演示）").into(),
    );
    let due = |weeks: i64| {
        (today + Duration::weeks(weeks))
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut deadlines = toml::value::Array::new();
    for (weeks, what) in [
        (
            4,
            "市级卫生健康行政部门报送本市医疗卫生（医疗、血液）国家随机监督抽查工作阶段性工作总结",
        ),
        (
            13,
            "完成本辖区医疗卫生（医疗、血液）国家监督抽检信息报送工作，市级卫生健康行政部门报送全年工作总结",
        ),
    ] {
        let mut d = toml::Table::new();
        d.insert("date".into(), due(weeks).into());
        d.insert("what".into(), what.into());
        deadlines.push(d.into());
    }
    doc.insert("deadlines".into(), deadlines.into());
    Ok(format!(
        "# {year}年全省医疗和血液随机监督抽查计划（演示）：jiandu-server demo 按内置的\n\
         # 山西 2025 年计划为 {year} 年重新印发，报送时限为生成之日后第 4 周和第 13 周。\n\n{}",
        toml::to_string_pretty(&doc)?
    ))
}

/// A demo account: (username, name, role, team, district).
pub const DEMO_ACCOUNTS: &[(&str, &str, Role, &str, &str)] = &[
    ("admin", "赵敏", Role::Admin, "综合科", "太原市"),
    ("lina", "李娜", Role::TeamLead, "监督一科", "小店区"),
    ("wangqiang", "王强", Role::TeamLead, "监督一科", "迎泽区"),
    ("zhangwei", "张伟", Role::Inspector, "监督一科", "小店区"),
    ("liuyang", "刘洋", Role::Inspector, "监督一科", "小店区"),
    ("chenjing", "陈静", Role::Inspector, "监督一科", "迎泽区"),
];

/// How many institutions of each category the demo registry has (every category of
/// `templates/categories.toml`; the test checks this covers them all).
pub const CATEGORY_COUNTS: &[(&str, usize)] = &[
    ("hospital", 30),
    ("mch", 6),
    ("tcm_hospital", 8),
    ("integrated_hospital", 4),
    ("chc_center", 24),
    ("chc_station", 40),
    ("township_hc", 20),
    ("village_clinic", 50),
    ("clinic", 60),
    ("tcm_outpatient", 8),
    ("integrated_outpatient", 5),
    ("tcm_clinic", 20),
    ("tcm_general_clinic", 6),
    ("integrated_clinic", 8),
    ("other_medical", 10),
    ("cosmetology", 15),
    ("cosmetology_dept", 8),
    ("other_mch", 10),
    ("blood_general", 2),
    ("blood_special", 2),
    ("plasma_station", 3),
    ("non_medical", 15),
];

/// Inspectors per district in the staff directory (besides nobody else: the demo
/// inspectors above are among them).
const INSPECTORS_PER_DISTRICT: usize = 4;
/// 小店区 is the largest district and has two more.
const INSPECTORS_XIAODIAN: usize = 6;

/// Campaigns of earlier years whose penalised units the registry lists for 回头看
/// (followed up by `county-2024` and `cq-district-2022`): (campaign, how many units).
const PENALISED: &[(&str, usize)] = &[
    ("medical-practice-2023", 3),
    ("random-2023", 3),
    ("cosmetology-art-2023", 2),
    ("medical-practice-2021", 2),
];

/// What the demo wrote, for the command to print and tests to check.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub seed: String,
    /// Institutions per category code.
    pub institutions: BTreeMap<String, usize>,
    pub staff: usize,
    pub conflicts: usize,
    pub penalised: usize,
    pub accounts: Vec<DemoAccount>,
    pub plan_id: String,
    pub draw_id: Uuid,
    pub draw_seed: String,
    pub tasks: usize,
    /// Inspections written, per status code.
    pub inspections: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoAccount {
    pub username: String,
    pub name: String,
    pub role: &'static str,
    pub team: String,
    pub district: String,
    pub password: &'static str,
    /// Tasks of the demo draw the account sees (its own; its team's for a lead).
    pub tasks: usize,
}

// ---------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------

/// SHA-256 in counter mode over the seed: stable across platforms and versions.
#[derive(Debug)]
struct Rng {
    seed: Vec<u8>,
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl Rng {
    fn new(seed: &str, stream: &str) -> Rng {
        let mut s = seed.as_bytes().to_vec();
        s.push(0x1f);
        s.extend_from_slice(stream.as_bytes());
        Rng {
            seed: s,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn next_u64(&mut self) -> u64 {
        if self.used + 8 > 32 {
            let mut h = Sha256::new();
            h.update(&self.seed);
            h.update(self.counter.to_be_bytes());
            self.block = h.finalize().into();
            self.counter += 1;
            self.used = 0;
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.block[self.used..self.used + 8]);
        self.used += 8;
        u64::from_be_bytes(b)
    }

    /// Uniform-enough in `0..n` (n is tiny next to 2⁶⁴).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// An id derived from the seed: the same seed gives the same ids.
fn demo_id(seed: &str, what: &str, key: &str) -> Uuid {
    let mut h = Sha256::new();
    for part in ["jiandu-demo-id", seed, what, key] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

// ---------------------------------------------------------------------------------
// Places
// ---------------------------------------------------------------------------------

#[derive(Debug)]
struct District {
    name: &'static str,
    /// 行政区划代码 (GB/T 2260).
    code: &'static str,
    /// A county (县) or county-level city: townships and villages, no 社区.
    rural: bool,
    /// 街道 of an urban district.
    streets: &'static [&'static str],
    /// 镇/乡.
    towns: &'static [&'static str],
    roads: &'static [&'static str],
}

const DISTRICTS: &[District] = &[
    District {
        name: "小店区",
        code: "140105",
        rural: false,
        streets: &[
            "坞城街道",
            "营盘街道",
            "北营街道",
            "平阳路街道",
            "黄陵街道",
            "龙城街道",
            "小店街道",
        ],
        towns: &["北格镇", "西温庄乡", "刘家堡乡"],
        roads: &[
            "长治路",
            "学府街",
            "亲贤北街",
            "平阳路",
            "体育路",
            "南内环街",
            "坞城路",
            "双塔南路",
            "长风街",
            "许坦东街",
        ],
    },
    District {
        name: "迎泽区",
        code: "140106",
        rural: false,
        streets: &[
            "柳巷街道",
            "文庙街道",
            "庙前街道",
            "迎泽街道",
            "桥东街道",
            "老军营街道",
        ],
        towns: &["郝庄镇"],
        roads: &[
            "迎泽大街",
            "五一路",
            "解放南路",
            "柳巷",
            "双塔西街",
            "桥东街",
            "并州路",
            "建设南路",
        ],
    },
    District {
        name: "杏花岭区",
        code: "140107",
        rural: false,
        streets: &[
            "巨轮街道",
            "三桥街道",
            "鼓楼街道",
            "杏花岭街道",
            "坝陵桥街道",
            "大东关街道",
        ],
        towns: &["中涧河乡"],
        roads: &[
            "府东街",
            "胜利街",
            "新建路",
            "解放路",
            "五龙口街",
            "敦化坊",
            "北大街",
            "杏花岭街",
        ],
    },
    District {
        name: "尖草坪区",
        code: "140108",
        rural: false,
        streets: &["尖草坪街道", "汇丰街道", "光社街道", "上兰街道", "柴村街道"],
        towns: &["向阳镇", "阳曲镇", "西村乡", "马头水乡"],
        roads: &[
            "迎新街",
            "胜利北街",
            "新兰路",
            "和平北路",
            "柴村路",
            "兴华北街",
        ],
    },
    District {
        name: "万柏林区",
        code: "140109",
        rural: false,
        streets: &[
            "千峰街道",
            "下元街道",
            "和平街道",
            "万柏林街道",
            "兴华街道",
            "长风西街街道",
        ],
        towns: &["王封乡"],
        roads: &[
            "千峰南路",
            "和平南路",
            "漪汾街",
            "兴华街",
            "长风西街",
            "晋祠路",
            "迎泽西大街",
        ],
    },
    District {
        name: "晋源区",
        code: "140110",
        rural: false,
        streets: &["义井街道", "罗城街道", "晋源街道"],
        towns: &["金胜镇", "晋祠镇", "姚村镇"],
        roads: &["晋祠路", "义井街", "南堰街", "新晋祠路", "金胜路"],
    },
    District {
        name: "清徐县",
        code: "140121",
        rural: true,
        streets: &[],
        towns: &["清源镇", "徐沟镇", "东于镇", "孟封镇", "马峪乡", "集义乡"],
        roads: &["文源路", "迎宾路", "人民路", "清泉街"],
    },
    District {
        name: "阳曲县",
        code: "140122",
        rural: true,
        streets: &[],
        towns: &["黄寨镇", "大盂镇", "东黄水镇", "泥屯镇", "侯村乡", "高村乡"],
        roads: &["青龙大街", "府前街", "新兴路"],
    },
    District {
        name: "娄烦县",
        code: "140123",
        rural: true,
        streets: &[],
        towns: &["娄烦镇", "静游镇", "杜交曲镇", "马家庄乡", "庙湾乡"],
        roads: &["汾河路", "龙泉街", "迎宾路"],
    },
    District {
        name: "古交市",
        code: "140181",
        rural: true,
        streets: &["东曲街道", "桃园街道"],
        towns: &["河口镇", "镇城底镇", "马兰镇", "邢家社乡"],
        roads: &["中央大街", "滨河南路", "大川西路", "文化路"],
    },
];

const COMMUNITIES: &[&str] = &[
    "学府",
    "亲贤",
    "龙城",
    "坞城",
    "康宁",
    "和平",
    "体育",
    "双塔",
    "新村",
    "长风",
    "南内环",
    "五一",
    "桃园",
    "青年",
    "胜利",
    "解放",
    "朝阳",
    "府东",
    "杏花",
    "光华",
    "千峰",
    "兴华",
    "漪汾",
    "晋祠",
    "义井",
    "新晋",
    "红星",
    "桥东",
    "柳南",
    "文庙",
];

const VILLAGE_PREFIX: &[&str] = &[
    "东", "西", "南", "北", "前", "后", "上", "下", "大", "小", "高", "马", "王", "李", "张", "刘",
    "赵", "孟", "杜", "白",
];
const VILLAGE_SUFFIX: &[&str] = &[
    "家庄", "庄", "峪", "沟", "堡", "寨", "坪", "村", "家湾", "河", "营", "头",
];

const BRANDS: &[&str] = &[
    "和平",
    "仁爱",
    "康宁",
    "博爱",
    "华康",
    "德仁",
    "同济",
    "益民",
    "慈济",
    "长安",
    "晋阳",
    "并州",
    "龙城",
    "汾河",
    "锦绣",
    "泰康",
    "安康",
    "福瑞",
    "明德",
    "恒安",
    "华夏",
    "永康",
    "济民",
    "瑞金",
    "普济",
    "仁和",
    "康复",
    "惠民",
    "天佑",
    "宏德",
    "德馨",
    "嘉禾",
    "颐和",
    "康泰",
    "爱尔",
    "明仁",
    "平安",
    "圣康",
    "广济",
    "百草",
    "杏林",
    "正大",
    "国泰",
    "美华",
    "丽人",
    "伊美",
    "悦容",
    "雅美",
    "秀美",
    "颜如玉",
    "尚美",
    "新东方",
    "卓越",
    "东方",
    "中和",
    "仁心",
    "厚德",
    "怡康",
    "安泰",
    "宁康",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹",
    "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛",
    "叶", "阎", "余", "潘", "杜", "戴", "夏", "钟", "汪", "田", "任", "姜", "范", "方", "石", "姚",
    "谭", "廖", "邹", "熊", "金", "陆", "郝", "孔", "白", "崔", "康", "毛", "邱", "秦", "江", "史",
    "顾", "侯", "邵", "孟", "龙", "万", "段", "雷", "钱", "汤", "尹", "黎", "易", "常", "武", "乔",
    "贺", "赖", "龚", "文", "庞", "樊", "兰", "殷", "施", "陶", "洪", "翟", "安", "颜", "倪", "严",
    "牛", "温", "芦", "季", "俞", "章", "鲁", "葛", "伍", "韦", "申", "尤", "毕", "聂", "焦", "向",
    "柳", "邢", "岳", "齐", "梅", "莫", "庄", "辛", "管", "祝", "左", "涂", "谷", "祁", "时", "舒",
    "耿", "牟", "卜", "路", "詹", "关", "苗", "凌", "费", "纪", "靳", "盛", "童", "欧", "甄", "项",
    "曲", "成", "游", "阳", "裴", "席", "卫", "查", "屈", "鲍", "位", "覃", "霍", "翁", "隋", "植",
    "甘", "景", "薄", "单", "包", "司", "柏", "宁", "柯", "阮", "桂", "闵",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "建华", "建国", "志强", "晓燕", "海燕", "红梅", "文博",
    "雅琴", "国庆", "卫东", "瑞", "鑫", "浩然", "子涵", "欣怡", "宇航", "俊杰", "思远", "晓东",
    "丽华", "玉兰", "春生", "永刚", "建军", "立新", "凤英", "学文", "志刚", "海波", "晓峰", "宏伟",
    "雪梅", "慧", "琳", "婷", "博", "凯", "斌", "波", "辉", "鹏", "华", "亮", "宁", "琴", "燕",
    "红", "蕾", "倩", "晶", "颖", "璐", "佳", "悦",
];

fn person(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

fn urban_address(rng: &mut Rng, d: &District) -> String {
    let n = rng.range(1, 268);
    match rng.below(4) {
        0 => format!(
            "山西省太原市{}{}{}号{}号楼{}层",
            d.name,
            rng.pick(d.roads),
            n,
            rng.range(1, 12),
            rng.range(1, 6)
        ),
        1 => format!(
            "山西省太原市{}{}{}号附{}号",
            d.name,
            rng.pick(d.roads),
            n,
            rng.range(1, 9)
        ),
        _ => format!("山西省太原市{}{}{}号", d.name, rng.pick(d.roads), n),
    }
}

fn village(rng: &mut Rng) -> String {
    let suffix = *rng.pick(VILLAGE_SUFFIX);
    if suffix == "村" {
        format!("{}{}村", rng.pick(VILLAGE_PREFIX), rng.pick(VILLAGE_PREFIX))
    } else {
        format!("{}{}村", rng.pick(VILLAGE_PREFIX), suffix)
    }
}

fn landline(rng: &mut Rng) -> String {
    format!("0351-{}{:06}", rng.range(2, 8), rng.below(1_000_000))
}

fn mobile(rng: &mut Rng) -> String {
    let prefix = *rng.pick(&[
        "135", "136", "138", "139", "150", "152", "158", "183", "187", "189",
    ]);
    format!("{prefix}{:08}", rng.below(100_000_000))
}

// ---------------------------------------------------------------------------------
// Credit codes and licence numbers
// ---------------------------------------------------------------------------------

/// GB 11714 check character of an 8-character organisation code.
fn org_check(first8: &str) -> char {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first8
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(36).unwrap_or(0) * w)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        v => char::from_digit(v, 10).unwrap_or('0'),
    }
}

/// Characters of the GB 32100 set that may start a 主体标识码 after `MA`.
const CODE_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// 主体标识码 (9 characters): an 8-character organisation code and its GB 11714
/// check character; entities registered since 2015 have `MA` codes.
fn subject_code(rng: &mut Rng, modern: bool) -> String {
    let first8: String = if modern {
        let mut s = String::from("MA0");
        for _ in 0..5 {
            s.push(CODE_CHARS[rng.below(CODE_CHARS.len())] as char);
        }
        s
    } else {
        format!("{}{:07}", rng.range(4, 7), rng.below(10_000_000))
    };
    format!("{first8}{}", org_check(&first8))
}

/// A 统一社会信用代码 with its GB 32100 check character: `12` 事业单位 (public
/// institutions), `52` 民办非企业单位, `91` 企业 (companies).
fn credit_code(rng: &mut Rng, registrar: &str, area: &str) -> (String, String) {
    let subject = subject_code(rng, registrar == "91");
    let first17 = format!("{registrar}{area}{subject}");
    let check = crate::credit_code::check_char(&first17).unwrap_or('0');
    (format!("{first17}{check}"), subject)
}

/// Who registers a category (登记管理部门 + 机构类别 of GB 32100).
fn registrar(category: &str) -> &'static str {
    match category {
        "hospital" | "mch" | "tcm_hospital" | "chc_center" | "township_hc" | "blood_general"
        | "blood_special" => "12",
        "chc_station" | "village_clinic" | "integrated_hospital" => "52",
        _ => "91",
    }
}

/// 执业许可证登记号: 主体标识码 + 区划 + 所有制 + 机构类别 + 序号 (22 characters).
fn licence_no(rng: &mut Rng, category: &str, subject: &str, area: &str) -> String {
    let class = match category {
        "hospital" | "cosmetology_dept" | "other_mch" => "A1",
        "tcm_hospital" => "A2",
        "integrated_hospital" => "A3",
        "mch" => "G1",
        "chc_center" => "B1",
        "chc_station" => "B2",
        "township_hc" => "C1",
        "village_clinic" => "J1",
        "tcm_outpatient" | "integrated_outpatient" => "D2",
        "clinic" | "tcm_clinic" | "tcm_general_clinic" | "integrated_clinic" => "D6",
        "cosmetology" => "D3",
        _ => "Z9",
    };
    let ownership = if registrar(category) == "12" {
        "11"
    } else {
        "17"
    };
    format!("{subject}{area}{ownership}{class}{:03}", rng.range(1, 120))
}

// ---------------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct GenUnit {
    name: String,
    credit_code: String,
    licence_no: String,
    category: &'static str,
    district: &'static str,
    address: String,
    legal_representative: String,
    phone: String,
}

fn districts_for(category: &str) -> Vec<&'static District> {
    let rural = |d: &&District| d.rural || !d.towns.is_empty();
    match category {
        "township_hc" | "village_clinic" => DISTRICTS.iter().filter(rural).collect(),
        "chc_center" | "chc_station" => {
            DISTRICTS.iter().filter(|d| !d.streets.is_empty()).collect()
        }
        "plasma_station" => DISTRICTS.iter().filter(|d| d.rural).collect(),
        // 小店区, the city's largest district, holds about a third of the hospitals,
        // clinics and salons (and the demo team's work).
        _ => DISTRICTS
            .iter()
            .chain(std::iter::repeat_n(&DISTRICTS[0], 4))
            .collect(),
    }
}

fn unit_name(rng: &mut Rng, category: &str, d: &District) -> (String, String) {
    let brand = *rng.pick(BRANDS);
    let town = |rng: &mut Rng| -> &'static str {
        if d.towns.is_empty() {
            d.name
        } else {
            d.towns[rng.below(d.towns.len())]
        }
    };
    let urban = urban_address(rng, d);
    match category {
        "hospital" => {
            let spec = *rng.pick(&[
                "",
                "",
                "骨科",
                "眼科",
                "口腔",
                "精神专科",
                "肿瘤",
                "康复",
                "心血管病",
                "儿童",
                "皮肤病",
                "肛肠",
                "耳鼻喉",
                "泌尿专科",
                "老年病",
            ]);
            let name = match rng.below(5) {
                0 => format!("太原市{}人民医院", d.name),
                1 => format!("山西{brand}{spec}医院"),
                _ => format!("太原{brand}{spec}医院"),
            };
            (name, urban)
        }
        "mch" => (
            format!(
                "太原市{}{}",
                d.name,
                rng.pick(&["妇幼保健院", "妇幼保健计划生育服务中心", "妇幼保健所"])
            ),
            urban,
        ),
        "tcm_hospital" => {
            let name = match rng.below(3) {
                0 => format!("太原市{}中医医院", d.name),
                1 => format!("山西{brand}中医医院"),
                _ => format!("太原{brand}中医医院"),
            };
            (name, urban)
        }
        "integrated_hospital" => (format!("太原{brand}中西医结合医院"), urban),
        "chc_center" => (
            format!("太原市{}{}社区卫生服务中心", d.name, rng.pick(d.streets)),
            urban,
        ),
        "chc_station" => (
            format!(
                "{}{}{}社区卫生服务站",
                d.name,
                rng.pick(d.streets).trim_end_matches("街道"),
                rng.pick(COMMUNITIES)
            ),
            urban,
        ),
        "township_hc" => {
            let t = town(rng);
            let central = if rng.chance(30) { "中心" } else { "" };
            (
                format!("{}{t}{central}卫生院", d.name),
                format!(
                    "山西省太原市{}{t}{}{}号",
                    d.name,
                    rng.pick(d.roads),
                    rng.range(1, 88)
                ),
            )
        }
        "village_clinic" => {
            let t = town(rng);
            let v = village(rng);
            (
                format!("{}{t}{v}卫生室", d.name),
                format!(
                    "山西省太原市{}{t}{v}{}",
                    d.name,
                    rng.pick(&["村委会旁", "中心街", "村口", "南街", "北街"])
                ),
            )
        }
        "clinic" => {
            let spec = *rng.pick(&[
                "内科",
                "口腔",
                "外科",
                "儿科",
                "妇科",
                "皮肤科",
                "眼科",
                "全科",
                "耳鼻喉科",
                "普通专科",
            ]);
            let name = if rng.chance(60) {
                format!("太原{}{}{spec}诊所", d.name, person(rng))
            } else {
                format!("太原{brand}{spec}诊所")
            };
            (name, urban)
        }
        "tcm_outpatient" => (
            format!(
                "太原{brand}{}中医门诊部",
                rng.pick(&["", "国医堂", "中医药"])
            ),
            urban,
        ),
        "integrated_outpatient" => (format!("太原{brand}中西医结合门诊部"), urban),
        "tcm_clinic" => {
            let name = if rng.chance(50) {
                format!("太原{}{}中医诊所", d.name, person(rng))
            } else {
                format!("太原{brand}堂中医诊所")
            };
            (name, urban)
        }
        "tcm_general_clinic" => (format!("太原{brand}中医（综合）诊所"), urban),
        "integrated_clinic" => (
            format!("太原{}{}中西医结合诊所", d.name, person(rng)),
            urban,
        ),
        "other_medical" => (
            format!(
                "太原{brand}{}",
                rng.pick(&[
                    "健康体检中心",
                    "医学检验实验室",
                    "血液透析中心",
                    "医学影像诊断中心",
                    "护理院",
                    "安宁疗护中心",
                    "急救站",
                ])
            ),
            urban,
        ),
        "cosmetology" => (
            format!(
                "太原{brand}{}",
                rng.pick(&[
                    "医疗美容诊所",
                    "医疗美容门诊部",
                    "医疗美容医院",
                    "整形外科诊所"
                ])
            ),
            urban,
        ),
        "cosmetology_dept" => (
            format!(
                "太原{brand}{}",
                rng.pick(&["皮肤病医院", "口腔医院", "综合门诊部", "医院"])
            ),
            urban,
        ),
        "other_mch" => (
            format!(
                "太原{brand}{}",
                rng.pick(&["妇产医院", "妇儿医院", "女子医院", "妇科门诊部"])
            ),
            urban,
        ),
        "blood_general" => (
            if d.rural {
                format!("{}中心血库", d.name)
            } else {
                format!("太原市{brand}中心血站")
            },
            urban,
        ),
        "blood_special" => (format!("山西{brand}脐带血造血干细胞库"), urban),
        "plasma_station" => {
            let t = town(rng);
            (
                format!("{}{brand}单采血浆站", d.name),
                format!(
                    "山西省太原市{}{t}{}{}号",
                    d.name,
                    rng.pick(d.roads),
                    rng.range(1, 60)
                ),
            )
        }
        _ => (
            format!(
                "太原{}{brand}{}",
                d.name,
                rng.pick(&[
                    "美容美发店",
                    "养生馆",
                    "美容工作室",
                    "皮肤管理中心",
                    "足疗保健店"
                ])
            ),
            urban,
        ),
    }
}

fn generate_units(seed: &str) -> Vec<GenUnit> {
    let mut rng = Rng::new(seed, "registry");
    let mut names = BTreeSet::new();
    let mut codes = BTreeSet::new();
    let mut out = Vec::new();
    for (category, count) in CATEGORY_COUNTS {
        let places = districts_for(category);
        for i in 0..*count {
            // Blood stations: the first general one is the city's, in 小店区.
            let d = if *category == "blood_general" && i == 0 {
                &DISTRICTS[0]
            } else {
                *rng.pick(&places)
            };
            let (mut name, address) = unit_name(&mut rng, category, d);
            let mut tries = 0;
            while names.contains(&name) {
                tries += 1;
                let (n, _) = unit_name(&mut rng, category, d);
                name = if tries > 20 {
                    format!("{n}（{}分部）", tries)
                } else {
                    n
                };
            }
            names.insert(name.clone());
            let (code, subject) = loop {
                let (c, s) = credit_code(&mut rng, registrar(category), d.code);
                if codes.insert(c.clone()) {
                    break (c, s);
                }
            };
            let licence = match *category {
                "blood_general" | "blood_special" | "plasma_station" => {
                    format!(
                        "晋卫血证字〔{}〕第{:03}号",
                        rng.range(2019, 2024),
                        rng.range(1, 40)
                    )
                }
                "non_medical" => "无（非医疗机构）".to_owned(),
                _ => licence_no(&mut rng, category, &subject, d.code),
            };
            let phone = if matches!(*category, "clinic" | "village_clinic" | "non_medical")
                && rng.chance(50)
            {
                mobile(&mut rng)
            } else {
                landline(&mut rng)
            };
            out.push(GenUnit {
                name,
                credit_code: code,
                licence_no: licence,
                category,
                district: d.name,
                address,
                legal_representative: person(&mut rng),
                phone,
            });
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn units_csv(units: &[GenUnit]) -> String {
    let mut s =
        String::from("名称,统一社会信用代码,执业许可证登记号,类别,区县,地址,法定代表人,联系电话\n");
    for u in units {
        let row = [
            u.name.as_str(),
            &u.credit_code,
            &u.licence_no,
            u.category,
            u.district,
            &u.address,
            &u.legal_representative,
            &u.phone,
        ];
        s.push_str(&row.map(csv_field).join(","));
        s.push('\n');
    }
    s
}

#[derive(Debug, Clone)]
struct GenStaff {
    username: String,
    name: String,
    badge_no: String,
    team: String,
    district: &'static str,
    conflicts: Vec<String>,
    /// A demo account (has the demo password).
    account: bool,
}

fn generate_staff(seed: &str, units: &[GenUnit]) -> Vec<GenStaff> {
    let mut rng = Rng::new(seed, "staff");
    let mut used_names: BTreeSet<String> = DEMO_ACCOUNTS.iter().map(|a| a.1.to_owned()).collect();
    let mut out: Vec<GenStaff> = Vec::new();
    for (di, d) in DISTRICTS.iter().enumerate() {
        let n = if di == 0 {
            INSPECTORS_XIAODIAN
        } else {
            INSPECTORS_PER_DISTRICT
        };
        let demo: Vec<_> = DEMO_ACCOUNTS
            .iter()
            .filter(|a| a.2 == Role::Inspector && a.4 == d.name)
            .collect();
        for k in 0..n {
            let team = if k < n / 2 {
                "监督一科"
            } else {
                "监督二科"
            };
            let badge_no = format!("{}{:05}", d.code, 20_000 + di * 100 + k + 1);
            let (username, name, account) = match demo.get(k) {
                Some(a) => (a.0.to_owned(), a.1.to_owned(), true),
                None => {
                    let name = loop {
                        let p = person(&mut rng);
                        if used_names.insert(p.clone()) {
                            break p;
                        }
                    };
                    (badge_no.clone(), name, false)
                }
            };
            out.push(GenStaff {
                username,
                name,
                team: team.to_owned(),
                badge_no,
                district: d.name,
                conflicts: Vec::new(),
                account,
            });
        }
    }
    // Declared conflicts (回避): every fifth inspector has a relative or former
    // employer among the units of their district.
    for (i, s) in out.iter_mut().enumerate() {
        if i % 5 != 2 {
            continue;
        }
        let local: Vec<&GenUnit> = units.iter().filter(|u| u.district == s.district).collect();
        for _ in 0..rng.range(1, 2) {
            let code = rng.pick(&local).credit_code.clone();
            if !s.conflicts.contains(&code) {
                s.conflicts.push(code);
            }
        }
    }
    out
}

fn staff_csv(staff: &[GenStaff]) -> String {
    let mut s = String::from("姓名,执法证号,科室,区县,回避单位,用户名\n");
    for p in staff {
        let conflicts = p.conflicts.join(";");
        let row = [
            p.name.as_str(),
            &p.badge_no,
            &p.team,
            p.district,
            &conflicts,
            &p.username,
        ];
        s.push_str(&row.map(csv_field).join(","));
        s.push('\n');
    }
    s
}

fn penalised_csv(seed: &str, units: &[GenUnit]) -> String {
    let mut rng = Rng::new(seed, "penalised");
    let mut s = String::from("专项代码,统一社会信用代码,备注\n");
    let candidates: Vec<&GenUnit> = units
        .iter()
        .filter(|u| {
            matches!(
                u.category,
                "clinic" | "cosmetology" | "non_medical" | "hospital" | "tcm_clinic"
            )
        })
        .collect();
    let mut taken = BTreeSet::new();
    for (campaign, n) in PENALISED {
        let mut k = 0;
        while k < *n {
            let u = rng.pick(&candidates);
            if campaign.starts_with("cosmetology")
                && u.category != "cosmetology"
                && u.category != "non_medical"
            {
                continue;
            }
            if !taken.insert((campaign, u.credit_code.clone())) {
                continue;
            }
            let note = rng.pick(&[
                "使用非卫生技术人员从事医疗卫生技术工作，罚款",
                "超出登记的诊疗科目范围开展诊疗活动，警告并罚款",
                "未按规定处置医疗废物，罚款",
                "未取得《医疗机构执业许可证》擅自执业，没收违法所得并罚款",
            ]);
            s.push_str(&format!("{campaign},{},{note}\n", u.credit_code));
            k += 1;
        }
    }
    s
}

// ---------------------------------------------------------------------------------
// Running it
// ---------------------------------------------------------------------------------

fn api_store(e: crate::store::StoreError) -> anyhow::Error {
    api(e.into())
}

fn import_errors(what: &str, errors: Vec<registry::RowError>) -> anyhow::Error {
    let list: Vec<String> = errors.iter().take(5).map(ToString::to_string).collect();
    anyhow!("生成的{what}未通过校验：{}", list.join("；"))
}

fn api(e: ServiceError) -> anyhow::Error {
    anyhow!("{}（{}）", e.message, e.code)
}

/// Fills the (fresh) database of the platform, as `actor` (recorded in the audit
/// log), with today's plan. Refuses a database that has ever been written to.
pub async fn run(p: &Platform, actor: &Actor, seed: &str) -> anyhow::Result<DemoSummary> {
    run_on(p, actor, seed, Utc::now().date_naive()).await
}

/// [`run`] as on `today`: the plan is that year's, its deadlines and the
/// inspections are dated from that day.
pub async fn run_on(
    p: &Platform,
    actor: &Actor,
    seed: &str,
    today: NaiveDate,
) -> anyhow::Result<DemoSummary> {
    let store = p.store();
    let stamp = actor.stamp(Utc::now());
    let seed = seed.trim();
    if seed.is_empty() || seed.chars().count() > 100 {
        bail!("演示种子应为 1 至 100 个字符");
    }
    let state = store.state().await?;
    let users = store.list_users().await?.len();
    let institutions = store.list_institutions().await?.len();
    if state.change_seq != 0 || users != 0 || institutions != 0 {
        bail!(
            "数据库不是空的（已有 {users} 个用户、{institutions} 家单位，已写入 {} 次）：演示数据只能写入新建的数据库，以免与真实数据混在一起。请用 --db 指定一个新的数据库文件（或新建的 PostgreSQL 数据库）后重试",
            state.change_seq
        );
    }
    // The plan: this year's, imported and published like a bureau's own.
    let file = plan_file(today)?;
    let imported = plans::import(p, actor, Utc::now(), "演示计划.toml", &file)
        .await
        .map_err(api)?;
    plans::publish(p, actor, Utc::now(), &imported.id, imported.version)
        .await
        .map_err(api)?;
    let plan = plans::current(p, &imported.id).await.map_err(api)?.plan;
    let catalogue = plans::catalogue(p).await.map_err(api)?;

    // Registry: generated, then validated and imported like a bureau's CSV.
    let units = generate_units(seed);
    let (_, mut import) = registry::parse_csv(units_csv(&units).as_bytes(), &catalogue)
        .map_err(|e| import_errors("检查对象名录", e))?;
    for i in &mut import.institutions {
        i.id = demo_id(seed, "institution", &i.credit_code);
    }
    store
        .import_registry(&stamp, import)
        .await
        .map_err(api_store)?;

    // Accounts of every role, then the staff directory (which finds the demo
    // inspectors by badge number and adds their declared conflicts).
    let staff = generate_staff(seed, &units);
    let hash = auth::hash_password(DEMO_PASSWORD).map_err(|e| anyhow!(e))?;
    let created_at = Utc::now();
    for (username, name, role, team, district) in DEMO_ACCOUNTS {
        if *role == Role::Inspector {
            continue;
        }
        let badge_no = (*role == Role::TeamLead).then(|| {
            let d = DISTRICTS.iter().find(|d| d.name == *district);
            format!("{}{:05}", d.map(|d| d.code).unwrap_or("140100"), 10_001)
        });
        store
            .create_user(
                &stamp,
                NewUser {
                    id: demo_id(seed, "user", username),
                    username: (*username).to_owned(),
                    display_name: (*name).to_owned(),
                    role: *role,
                    badge_no,
                    team: (*team).to_owned(),
                    district: (*district).to_owned(),
                    password_hash: Some(hash.clone()),
                    created_at,
                },
            )
            .await
            .map_err(api_store)?;
    }
    for s in &staff {
        store
            .create_user(
                &stamp,
                NewUser {
                    id: demo_id(seed, "user", &s.badge_no),
                    username: s.username.clone(),
                    display_name: s.name.clone(),
                    role: Role::Inspector,
                    badge_no: Some(s.badge_no.clone()),
                    team: s.team.clone(),
                    district: s.district.to_owned(),
                    password_hash: s.account.then(|| hash.clone()),
                    created_at,
                },
            )
            .await
            .map_err(api_store)?;
    }
    let (_, import) = registry::parse_csv(staff_csv(&staff).as_bytes(), &catalogue)
        .map_err(|e| import_errors("执法检查人员名录", e))?;
    store
        .import_registry(&stamp, import)
        .await
        .map_err(api_store)?;
    let (_, import) = registry::parse_csv(penalised_csv(seed, &units).as_bytes(), &catalogue)
        .map_err(|e| import_errors("回头看名单", e))?;
    let penalised = import.penalised.len();
    store
        .import_registry(&stamp, import)
        .await
        .map_err(api_store)?;

    // The draw: inputs frozen first (their hash is what a bureau publishes), then
    // the seed.
    draws::freeze(
        p,
        actor,
        Utc::now(),
        draws::FreezeRequest {
            plan_id: plan.id.clone(),
        },
    )
    .await
    .map_err(api)?;
    let draw_seed = format!("{seed}/{DEMO_BASE_PLAN}");
    let view = draws::run(
        p,
        actor,
        Utc::now(),
        draws::DrawRequest {
            plan_id: plan.id.clone(),
            seed: draw_seed.clone(),
            dry_run: false,
        },
    )
    .await
    .map_err(api)?;
    let tasks = store.tasks_of_draw(view.id).await?;

    let inspections = inspections(store, &plan, actor, seed, &tasks, today).await?;

    let all_users = store.list_users().await?;
    let mut accounts = Vec::new();
    for (username, _, role, _, _) in DEMO_ACCOUNTS {
        let Some(u) = all_users.iter().find(|u| u.username == *username) else {
            continue;
        };
        let visible: Vec<Uuid> = match role {
            Role::Admin => all_users.iter().map(|u| u.id).collect(),
            Role::TeamLead => all_users
                .iter()
                .filter(|x| x.team == u.team && x.district == u.district)
                .map(|x| x.id)
                .collect(),
            Role::Inspector => vec![u.id],
        };
        accounts.push(DemoAccount {
            username: u.username.clone(),
            name: u.display_name.clone(),
            role: role.as_str(),
            team: u.team.clone(),
            district: u.district.clone(),
            password: DEMO_PASSWORD,
            tasks: tasks
                .iter()
                .filter(|t| t.inspectors.iter().any(|i| visible.contains(i)))
                .count(),
        });
    }
    let mut by_category = BTreeMap::new();
    for u in &units {
        *by_category.entry(u.category.to_owned()).or_insert(0) += 1;
    }
    Ok(DemoSummary {
        seed: seed.to_owned(),
        institutions: by_category,
        staff: staff.len(),
        conflicts: staff.iter().map(|s| s.conflicts.len()).sum(),
        penalised,
        accounts,
        plan_id: plan.id.clone(),
        draw_id: view.id,
        draw_seed,
        tasks: tasks.len(),
        inspections,
    })
}

const OBSERVATIONS: &[&str] = &[
    "现场检查发现该项不符合要求：相关记录不完整，部分内容缺失，已当场指出。",
    "抽查发现存在问题，负责人在场确认，已责令立即整改。",
    "现场查看并询问相关人员，该项管理制度未落实，记录缺失。",
];

/// Inspections of the demo: on the tasks of 李娜's team one approved, one waiting
/// for review and one returned; on other tasks a spread of approved results (no
/// problem, corrected, penalised, unreachable) so that every report has figures.
async fn inspections(
    store: &dyn ServerStore,
    plan: &jiandu_core::Plan,
    by: &Actor,
    seed: &str,
    tasks: &[StoredTask],
    today: NaiveDate,
) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut rng = Rng::new(seed, "inspections");
    let users = store.list_users().await?;
    let lead = |district: &str| {
        users
            .iter()
            .find(|u| u.role == Role::TeamLead && u.district == district)
            .or_else(|| users.iter().find(|u| u.role == Role::TeamLead))
    };
    let lina = users
        .iter()
        .find(|u| u.username == "lina")
        .context("演示组长 lina 不存在")?;
    let team: Vec<Uuid> = users
        .iter()
        .filter(|u| u.team == lina.team && u.district == lina.district && u.role == Role::Inspector)
        .map(|u| u.id)
        .collect();
    let (ours, others): (Vec<&StoredTask>, Vec<&StoredTask>) = tasks
        .iter()
        .partition(|t| t.inspectors.iter().any(|i| team.contains(i)));
    // (task, final state): every inspector of the team gets one approved (a reviewed
    // result on their tablet); then one waits for review and one is returned, chosen
    // so that each inspector keeps a task still to do.
    let mut plan_of: Vec<(&StoredTask, &str)> = Vec::new();
    let mut used: HashSet<Uuid> = HashSet::new();
    for member in &team {
        if plan_of.iter().any(|(t, _)| t.inspectors.contains(member)) {
            continue;
        }
        if let Some(t) = ours
            .iter()
            .find(|t| !used.contains(&t.id) && t.inspectors.contains(member))
        {
            used.insert(t.id);
            plan_of.push((t, "approve"));
        }
    }
    for what in ["submit", "return"] {
        let keeps_work = |t: &&&StoredTask| {
            t.inspectors.iter().filter(|i| team.contains(i)).all(|i| {
                ours.iter()
                    .any(|o| o.id != t.id && !used.contains(&o.id) && o.inspectors.contains(i))
            })
        };
        let pick = ours
            .iter()
            .filter(|t| !used.contains(&t.id))
            .find(keeps_work)
            .or_else(|| ours.iter().find(|t| !used.contains(&t.id)));
        if let Some(t) = pick {
            used.insert(t.id);
            plan_of.push((t, what));
        }
    }
    for t in others.iter().step_by(3).take(24) {
        plan_of.push((t, "approve"));
    }
    let mut counts = BTreeMap::new();
    // Two months back, every three days: the last ones end before today.
    let base = (today - Duration::days(84))
        .and_hms_opt(1, 30, 0)
        .context("时间无效")?
        .and_utc();
    for (n, (task, what)) in plan_of.into_iter().enumerate() {
        let institution = store
            .institution(task.institution_id)
            .await?
            .context("任务的单位不存在")?;
        let checklist = plan
            .checklist(&task.checklist)
            .context("任务的检查表不存在")?;
        let inspector = users
            .iter()
            .find(|u| Some(&u.id) == task.inspectors.first())
            .context("任务没有检查人员")?;
        let actor = CoreActor {
            user_id: inspector.id,
            name: inspector.display_name.clone(),
            role: Role::Inspector,
        };
        let started: DateTime<Utc> =
            base + Duration::days(n as i64 * 3) + Duration::minutes(rng.range(0, 240) as i64);
        let id = demo_id(seed, "inspection", &task.id.to_string());
        let mut i = Inspection::new(id, task.id);
        let category: &CategoryCode = &task.category;
        let roll = rng.below(100);
        let rule = |e: jiandu_core::inspection::RuleViolation| anyhow!("演示检查不符合规则：{e}");
        if what == "approve" && roll >= 94 {
            i.mark_unreachable(
                &actor,
                "检查时该单位已停业，大门紧锁，电话无人接听",
                started,
            )
            .map_err(rule)?;
        } else {
            i.start(&actor, &institution.address, started)
                .map_err(rule)?;
            let points: Vec<String> = checklist
                .applicable_points(category)
                .map(|(_, p)| p.code.clone())
                .collect();
            let outcome_kind = match roll {
                0..=44 => PublicCategory::NoProblem,
                45..=79 => PublicCategory::Corrected,
                _ => PublicCategory::Penalised,
            };
            let outcome_kind = if what != "approve" {
                PublicCategory::Corrected
            } else {
                outcome_kind
            };
            let bad: BTreeSet<usize> = if outcome_kind == PublicCategory::NoProblem {
                BTreeSet::new()
            } else {
                (0..rng.range(1, 3))
                    .map(|_| rng.below(points.len()))
                    .collect()
            };
            for (k, p) in points.iter().enumerate() {
                let non = bad.contains(&k);
                let verdict = if non {
                    Verdict::NonCompliant
                } else if k % 11 == 10 {
                    Verdict::NotApplicable
                } else {
                    Verdict::Compliant
                };
                i.record_finding(
                    checklist,
                    category,
                    Finding {
                        id: demo_id(seed, "finding", &format!("{id}/{p}")),
                        inspection_id: id,
                        point: p.clone(),
                        verdict,
                        observation: if non {
                            (*rng.pick(OBSERVATIONS)).to_owned()
                        } else {
                            String::new()
                        },
                        photo_ids: vec![],
                        recorded_by: inspector.id,
                        recorded_at: started + Duration::minutes(10 + k as i64),
                    },
                )
                .map_err(rule)?;
            }
            let penalty = (outcome_kind == PublicCategory::Penalised).then(|| Penalty {
                cases: 1,
                fine: Fen(*rng.pick(&[2_000i64, 5_000, 10_000, 20_000, 30_000]) * 100),
                ..Default::default()
            });
            i.set_outcome(Outcome {
                category: outcome_kind,
                penalty,
                opinion: (outcome_kind != PublicCategory::NoProblem).then(|| {
                    "责令你单位立即改正上述问题，并于十五日内将整改情况书面报告我所。".to_owned()
                }),
                unreachable_reason: None,
            })
            .map_err(rule)?;
            if outcome_kind != PublicCategory::NoProblem {
                // The 监督意见 as confirmed on site: the draft, with the bureau's usual
                // requirement.
                let mut opinion = jiandu_core::inspection::Opinion::draft(
                    checklist,
                    &i,
                    jiandu_core::plan::DEFAULT_CORRECTION_DAYS,
                );
                opinion.requirements =
                    "立即改正上述问题，并于改正期限届满前将整改情况书面报告我所。".to_owned();
                i.set_opinion(opinion).map_err(rule)?;
            }
            i.submit(&actor, checklist, category, started + Duration::hours(2))
                .map_err(rule)?;
        }
        let submitted_at = started + Duration::hours(2);
        store
            .put_inspection(
                &by.stamp(submitted_at),
                i.clone(),
                None,
                review::expect_version(None),
            )
            .await
            .map_err(api_store)?;
        if what != "submit" {
            let reviewer = lead(&inspector.district).context("没有组长")?;
            let lead_actor = CoreActor {
                user_id: reviewer.id,
                name: reviewer.display_name.clone(),
                role: Role::TeamLead,
            };
            let reviewed = i.version;
            let comment = if what == "return" {
                let c = "“不符合”项的现场检查情况请写明具体记录名称和份数，补充证据照片后再提交。";
                i.return_with_comments(&lead_actor, reviewed, c)
                    .map_err(rule)?;
                Some(c.to_owned())
            } else {
                i.approve(&lead_actor, reviewed).map_err(rule)?;
                None
            };
            let at = started + Duration::days(2);
            let decided = i.clone();
            store
                .record_review(
                    &by.stamp(at),
                    ReviewRecord {
                        id: demo_id(seed, "review", &id.to_string()),
                        inspection_id: id,
                        decision: if what == "return" {
                            ReviewDecision::Return
                        } else {
                            ReviewDecision::Approve
                        },
                        reviewed_version: reviewed,
                        comment,
                        reviewer: reviewer.id,
                        at,
                    },
                    // Decided above with the core rules, as a team lead would.
                    Box::new(move |_| Ok(decided)),
                )
                .await
                .map_err(api_store)?;
        }
        *counts.entry(i.status.as_str().to_owned()).or_insert(0) += 1;
    }
    Ok(counts)
}

/// The command's report, in Chinese.
pub fn render(s: &DemoSummary, catalogue: &jiandu_core::plan::Catalogue) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let total: usize = s.institutions.values().sum();
    let _ = writeln!(out, "演示数据已写入（种子“{}”）。", s.seed);
    let _ = writeln!(out, "\n检查对象名录：{total} 家单位");
    for (code, n) in &s.institutions {
        let name = catalogue
            .get(&CategoryCode(code.clone()))
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let _ = writeln!(out, "  {name}（{code}）：{n}");
    }
    let _ = writeln!(
        out,
        "执法检查人员：{} 人（声明回避 {} 处）；回头看名单：{} 家",
        s.staff, s.conflicts, s.penalised
    );
    let _ = writeln!(
        out,
        "抽取：计划 {}，种子“{}”，抽取记录 {}，{} 项任务",
        s.plan_id, s.draw_seed, s.draw_id, s.tasks
    );
    let status: Vec<String> = s
        .inspections
        .iter()
        .map(|(k, v)| {
            let label = InspectionStatus::parse(k).map(|x| x.label()).unwrap_or(k);
            format!("{label} {v}")
        })
        .collect();
    let _ = writeln!(out, "检查记录：{}", status.join("，"));
    let _ = writeln!(out, "\n演示账号（密码均为 {DEMO_PASSWORD}）：");
    for a in &s.accounts {
        let role = match a.role {
            "admin" => "管理员",
            "team_lead" => "组长",
            _ => "检查人员",
        };
        let _ = writeln!(
            out,
            "  {:<10} {}  {}  {} {}  可见任务 {}",
            a.username, a.name, role, a.district, a.team, a.tasks
        );
    }
    let _ = writeln!(
        out,
        "\n其余执法人员可由管理员用 `jiandu-server user passwd 执法证号` 设置密码后登录。"
    );
    out
}
