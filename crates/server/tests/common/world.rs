//! The world the HTTP tests (http_api.rs, security.rs) work in: people of two
//! districts with passwords and enrolled devices, a registry and a staff directory,
//! on one backend, served on 127.0.0.1:0. Included with `#[path]` beside `mod common`.

use crate::common::{Backend, TestServer, code, institutions_csv, stamp};
use chrono::Utc;
use jiandu_core::Role;
use jiandu_core::templates::TemplateSet;
use jiandu_server::model::NewUser;
use jiandu_server::service::{Platform, registry};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

pub const PASSWORD: &str = "正确的密码password";

/// Users, registry and enrolled devices on one backend. Each test binary reads its
/// own subset of the fields; `blobs` is held so the folder lives as long as the world.
#[allow(dead_code)]
pub struct World {
    pub b: Backend,
    pub p: Platform,
    /// The platform's blob folder.
    pub blobs: tempfile::TempDir,
    pub s: TestServer,
    /// Device tokens by person key, and "revoked": insp1's revoked second device.
    pub tokens: HashMap<&'static str, String>,
    pub users: HashMap<&'static str, Uuid>,
}

/// (key, username, role, badge, team, district)
type Person = (
    &'static str,
    &'static str,
    Role,
    Option<&'static str>,
    &'static str,
    &'static str,
);
pub const PEOPLE: &[Person] = &[
    ("admin", "admin", Role::Admin, None, "", "小店区"),
    ("lead", "lead", Role::TeamLead, None, "监督一科", "小店区"),
    (
        "insp1",
        "insp1",
        Role::Inspector,
        Some("SX-0001"),
        "监督一科",
        "小店区",
    ),
    (
        "insp2",
        "insp2",
        Role::Inspector,
        Some("SX-0002"),
        "监督一科",
        "小店区",
    ),
    (
        "other_lead",
        "other_lead",
        Role::TeamLead,
        None,
        "监督一科",
        "迎泽区",
    ),
    (
        "other_insp",
        "other_insp",
        Role::Inspector,
        Some("YZ-0001"),
        "监督一科",
        "迎泽区",
    ),
];

/// The world on `b`: [`PEOPLE`] with [`PASSWORD`], 64 units and 14 more inspectors in
/// 小店区, `yingze` units (category, count) in 迎泽区, every person's device
/// enrolled and a second device of insp1 revoked; `tune` adjusts the platform.
pub async fn build(
    b: Backend,
    yingze: &[(&str, u32)],
    tune: impl FnOnce(Platform) -> Platform,
) -> World {
    let hash = jiandu_server::auth::hash_password(PASSWORD).unwrap();
    let mut users = HashMap::new();
    for (key, username, role, badge, team, district) in PEOPLE {
        let u = b
            .store
            .create_user(
                &stamp(),
                NewUser {
                    id: Uuid::now_v7(),
                    username: (*username).into(),
                    display_name: format!("{username}姓名"),
                    role: *role,
                    badge_no: badge.map(str::to_owned),
                    team: (*team).into(),
                    district: (*district).into(),
                    password_hash: Some(hash.clone()),
                    created_at: Utc::now(),
                },
            )
            .await
            .unwrap();
        users.insert(*key, u.id);
    }
    // More inspectors (staff directory import, no password) so draws can staff tasks;
    // SX-0003…SX-0014 declared a conflict with unit 64, the only 社区卫生服务中心
    // (always drawn: 5% of 1 rounds up to 1), leaving insp1 and insp2 eligible there.
    let mut staff = "姓名,执法证号,科室,区县,回避单位\n".to_owned();
    for n in 3..=14 {
        let conflicts = code(64);
        staff.push_str(&format!(
            "检查员{n},SX-{n:04},监督一科,小店区,{conflicts}\n"
        ));
    }
    for n in 2..=4 {
        staff.push_str(&format!("检查员Y{n},YZ-{n:04},监督一科,迎泽区,\n"));
    }
    let t = TemplateSet::builtin().unwrap();
    for csv in [
        institutions_csv(
            &[
                ("hospital", 9),
                ("clinic", 30),
                ("village_clinic", 21),
                ("tcm_hospital", 3),
                ("chc_center", 1),
            ],
            1,
            "小店区",
        ),
        institutions_csv(yingze, 1000, "迎泽区"),
        staff,
    ] {
        let (_, import) = registry::parse_csv(csv.as_bytes(), &t.catalogue).unwrap();
        b.store.import_registry(&stamp(), import).await.unwrap();
    }
    let blobs = tempfile::tempdir().unwrap();
    let platform = jiandu_server::service::Platform::new(b.store.clone(), t)
        .with_blobs(blobs.path().to_owned());
    let platform = tune(platform);
    let s = TestServer::start_platform(platform.clone(), 64 * 1024).await;
    let mut tokens = HashMap::new();
    for (key, username, ..) in PEOPLE {
        let r = s
            .client
            .post(s.url("/devices/enroll"))
            .json(&json!({"username": username, "password": PASSWORD, "device_name": "平板"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}: enrol {username}",
            b.name
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["user"]["username"], *username);
        assert!(v.get("password_hash").is_none() && v["user"].get("password_hash").is_none());
        tokens.insert(*key, v["token"].as_str().unwrap().to_owned());
    }
    // A second device of insp1, revoked by the admin.
    let r: Value = s
        .client
        .post(s.url("/devices/enroll"))
        .json(&json!({"username": "insp1", "password": PASSWORD, "device_name": "丢失的平板"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lost = r["device_id"].as_str().unwrap().to_owned();
    tokens.insert("revoked", r["token"].as_str().unwrap().to_owned());
    let w = World {
        b,
        p: platform,
        blobs,
        s,
        tokens,
        users,
    };
    let (st, _) = w
        .call(
            "admin",
            Method::POST,
            &format!("/devices/{lost}/revoke"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    w
}

impl World {
    /// Calls an endpoint as `who` ("none" sends no token). Checks that every error
    /// is a JSON `{code, message}` and never a 5xx.
    pub async fn call(
        &self,
        who: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.s.client.request(method.clone(), self.s.url(path));
        if let Some(t) = self.tokens.get(who) {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path} as {who}: not JSON: {text}"));
        assert!(
            !status.is_server_error(),
            "{method} {path} as {who}: {status} {v}"
        );
        if !status.is_success() {
            assert!(
                v["code"].is_string() && v["message"].is_string(),
                "{method} {path} as {who}: error body {v}"
            );
        }
        (status, v)
    }

    pub async fn draw(&self, plan: &str, seed: &str) -> Value {
        let (st, v) = self
            .call(
                "admin",
                Method::POST,
                "/draws/freeze",
                Some(json!({"plan_id": plan})),
            )
            .await;
        assert_eq!(
            st,
            StatusCode::CREATED,
            "{}: freeze {plan}: {v}",
            self.b.name
        );
        let (st, v) = self
            .call(
                "admin",
                Method::POST,
                "/draws",
                Some(json!({"plan_id": plan, "seed": seed})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{}: draw {plan}: {v}", self.b.name);
        v
    }
}
