//! The OpenAPI 3.1 document of `/api/v1`, served at `GET /api/openapi.json`.
//!
//! Written out here, operation by operation ([`OPERATIONS`]) with JSON Schemas of
//! the bodies ([`schemas`]), rather than derived: the request and response types
//! live partly in `jiandu-core`, which the device shares and which should not carry
//! an HTTP documentation dependency. What keeps the document honest is
//! `tests/openapi.rs`: every route the router has is in the document and every
//! operation in the document is answered by a real route (not the fallback), and
//! documented bodies are checked against real answers.
//!
//! Every error is `{"code", "message"}` ([`crate::error::ApiError`]): `code` stable
//! for machines, `message` Chinese for people; each operation lists the statuses it
//! can answer with and the codes each can carry.

use serde_json::{Value, json};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token.
    Public,
    /// Any enrolled device of an active user.
    Any,
    /// Only these roles (others get 403).
    Roles(&'static [&'static str]),
}

/// A parameter: (name, in: path|query|header, required, schema, description).
pub type Param = (
    &'static str,
    &'static str,
    bool,
    fn() -> Value,
    &'static str,
);

/// One documented operation.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub method: &'static str,
    /// Path below `/api/v1`, axum syntax (`{id}`).
    pub path: &'static str,
    pub id: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub params: &'static [Param],
    /// (content type, schema name) of the request body.
    pub body: Option<(&'static str, &'static str)>,
    /// (status, content type, schema name or "" for none, description).
    pub ok: (u16, &'static str, &'static str, &'static str),
    /// Error statuses besides those every authenticated call may answer (401, 403
    /// when role-restricted, 500).
    pub errors: &'static [u16],
}

const JSON: &str = "application/json";
const LEADS: &[&str] = &["team_lead", "admin"];
const ADMIN: &[&str] = &["admin"];
const LEAD: &[&str] = &["team_lead"];

fn uuid() -> Value {
    json!({"type": "string", "format": "uuid"})
}
fn text() -> Value {
    json!({"type": "string"})
}
fn int() -> Value {
    json!({"type": "integer", "format": "int64"})
}
fn format_param() -> Value {
    json!({"type": "string", "enum": ["json", "csv", "xlsx"], "default": "json"})
}

const ID: Param = ("id", "path", true, uuid, "编号 (UUID)");
const PLAN_Q: Param = ("plan", "query", true, text, "计划编号，例如 shanxi-2025");

/// Every operation of `/api/v1`, in the order of the router.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        method: "get",
        path: "/health",
        id: "health",
        tag: "system",
        summary: "服务状态、数据库后端和数据库标识（epoch）",
        access: Access::Public,
        params: &[],
        body: None,
        ok: (200, JSON, "Health", "正常"),
        errors: &[],
    },
    Operation {
        method: "post",
        path: "/devices/enroll",
        id: "enrollDevice",
        tag: "people",
        summary: "登记设备：用户名和密码换取本设备的访问令牌（仅显示一次）",
        access: Access::Public,
        params: &[],
        body: Some((JSON, "EnrollRequest")),
        ok: (201, JSON, "EnrollResponse", "已登记"),
        errors: &[400, 401, 403, 413, 415, 422, 429],
    },
    Operation {
        method: "get",
        path: "/me",
        id: "me",
        tag: "people",
        summary: "当前令牌的用户和设备",
        access: Access::Any,
        params: &[],
        body: None,
        ok: (200, JSON, "MeResponse", "当前用户"),
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/devices",
        id: "listDevices",
        tag: "people",
        summary: "设备列表（管理员：全部；其他人：自己的）",
        access: Access::Any,
        params: &[],
        body: None,
        ok: (200, JSON, "DeviceList", "设备"),
        errors: &[],
    },
    Operation {
        method: "post",
        path: "/devices/{id}/revoke",
        id: "revokeDevice",
        tag: "people",
        summary: "吊销设备令牌（丢失的平板）；本人也可吊销自己的设备",
        access: Access::Any,
        params: &[ID],
        body: None,
        ok: (200, JSON, "Device", "已吊销"),
        errors: &[400, 404],
    },
    Operation {
        method: "get",
        path: "/users",
        id: "listUsers",
        tag: "people",
        summary: "人员列表",
        access: Access::Roles(ADMIN),
        params: &[],
        body: None,
        ok: (200, JSON, "UserList", "人员"),
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/plans",
        id: "listPlans",
        tag: "plans",
        summary: "内置的抽查计划",
        access: Access::Any,
        params: &[],
        body: None,
        ok: (200, JSON, "PlanSummaryList", "计划"),
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/plans/{id}",
        id: "showPlan",
        tag: "plans",
        summary: "计划全文：检查表、检查要点、汇总表、时限",
        access: Access::Any,
        params: &[("id", "path", true, text, "计划编号")],
        body: None,
        ok: (200, JSON, "Plan", "计划"),
        errors: &[404],
    },
    Operation {
        method: "get",
        path: "/institutions",
        id: "listInstitutions",
        tag: "registry",
        summary: "检查对象名录（组长：本区县）",
        access: Access::Roles(LEADS),
        params: &[],
        body: None,
        ok: (200, JSON, "InstitutionList", "单位"),
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/draws",
        id: "listDraws",
        tag: "draws",
        summary: "抽取记录",
        access: Access::Roles(LEADS),
        params: &[],
        body: None,
        ok: (200, JSON, "DrawList", "抽取记录"),
        errors: &[],
    },
    Operation {
        method: "post",
        path: "/draws",
        id: "createDraw",
        tag: "draws",
        summary: "双随机抽取（dry_run：只试算不保存）；每个计划只能抽取一次",
        access: Access::Roles(ADMIN),
        params: &[],
        body: Some((JSON, "DrawRequest")),
        ok: (201, JSON, "DrawView", "抽取结果"),
        errors: &[400, 404, 409, 413, 415, 422],
    },
    Operation {
        method: "get",
        path: "/draws/{id}",
        id: "showDraw",
        tag: "draws",
        summary: "一次抽取的记录和任务",
        access: Access::Roles(LEADS),
        params: &[ID],
        body: None,
        ok: (200, JSON, "DrawView", "抽取结果"),
        errors: &[400, 404],
    },
    Operation {
        method: "get",
        path: "/draws/{id}/verify",
        id: "verifyDraw",
        tag: "draws",
        summary: "按记录的种子、输入和算法重新计算并比对",
        access: Access::Roles(LEADS),
        params: &[ID],
        body: None,
        ok: (200, JSON, "VerifyReport", "比对结果"),
        errors: &[400, 404, 422],
    },
    Operation {
        method: "get",
        path: "/tasks",
        id: "listTasks",
        tag: "tasks",
        summary: "任务（检查人员：自己的；组长：本组；管理员：全部）",
        access: Access::Any,
        params: &[("plan", "query", false, text, "只看此计划")],
        body: None,
        ok: (200, JSON, "TaskList", "任务"),
        errors: &[400],
    },
    Operation {
        method: "get",
        path: "/tasks/{id}",
        id: "showTask",
        tag: "tasks",
        summary: "一项任务（看不到的任务与不存在的一样答 404）",
        access: Access::Any,
        params: &[ID],
        body: None,
        ok: (200, JSON, "StoredTask", "任务"),
        errors: &[400, 404],
    },
    Operation {
        method: "post",
        path: "/tasks/{id}/reassign",
        id: "reassignTask",
        tag: "tasks",
        summary: "调整检查人员（须写原因；超过计划规定比例时拒绝）",
        access: Access::Roles(ADMIN),
        params: &[ID],
        body: Some((JSON, "ReassignRequest")),
        ok: (200, JSON, "Reassignment", "已调整"),
        errors: &[400, 404, 409, 413, 415, 422],
    },
    Operation {
        method: "get",
        path: "/review/queue",
        id: "reviewQueue",
        tag: "review",
        summary: "本组待审核的检查",
        access: Access::Roles(LEAD),
        params: &[],
        body: None,
        ok: (200, JSON, "ReviewQueue", "待审核"),
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/inspections/{id}",
        id: "showInspection",
        tag: "review",
        summary: "一次检查的内容",
        access: Access::Any,
        params: &[ID],
        body: None,
        ok: (200, JSON, "StoredInspection", "检查"),
        errors: &[400, 404],
    },
    Operation {
        method: "post",
        path: "/inspections/{id}/approve",
        id: "approveInspection",
        tag: "review",
        summary: "审核通过（锁定）：须写明所审核的版本；照片未传完时拒绝",
        access: Access::Roles(LEAD),
        params: &[ID],
        body: Some((JSON, "ApproveRequest")),
        ok: (200, JSON, "StoredInspection", "已通过"),
        errors: &[400, 404, 409, 413, 415, 422],
    },
    Operation {
        method: "post",
        path: "/inspections/{id}/return",
        id: "returnInspection",
        tag: "review",
        summary: "退回并附意见（意见同步到检查人员的设备）",
        access: Access::Roles(LEAD),
        params: &[ID],
        body: Some((JSON, "ReturnRequest")),
        ok: (200, JSON, "StoredInspection", "已退回"),
        errors: &[400, 404, 409, 413, 415, 422],
    },
    Operation {
        method: "get",
        path: "/inspections/{id}/documents/{kind}",
        id: "inspectionDocument",
        tag: "review",
        summary: "存档文书（PDF）：opinion.pdf 卫生监督意见书、record.pdf 现场笔录、evidence.pdf 证据照片；由服务器按其数据生成，与设备上的一致",
        access: Access::Any,
        params: &[
            ID,
            (
                "kind",
                "path",
                true,
                doc_kind_file,
                "opinion.pdf、record.pdf 或 evidence.pdf",
            ),
        ],
        body: None,
        ok: (200, "application/pdf", "Pdf", "PDF 文件"),
        errors: &[400, 404, 409, 422],
    },
    Operation {
        method: "get",
        path: "/reports/summary",
        id: "reportSummary",
        tag: "reports",
        summary: "汇总表（已审核通过的检查）：JSON、CSV 或带合并表头的 XLSX",
        access: Access::Roles(LEADS),
        params: &[
            PLAN_Q,
            (
                "table",
                "query",
                true,
                text,
                "汇总表代码，例如 medical-summary",
            ),
            (
                "format",
                "query",
                false,
                format_param,
                "json（默认）、csv、xlsx",
            ),
        ],
        body: None,
        ok: (
            200,
            JSON,
            "SummaryReport",
            "汇总表（format=csv/xlsx 时为文件）",
        ),
        errors: &[400, 404],
    },
    Operation {
        method: "get",
        path: "/reports/public",
        id: "reportPublic",
        tag: "reports",
        summary: "公示名单（一公开）：已检查单位及其结果类别",
        access: Access::Any,
        params: &[PLAN_Q],
        body: None,
        ok: (200, JSON, "PublicList", "公示名单"),
        errors: &[400, 404],
    },
    Operation {
        method: "get",
        path: "/reports/progress",
        id: "reportProgress",
        tag: "reports",
        summary: "进度：各类别抽取、已检查、已审核，对照报送时限",
        access: Access::Roles(LEADS),
        params: &[PLAN_Q],
        body: None,
        ok: (200, JSON, "Progress", "进度"),
        errors: &[400, 404],
    },
    Operation {
        method: "post",
        path: "/sync/push",
        id: "syncPush",
        tag: "sync",
        summary: "上传设备的修改（每项单独给出结果；重放得到同一结果）",
        access: Access::Any,
        params: &[],
        body: Some((JSON, "PushRequest")),
        ok: (200, JSON, "PushResponse", "逐项结果"),
        errors: &[400, 413, 415, 422],
    },
    Operation {
        method: "get",
        path: "/sync/pull",
        id: "syncPull",
        tag: "sync",
        summary: "拉取自 since 以来对本用户可见的变更（分页）",
        access: Access::Any,
        params: &[
            ("since", "query", false, int, "上次的 next（默认 0）"),
            ("limit", "query", false, int, "每页条数"),
        ],
        body: None,
        ok: (200, JSON, "PullPage", "一页变更"),
        errors: &[400],
    },
    Operation {
        method: "post",
        path: "/photos",
        id: "registerBlob",
        tag: "sync",
        summary: "登记照片或签名图片（编号、哈希、大小），返回已收到的字节数",
        access: Access::Any,
        params: &[],
        body: Some((JSON, "BlobRegistration")),
        ok: (200, JSON, "BlobStatus", "上传进度（Upload-Offset 头）"),
        errors: &[400, 404, 409, 413, 415, 422],
    },
    Operation {
        method: "get",
        path: "/photos/{id}/content",
        id: "downloadBlob",
        tag: "sync",
        summary: "下载已校验的照片或签名图片",
        access: Access::Any,
        params: &[ID],
        body: None,
        ok: (200, "application/octet-stream", "Binary", "文件内容"),
        errors: &[400, 404, 409],
    },
    Operation {
        method: "head",
        path: "/photos/{id}/content",
        id: "blobOffset",
        tag: "sync",
        summary: "断点续传：已收到的字节数（Upload-Offset、Upload-Length 头）",
        access: Access::Any,
        params: &[ID],
        body: None,
        ok: (200, "", "", "Upload-Offset / Upload-Length 头"),
        errors: &[400, 404],
    },
    Operation {
        method: "patch",
        path: "/photos/{id}/content",
        id: "uploadBlobChunk",
        tag: "sync",
        summary: "断点续传：从 Upload-Offset 处追加一段（application/offset+octet-stream）；最后一段校验 SHA-256",
        access: Access::Any,
        params: &[
            ID,
            (
                "Upload-Offset",
                "header",
                true,
                int,
                "这一段的起点，须等于已收到的字节数",
            ),
        ],
        body: Some(("application/offset+octet-stream", "Binary")),
        ok: (204, "", "", "已收到（Upload-Offset 头为新的字节数）"),
        errors: &[400, 404, 409, 413, 415, 422],
    },
    Operation {
        method: "post",
        path: "/doc-numbers/lease",
        id: "leaseDocNumbers",
        tag: "sync",
        summary: "领取一段文书文号（同一 request_id 重试得到同一段）",
        access: Access::Any,
        params: &[],
        body: Some((JSON, "LeaseRequest")),
        ok: (200, JSON, "DocNumberLease", "文号段"),
        errors: &[400, 413, 415, 422],
    },
];

fn doc_kind_file() -> Value {
    json!({"type": "string", "enum": ["opinion.pdf", "record.pdf", "evidence.pdf"]})
}

/// What each error status means here, with the codes it may carry.
fn error_statuses() -> Vec<(u16, &'static str, &'static [&'static str])> {
    vec![
        (
            400,
            "请求有误（JSON 格式、路径编号、查询参数）",
            &[
                "malformed_json",
                "invalid_id",
                "invalid_query",
                "invalid_format",
                "invalid_username",
                "invalid_device_name",
                "invalid_password",
                "bad_offset",
                "invalid_kind",
            ],
        ),
        (
            401,
            "未登记、令牌无效或设备已吊销",
            &[
                "unauthenticated",
                "invalid_token",
                "device_revoked",
                "invalid_credentials",
            ],
        ),
        (
            403,
            "角色无权执行或账号已停用",
            &["forbidden", "user_disabled"],
        ),
        (
            404,
            "不存在（或对当前用户不可见）",
            &["not_found", "unknown_blob"],
        ),
        (
            409,
            "与当前状态冲突",
            &[
                "stale",
                "locked",
                "wrong_state",
                "already_drawn",
                "reassignment_cap",
                "not_assigned",
                "already_assigned",
                "photos_incomplete",
                "offset_mismatch",
                "not_ready",
            ],
        ),
        (413, "请求内容过大", &["body_too_large"]),
        (415, "内容类型不对", &["unsupported_media_type"]),
        (
            422,
            "内容不符合规则（字段缺失或类型不对、业务规则）",
            &[
                "invalid_body",
                "invalid_seed",
                "reason_required",
                "too_long",
                "not_an_inspector",
                "conflict_of_interest",
                "inspected_last_campaign",
                "unanswered",
                "observation_missing",
                "outcome_missing",
                "outcome_inconsistent",
                "empty",
                "corrupt_record",
                "render_failed",
            ],
        ),
        (429, "登录失败次数过多，稍后再试", &["too_many_attempts"]),
        (
            500,
            "服务器内部错误（原因只记入日志，不返回）",
            &["internal"],
        ),
    ]
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn operation(op: &Operation) -> Value {
    let mut responses = serde_json::Map::new();
    let (status, ctype, schema, description) = op.ok;
    let mut ok = json!({ "description": description });
    if !ctype.is_empty() {
        let s = if schema.is_empty() {
            json!({})
        } else {
            schema_ref(schema)
        };
        ok["content"] = json!({ ctype: { "schema": s } });
    }
    if op.id == "reportSummary" {
        ok["content"]["text/csv"] = json!({"schema": {"type": "string"}});
        ok["content"]["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"] =
            json!({"schema": {"type": "string", "contentEncoding": "binary"}});
    }
    responses.insert(status.to_string(), ok);
    let mut errors: Vec<u16> = op.errors.to_vec();
    match op.access {
        Access::Public => {}
        Access::Any => errors.extend([401, 403]),
        Access::Roles(_) => errors.extend([401, 403]),
    }
    errors.push(500);
    errors.sort();
    errors.dedup();
    for e in errors {
        responses.insert(
            e.to_string(),
            json!({"$ref": format!("#/components/responses/E{e}")}),
        );
    }
    let description = match op.access {
        Access::Public => "无需令牌。".to_owned(),
        Access::Any => "任何已登记设备（账号未停用）。".to_owned(),
        Access::Roles(r) => format!("仅限角色：{}。", r.join("、")),
    };
    let mut v = json!({
        "operationId": op.id,
        "tags": [op.tag],
        "summary": op.summary,
        "description": description,
        "responses": responses,
    });
    if op.access == Access::Public {
        v["security"] = json!([]);
    }
    if !op.params.is_empty() {
        v["parameters"] = op
            .params
            .iter()
            .map(|(name, location, required, schema, description)| {
                json!({
                    "name": name,
                    "in": location,
                    "required": required,
                    "schema": schema(),
                    "description": description,
                })
            })
            .collect();
    }
    if let Some((ctype, schema)) = op.body {
        v["requestBody"] = json!({
            "required": true,
            "content": { ctype: { "schema": schema_ref(schema) } }
        });
    }
    v
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for op in OPERATIONS {
        let path = format!("/api/v1{}", op.path);
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        entry[op.method] = operation(op);
    }
    let mut responses = serde_json::Map::new();
    for (status, description, codes) in error_statuses() {
        responses.insert(
            format!("E{status}"),
            json!({
                "description": description,
                "content": { "application/json": {
                    "schema": schema_ref("Error"),
                    "examples": codes.iter().map(|c| (c.to_string(), json!({"value": {"code": c, "message": "……"}}))).collect::<serde_json::Map<_, _>>(),
                }}
            }),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "监督（Jiandu）中心平台 API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "双随机、一公开 卫生监督：名录库、抽取、任务、同步、审核、汇总。所有错误均为 JSON {code, message}：code 供程序判断且保持稳定，message 为中文说明。令牌放在 Authorization: Bearer 头中，绝不放在网址里。",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "tags": [
            {"name": "system"}, {"name": "people", "description": "人员与设备"},
            {"name": "plans", "description": "抽查计划"}, {"name": "registry", "description": "名录库"},
            {"name": "draws", "description": "双随机抽取"}, {"name": "tasks", "description": "任务"},
            {"name": "review", "description": "审核与存档文书"}, {"name": "reports", "description": "汇总、公示、进度"},
            {"name": "sync", "description": "设备同步（SYNC.md）"},
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "设备登记时得到的令牌（jdt_ 开头）"}
            },
            "responses": responses,
            "schemas": schemas(),
        }
    })
}

fn obj(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}
fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}
fn arr(items: Value) -> Value {
    json!({"type": "array", "items": items})
}
fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

/// JSON Schemas of every body named above.
pub fn schemas() -> Value {
    let u = uuid;
    let s = text;
    let i = int;
    let role = json!({"type": "string", "enum": ["inspector", "team_lead", "admin"]});
    let status = json!({"type": "string", "enum": ["assigned", "in_progress", "submitted", "unreachable", "returned", "resubmitted", "approved"]});
    let kind = json!({"type": "string", "enum": ["national", "city", "followup"]});
    json!({
        "Error": obj(&["code", "message"], json!({
            "code": {"type": "string", "description": "稳定的错误代码"},
            "message": {"type": "string", "description": "中文说明"}})),
        "Health": obj(&["status", "backend", "epoch"], json!({
            "status": {"const": "ok"}, "backend": {"enum": ["sqlite", "postgres"]}, "epoch": u()})),
        "EnrollRequest": obj(&["username", "password", "device_name"], json!({
            "username": s(), "password": {"type": "string", "format": "password"}, "device_name": s()})),
        "EnrollResponse": obj(&["device_id", "token", "user", "epoch", "authority"], json!({
            "device_id": u(), "token": {"type": "string", "description": "只显示这一次；服务器只保存其哈希"},
            "user": schema_ref("UserView"), "epoch": u(),
            "authority": {"type": "string", "description": "文书上的执法机关（设备现场制作的文书与平台存档一致）"}})),
        "UserView": obj(&["id", "username", "display_name", "role", "team", "district", "disabled"], json!({
            "id": u(), "username": s(), "display_name": s(), "role": role,
            "badge_no": nullable("string"), "team": s(), "district": s(), "disabled": {"type": "boolean"}})),
        "UserList": arr(schema_ref("UserView")),
        "MeResponse": obj(&["user", "device_id"], json!({"user": schema_ref("UserView"), "device_id": u()})),
        "Device": obj(&["id", "user_id", "name", "created_at", "seq"], json!({
            "id": u(), "user_id": u(), "name": s(), "created_at": time(),
            "revoked_at": {"type": ["string", "null"], "format": "date-time"}, "seq": i()})),
        "DeviceList": arr(schema_ref("Device")),
        "PlanSummary": obj(&["id", "year", "title", "authority", "seed", "checklists", "summaries"], json!({
            "id": s(), "year": i(), "title": s(), "authority": s(), "document_number": nullable("string"),
            "seed": s(), "checklists": i(), "summaries": i()})),
        "PlanSummaryList": arr(schema_ref("PlanSummary")),
        "Plan": {"type": "object", "description": "jiandu_core::Plan：计划全文（templates/*.toml 的内容，见 docs/TEMPLATES.md）",
            "required": ["id", "year", "title", "authority", "checklists"],
            "properties": {"id": s(), "seed": s(), "year": i(), "title": s(), "authority": s(),
                "document_number": s(), "reassignment_cap_percent": i(),
                "deadlines": arr(obj(&["date", "what"], json!({"date": {"type": "string", "format": "date"}, "what": s()}))),
                "campaigns": arr(obj(&["code", "name", "year"], json!({"code": s(), "name": s(), "year": i()}))),
                "checklists": arr(json!({"type": "object"})), "summaries": arr(json!({"type": "object"}))}},
        "Institution": obj(&["id", "name", "credit_code", "licence_no", "category", "district", "address", "legal_representative", "phone"], json!({
            "id": u(), "name": s(), "credit_code": {"type": "string", "pattern": "^[0-9A-HJ-NPQRTUWXY]{18}$", "description": "统一社会信用代码（GB 32100）"},
            "licence_no": s(), "category": {"type": "string", "description": "templates/categories.toml 的类别代码"},
            "district": s(), "address": s(), "legal_representative": s(), "phone": s()})),
        "InstitutionList": arr(schema_ref("Institution")),
        "DrawListItem": obj(&["id", "plan_id", "seed", "algorithm", "created_by", "created_at"], json!({
            "id": u(), "plan_id": s(), "seed": s(), "algorithm": s(), "created_by": s(), "created_at": time()})),
        "DrawList": arr(schema_ref("DrawListItem")),
        "DrawRequest": obj(&["plan_id", "seed"], json!({"plan_id": s(), "seed": {"type": "string", "maxLength": 200}, "dry_run": {"type": "boolean", "default": false}})),
        "DrawView": obj(&["id", "plan_id", "seed", "algorithm", "inputs_hash", "tasks_hash", "created_by", "created_at", "recorded", "tasks"], json!({
            "id": u(), "plan_id": s(), "seed": s(), "algorithm": s(), "inputs_hash": s(), "tasks_hash": s(),
            "created_by": s(), "created_at": time(), "recorded": {"type": "boolean"},
            "tasks": arr(obj(&["id", "position", "checklist", "kind", "institution", "category", "inspectors"], json!({
                "id": u(), "position": i(), "checklist": s(), "kind": kind, "followup": nullable("string"),
                "institution": obj(&["id", "name", "credit_code", "district"], json!({"id": u(), "name": s(), "credit_code": s(), "district": s()})),
                "category": s(),
                "inspectors": arr(obj(&["id", "name", "badge_no"], json!({"id": u(), "name": s(), "badge_no": s()})))})))})),
        "VerifyReport": obj(&["draw_id", "matches", "inputs_hash_matches", "recomputed_tasks_hash", "recorded_tasks_hash", "stored_tasks_match", "message"], json!({
            "draw_id": u(), "matches": {"type": "boolean"}, "inputs_hash_matches": {"type": "boolean"},
            "recomputed_tasks_hash": s(), "recorded_tasks_hash": s(), "stored_tasks_match": {"type": "boolean"}, "message": s()})),
        "StoredTask": obj(&["id", "draw_id", "plan_id", "position", "checklist", "kind", "institution_id", "category", "drawn_inspectors", "inspectors", "seq"], json!({
            "id": u(), "draw_id": u(), "plan_id": s(), "position": i(), "checklist": s(), "kind": kind,
            "followup": nullable("string"), "institution_id": u(), "category": s(),
            "drawn_inspectors": arr(u()), "inspectors": arr(u()), "seq": i()})),
        "TaskList": arr(schema_ref("StoredTask")),
        "ReassignRequest": obj(&["from", "to", "reason"], json!({"from": u(), "to": u(), "reason": {"type": "string", "minLength": 1, "maxLength": 1000}})),
        "Reassignment": obj(&["id", "draw_id", "task_id", "from_user", "to_user", "reason", "by", "at"], json!({
            "id": u(), "draw_id": u(), "task_id": u(), "from_user": u(), "to_user": u(), "reason": s(), "by": s(), "at": time()})),
        "Finding": obj(&["id", "inspection_id", "point", "verdict", "observation", "photo_ids", "recorded_by", "recorded_at"], json!({
            "id": u(), "inspection_id": u(), "point": {"type": "string", "description": "检查要点代码，例如 med.5.1"},
            "verdict": {"enum": ["compliant", "non_compliant", "not_applicable"]},
            "observation": s(), "photo_ids": arr(u()), "recorded_by": u(), "recorded_at": time()})),
        "Penalty": obj(&["cases", "fine"], json!({
            "cases": i(), "fine": {"type": "integer", "description": "罚没款金额，单位：分"},
            "revoked_licence": {"type": "boolean"}, "revoked_subjects": {"type": "boolean"},
            "revoked_personnel": {"type": "boolean"}, "cancelled_filing": {"type": "boolean"}})),
        "Outcome": obj(&["category"], json!({
            "category": {"enum": ["no_problem", "corrected", "penalised", "unreachable"]},
            "penalty": {"oneOf": [schema_ref("Penalty"), {"type": "null"}]},
            "opinion": nullable("string"), "unreachable_reason": nullable("string")})),
        "Inspection": obj(&["id", "task_id", "status", "version", "place", "findings"], json!({
            "id": u(), "task_id": u(), "status": status, "version": {"type": "integer", "description": "内容版本；审核须写明所审核的版本"},
            "started_at": {"type": ["string", "null"], "format": "date-time"},
            "ended_at": {"type": ["string", "null"], "format": "date-time"},
            "place": s(), "findings": arr(schema_ref("Finding")),
            "outcome": {"oneOf": [schema_ref("Outcome"), {"type": "null"}]},
            "review_comment": nullable("string"), "reviewed_by": {"type": ["string", "null"], "format": "uuid"},
            "opinion_number": {"type": "string", "description": "现场制作的卫生监督意见书文号（一经使用不能更改）"}})),
        "StoredInspection": obj(&["inspection", "seq"], json!({"inspection": schema_ref("Inspection"), "seq": i()})),
        "ReviewQueue": arr(obj(&["task", "inspection"], json!({"task": schema_ref("StoredTask"), "inspection": schema_ref("Inspection")}))),
        "ApproveRequest": obj(&["version"], json!({"version": {"type": "integer", "minimum": 0}})),
        "ReturnRequest": obj(&["version", "comment"], json!({"version": {"type": "integer", "minimum": 0}, "comment": {"type": "string", "minLength": 1}})),
        "SummaryReport": obj(&["plan_id", "table", "rows"], json!({
            "plan_id": s(), "table": s(),
            "rows": arr(obj(&["label", "cells", "is_total"], json!({
                "group": nullable("string"), "label": s(), "is_total": {"type": "boolean"},
                "cells": arr(obj(&["type", "value"], json!({"type": {"enum": ["count", "fine"]},
                    "value": {"type": "integer", "description": "count：单位数；fine：分"}})))})))})),
        "PublicList": arr(obj(&["institution", "credit_code", "address", "category", "result", "result_code"], json!({
            "institution": s(), "credit_code": s(), "address": s(), "category": s(),
            "result": {"enum": ["抽查未发现问题", "发现问题已责令改正", "行政处罚", "无法联系"]},
            "result_code": {"enum": ["no_problem", "corrected", "penalised", "unreachable"]},
            "penalty": nullable("string")}))),
        "Progress": obj(&["plan_id", "rows", "deadlines"], json!({
            "plan_id": s(),
            "rows": arr(obj(&["checklist", "category", "category_name", "drawn", "done", "approved"], json!({
                "checklist": s(), "category": s(), "category_name": s(), "drawn": i(), "done": i(), "approved": i()}))),
            "deadlines": arr(obj(&["date", "what", "days_left"], json!({"date": {"type": "string", "format": "date"}, "what": s(), "days_left": i()})))})),
        "PushItem": obj(&["mutation_id", "device_seq", "entity", "entity_id", "inspection_id", "op", "payload"], json!({
            "mutation_id": u(), "device_seq": i(), "entity": {"enum": ["inspection", "finding", "photo", "signature"]},
            "entity_id": u(), "inspection_id": u(),
            "op": {"enum": ["start", "set_outcome", "submit", "mark_unreachable", "set_opinion_number", "upsert", "create", "void"]},
            "base_version": {"type": ["integer", "null"]}, "payload": {"type": "object"}})),
        "PushRequest": obj(&["items"], json!({"items": arr(schema_ref("PushItem"))})),
        "PushResponse": obj(&["results"], json!({"results": arr(obj(&["mutation_id", "status"], json!({
            "mutation_id": u(), "status": {"enum": ["applied", "rejected"]},
            "version": i(), "server_seq": i(), "reason": s(), "message": s(),
            "current": {"type": ["object", "null"]}})))})),
        "PullPage": obj(&["epoch", "changes", "next", "has_more"], json!({
            "epoch": u(), "next": i(), "has_more": {"type": "boolean"},
            "changes": arr(obj(&["seq", "kind"], json!({"seq": i(), "kind": {"enum": ["task", "task_removed", "inspection"]},
                "task": {"type": "object"}, "task_id": u(), "inspection": {"type": "object"}})))})),
        "BlobRegistration": obj(&["id", "kind", "inspection_id", "sha256", "size", "mime"], json!({
            "id": u(), "kind": {"enum": ["photo", "signature"]}, "inspection_id": u(),
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "size": i(), "mime": s()})),
        "BlobStatus": obj(&["id", "offset", "size", "complete"], json!({"id": u(), "offset": i(), "size": i(), "complete": {"type": "boolean"}})),
        "LeaseRequest": obj(&["request_id", "authority", "year", "count"], json!({
            "request_id": u(), "authority": s(), "year": i(), "count": {"type": "integer", "minimum": 1, "maximum": 200}, "floor": i()})),
        "DocNumberLease": obj(&["authority", "year", "first", "last"], json!({"authority": s(), "year": i(), "first": i(), "last": i()})),
        "Binary": {"type": "string", "contentEncoding": "binary"},
        "Pdf": {"type": "string", "contentEncoding": "binary", "contentMediaType": "application/pdf"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_named_exists_and_operation_ids_are_unique() {
        let doc = document();
        let text = doc.to_string();
        let schemas = &doc["components"]["schemas"];
        let mut rest = text.as_str();
        while let Some(i) = rest.find("#/components/schemas/") {
            rest = &rest[i + "#/components/schemas/".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(schemas.get(&name).is_some(), "missing schema {name}");
        }
        let mut ids: Vec<&str> = OPERATIONS.iter().map(|o| o.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "operationId repeated");
    }
}
