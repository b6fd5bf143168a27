//! The audit log (审计日志): every change on the server, append-only, hash-chained.
//!
//! - **One entry per change** (a push, a lease, an approval…), written by the store
//!   inside the database transaction that writes the change (so the entry and the
//!   change commit together or not at all), keyed by the change sequence value the
//!   change took: rows the change wrote carry `seq` = the entry's `change_seq`.
//!   Grouped writers put several changes in one transaction, each with its own
//!   value and entry.
//! - **Append-only.** No method of [`crate::store::ServerStore`] updates or deletes
//!   an entry, no HTTP endpoint writes one, and database triggers refuse UPDATE and
//!   DELETE (and TRUNCATE on PostgreSQL) of `audit_log` and `audit_start`.
//! - **Hash chain.** Each entry carries the SHA-256 of the previous entry
//!   (`prev_hash`, 64 zeros for the first) and its own `hash`, computed over the
//!   canonical serialization ([`entry_hash`], format [`FORMAT`]):
//!
//!   ```text
//!   hash = lower-hex( SHA-256( UTF-8( JSON array
//!            ["jiandu-audit/1", change_seq, at, actor, action, subject, detail, prev_hash] ) ) )
//!   ```
//!
//!   written compactly (no spaces), `change_seq` as a JSON integer and every other
//!   element as a JSON string exactly as stored (`detail` is the stored JSON *text*,
//!   embedded as a string, never re-serialized); strings escaped as RFC 8259
//!   requires and nothing more (`"` `\` and control characters; `\n` `\r` `\t` `\b`
//!   `\f` short forms, other controls as `\u00XX` lower-case hex; non-ASCII as raw
//!   UTF-8). `at` is RFC 3339 UTC with microseconds, e.g.
//!   `2025-06-01T09:00:00.123456Z`.
//! - **Verification** (`crate::service::audit::verify`, `jiandu-server audit verify`): entries in order
//!   must be consecutive from `audit_start.after_seq + 1` to the server's current
//!   change sequence, each `prev_hash` equal to the previous `hash`, each `hash`
//!   equal to the recomputed one. The first entry that breaks a rule is named.
//!   A wholesale rewrite of the chain by someone with write access to the database
//!   files is only detectable against a copy of the head hash kept elsewhere:
//!   `audit verify` prints it (and checks it with `--head`).
//!
//! Who acted: every writing store method is given a [`crate::store::Stamp`] made
//! by the service layer from its explicit `Actor` (`username (设备 id)` for a device,
//! `cli:NAME` for the command line, `system` for library callers). Verification
//! is `crate::service::audit`.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Version tag of the canonical serialization, hashed into every entry.
pub const FORMAT: &str = "jiandu-audit/1";

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a writing transaction records besides its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Dotted verb, e.g. `user.create`, `draw.save`, `sync.push`.
    pub action: &'static str,
    /// Id (or name) of the main object.
    pub subject: String,
    /// Compact JSON text, as it will be stored and hashed.
    pub detail: String,
}

impl AuditEvent {
    pub fn new(action: &'static str, subject: impl ToString, detail: serde_json::Value) -> Self {
        AuditEvent {
            action,
            subject: subject.to_string(),
            detail: detail.to_string(),
        }
    }

    /// As [`AuditEvent::new`], the detail serialised straight from a typed value
    /// (no intermediate `serde_json::Value`: a push of 500 items builds none of
    /// its 4,000 map entries). Its fields must be declared in sorted order to read
    /// as a `json!` detail does.
    pub fn typed(action: &'static str, subject: impl ToString, detail: &impl Serialize) -> Self {
        AuditEvent {
            action,
            subject: subject.to_string(),
            detail: serde_json::to_string(detail).unwrap_or_else(|_| "{}".into()),
        }
    }
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub change_seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// Compact JSON text, as stored and hashed.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The canonical hash of an entry (see the module documentation).
pub fn entry_hash(
    change_seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    let canonical = serde_json::json!([
        FORMAT, change_seq, at, actor, action, subject, detail, prev_hash
    ]);
    // A JSON value of integers and strings always serializes.
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

impl AuditEntry {
    /// Builds the next entry after `prev_hash`, hashing it.
    pub fn seal(
        change_seq: i64,
        at: String,
        actor: String,
        event: &AuditEvent,
        prev_hash: String,
    ) -> AuditEntry {
        let detail = event.detail.clone();
        let hash = entry_hash(
            change_seq,
            &at,
            &actor,
            event.action,
            &event.subject,
            &detail,
            &prev_hash,
        );
        AuditEntry {
            change_seq,
            at,
            actor,
            action: event.action.to_owned(),
            subject: event.subject.clone(),
            detail,
            prev_hash,
            hash,
        }
    }

    pub fn recomputed_hash(&self) -> String {
        entry_hash(
            self.change_seq,
            &self.at,
            &self.actor,
            &self.action,
            &self.subject,
            &self.detail,
            &self.prev_hash,
        )
    }
}

/// A time as entries store it (RFC 3339 UTC with microseconds).
pub fn time_text(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_serialization_is_pinned() {
        // Pinned: changing the serialization breaks every stored chain.
        let json = serde_json::to_string(&serde_json::json!([
            FORMAT,
            7,
            "2025-06-01T09:00:00.000000Z",
            "lina (设备 x)",
            "inspection.review",
            "0196",
            "{\"a\":\"引号\\\"\\n\"}",
            GENESIS
        ]))
        .unwrap_or_default();
        assert_eq!(
            json,
            r#"["jiandu-audit/1",7,"2025-06-01T09:00:00.000000Z","lina (设备 x)","inspection.review","0196","{\"a\":\"引号\\\"\\n\"}","0000000000000000000000000000000000000000000000000000000000000000"]"#
        );
        let h = entry_hash(
            7,
            "2025-06-01T09:00:00.000000Z",
            "lina (设备 x)",
            "inspection.review",
            "0196",
            "{\"a\":\"引号\\\"\\n\"}",
            GENESIS,
        );
        assert_eq!(h, hex::encode(Sha256::digest(json.as_bytes())));
    }

    #[test]
    fn seal_hashes_what_it_stores() {
        let e = AuditEntry::seal(
            1,
            "2025-06-01T09:00:00.000000Z".into(),
            "system".into(),
            &AuditEvent::new("user.create", "u", serde_json::json!({"a": [1, 2]})),
            GENESIS.into(),
        );
        assert_eq!(e.recomputed_hash(), e.hash);
        assert_eq!(e.detail, r#"{"a":[1,2]}"#);
    }

    #[test]
    fn a_push_entry_reads_as_it_always_has() {
        // Pinned: the typed detail of sync.push is the text its json! form made.
        let item = jiandu_core::protocol::PushItem {
            mutation_id: uuid::Uuid::from_u128(1),
            device_seq: 7,
            entity: "finding".into(),
            entity_id: uuid::Uuid::from_u128(2),
            inspection_id: uuid::Uuid::from_u128(3),
            op: "upsert".into(),
            base_version: Some(4),
            payload: serde_json::json!({"point": "1.1", "verdict": "compliant"}),
        };
        let payload_sha256 = hex::encode(Sha256::digest(item.payload.to_string().as_bytes()));
        let expected = serde_json::json!({"items": [{
            "mutation_id": item.mutation_id,
            "device_seq": item.device_seq,
            "entity": item.entity,
            "entity_id": item.entity_id,
            "inspection_id": item.inspection_id,
            "op": item.op,
            "base_version": item.base_version,
            "payload_sha256": payload_sha256,
        }]})
        .to_string();
        let prepared = crate::store::PreparedItem {
            item,
            task_id: None,
            decide: Box::new(|_, _| unreachable!("not decided")),
        };
        let event = events::push(uuid::Uuid::from_u128(9), &[prepared]);
        assert_eq!(event.detail, expected);
    }
}

/// The event each writing store method records; both backends call these, so the
/// audit log reads the same on SQLite and PostgreSQL.
pub(crate) mod events {
    use super::AuditEvent;
    use crate::model::{
        Device, DrawFreeze, DrawRecord, NewUser, PlanVersionRow, Reassignment, RegistryImport,
        ReviewRecord, RevokeKind, StoredTask,
    };
    use crate::store::PreparedItem;
    use chrono::{DateTime, SecondsFormat, Utc};
    use jiandu_core::inspection::Inspection;
    use jiandu_core::protocol::LeaseRequest;
    use serde_json::json;
    use sha2::{Digest, Sha256};
    use uuid::Uuid;

    fn sha256_json<T: serde::Serialize>(v: &T) -> String {
        hex::encode(Sha256::digest(serde_json::to_vec(v).unwrap_or_default()))
    }

    /// The `body_sha256` an inspection's entries record (`audit verify` recomputes
    /// it from the stored row).
    pub fn inspection_body_sha256(i: &Inspection) -> String {
        sha256_json(i)
    }

    pub fn create_user(u: &NewUser) -> AuditEvent {
        AuditEvent::new(
            "user.create",
            u.id,
            json!({
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role.as_str(),
                "badge_no": u.badge_no,
                "team": u.team,
                "district": u.district,
                "can_sign_in": u.password_hash.is_some(),
            }),
        )
    }

    pub fn set_disabled(username: &str, disabled: bool) -> AuditEvent {
        AuditEvent::new(
            if disabled {
                "user.disable"
            } else {
                "user.enable"
            },
            username,
            // Disabling revokes every device of the user in the same transaction.
            json!({ "disabled": disabled, "devices_revoked": disabled }),
        )
    }

    /// The hash itself is never logged. Every device of the user is revoked in the
    /// same transaction (kind `password_reset`).
    pub fn set_password(username: &str) -> AuditEvent {
        AuditEvent::new(
            "user.password",
            username,
            json!({ "devices_revoked": true }),
        )
    }

    pub fn create_device(d: &Device) -> AuditEvent {
        AuditEvent::new(
            "device.enroll",
            d.id,
            json!({ "user_id": d.user_id, "name": d.name }),
        )
    }

    pub fn revoke_device(id: Uuid, at: DateTime<Utc>, kind: RevokeKind) -> AuditEvent {
        AuditEvent::new(
            "device.revoke",
            id,
            json!({
                "at": at.to_rfc3339_opts(SecondsFormat::Micros, true),
                "kind": kind.as_str(),
            }),
        )
    }

    pub fn import_registry(i: &RegistryImport) -> AuditEvent {
        let codes: Vec<&str> = i
            .institutions
            .iter()
            .map(|x| x.credit_code.as_str())
            .collect();
        let staff: Vec<(&str, &str, &[String])> = i
            .staff
            .iter()
            .map(|s| (s.badge_no.as_str(), s.name.as_str(), s.conflicts.as_slice()))
            .collect();
        let penalised: Vec<(&str, &str)> = i
            .penalised
            .iter()
            .map(|p| (p.campaign.as_str(), p.credit_code.as_str()))
            .collect();
        AuditEvent::new(
            "registry.import",
            "registry",
            json!({
                "institutions": codes.len(),
                "institutions_sha256": sha256_json(&i.institutions),
                "staff": staff.len(),
                "staff_sha256": sha256_json(&staff),
                "penalised": penalised,
            }),
        )
    }

    pub fn plan_version(action: &'static str, p: &PlanVersionRow) -> AuditEvent {
        AuditEvent::new(
            action,
            format!("{}@{}", p.plan_id, p.version),
            json!({
                "state": p.state,
                "source": p.source,
                "title": p.title,
                "year": p.year,
                "toml_sha256": p.sha256,
                "format": p.format,
            }),
        )
    }

    pub fn freeze(f: &DrawFreeze) -> AuditEvent {
        AuditEvent::new(
            "draw.freeze",
            f.id,
            json!({
                "plan_id": f.plan_id,
                "plan_version": f.plan_version,
                "inputs_hash": f.inputs_hash,
                "by": f.frozen_by,
            }),
        )
    }

    /// A dry run: who, which plan and inputs, the seed's SHA-256 (the seed itself
    /// is kept out, as it may be tried before the public one) and what it gave.
    pub fn dry_run(
        plan_id: &str,
        plan_version: u32,
        seed_sha256: &str,
        inputs_hash: &str,
        tasks_hash: &str,
        by: &str,
    ) -> AuditEvent {
        AuditEvent::new(
            "draw.dry_run",
            plan_id,
            json!({
                "plan_version": plan_version,
                "seed_sha256": seed_sha256,
                "inputs_hash": inputs_hash,
                "tasks_hash": tasks_hash,
                "by": by,
            }),
        )
    }

    pub fn save_draw(r: &DrawRecord, tasks: &[StoredTask]) -> AuditEvent {
        AuditEvent::new(
            "draw.save",
            r.id,
            json!({
                "plan_id": r.plan_id,
                "plan_version": r.plan_version,
                "freeze_id": r.freeze_id,
                "seed": r.seed,
                "algorithm": r.algorithm,
                "inputs_hash": r.inputs_hash,
                "tasks_hash": r.tasks_hash,
                "tasks": tasks.len(),
                "by": r.created_by,
            }),
        )
    }

    pub fn reassign(r: &Reassignment, allowance: usize) -> AuditEvent {
        AuditEvent::new(
            "task.reassign",
            r.task_id,
            json!({
                "id": r.id,
                "draw_id": r.draw_id,
                "from": r.from_user,
                "to": r.to_user,
                "reason": r.reason,
                "by": r.by,
                "allowance": allowance,
            }),
        )
    }

    pub fn put_inspection(i: &Inspection, expected_version: Option<u64>) -> AuditEvent {
        AuditEvent::new(
            "inspection.put",
            i.id,
            json!({
                "task_id": i.task_id,
                "status": i.status.as_str(),
                "version": i.version,
                "expected_version": expected_version,
                "body_sha256": sha256_json(i),
            }),
        )
    }

    pub fn review(r: &ReviewRecord, i: &Inspection) -> AuditEvent {
        AuditEvent::new(
            "inspection.review",
            r.inspection_id,
            json!({
                "review_id": r.id,
                "decision": r.decision.as_str(),
                "reviewed_version": r.reviewed_version,
                "comment": r.comment,
                "reviewer": r.reviewer,
                "status": i.status.as_str(),
                "version": i.version,
                "body_sha256": sha256_json(i),
            }),
        )
    }

    /// One pushed item as a `sync.push` entry records it (keys in sorted order).
    #[derive(serde::Serialize)]
    struct PushedItem<'a> {
        base_version: Option<u64>,
        device_seq: i64,
        entity: &'a str,
        entity_id: Uuid,
        inspection_id: Uuid,
        mutation_id: Uuid,
        op: &'a str,
        payload_sha256: String,
    }

    #[derive(serde::Serialize)]
    struct Pushed<'a> {
        items: Vec<PushedItem<'a>>,
    }

    pub fn push(device_id: Uuid, items: &[PreparedItem]) -> AuditEvent {
        let items = items
            .iter()
            .map(|p| PushedItem {
                base_version: p.item.base_version,
                device_seq: p.item.device_seq,
                entity: &p.item.entity,
                entity_id: p.item.entity_id,
                inspection_id: p.item.inspection_id,
                mutation_id: p.item.mutation_id,
                op: &p.item.op,
                payload_sha256: sha256_json(&p.item.payload),
            })
            .collect();
        AuditEvent::typed("sync.push", device_id, &Pushed { items })
    }

    pub fn set_blob_size(id: Uuid, size: u64) -> AuditEvent {
        AuditEvent::new("blob.size", id, json!({ "size": size }))
    }

    pub fn complete_blob(id: Uuid) -> AuditEvent {
        AuditEvent::new("blob.complete", id, json!({}))
    }

    pub fn lease(device_id: Uuid, req: &LeaseRequest) -> AuditEvent {
        AuditEvent::new(
            "docnumber.lease",
            device_id,
            json!({
                "request_id": req.request_id,
                "authority": req.authority,
                "year": req.year,
                "count": req.count,
                "floor": req.floor,
            }),
        )
    }
}
