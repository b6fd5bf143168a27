//! Plan versions on SQLite (migration 0005).

use super::*;
use crate::model::{PlanSource, PlanState};

const PLAN_COLS: &str = "plan_id, version, state, source, title, year, toml, sha256, body, format, \
     imported_by, imported_at, published_by, published_at, seq";

fn plan_row(r: &Row) -> rusqlite::Result<PlanVersionRow> {
    let state: String = r.get("state")?;
    let source: String = r.get("source")?;
    let body: String = r.get("body")?;
    Ok(PlanVersionRow {
        plan_id: r.get("plan_id")?,
        version: r.get("version")?,
        state: match state.as_str() {
            "draft" => PlanState::Draft,
            "published" => PlanState::Published,
            other => return Err(conversion(format!("plan state {other}"))),
        },
        source: match source.as_str() {
            "builtin" => PlanSource::Builtin,
            "imported" => PlanSource::Imported,
            other => return Err(conversion(format!("plan source {other}"))),
        },
        title: r.get("title")?,
        year: r.get("year")?,
        toml: r.get("toml")?,
        sha256: r.get("sha256")?,
        body: serde_json::from_str(&body).map_err(|e| conversion(e.to_string()))?,
        format: r.get("format")?,
        imported_by: r.get("imported_by")?,
        imported_at: parse_ts(&r.get::<_, String>("imported_at")?)?,
        published_by: r.get("published_by")?,
        published_at: r
            .get::<_, Option<String>>("published_at")?
            .map(|s| parse_ts(&s))
            .transpose()?,
        seq: r.get("seq")?,
    })
}

pub(super) fn state_str(s: PlanState) -> &'static str {
    match s {
        PlanState::Draft => "draft",
        PlanState::Published => "published",
    }
}

pub(super) fn source_str(s: PlanSource) -> &'static str {
    match s {
        PlanSource::Builtin => "builtin",
        PlanSource::Imported => "imported",
    }
}

fn get(c: &Connection, plan_id: &str, version: u32) -> StoreResult<Option<PlanVersionRow>> {
    Ok(c.query_row(
        &format!("SELECT {PLAN_COLS} FROM plan_versions WHERE plan_id = ?1 AND version = ?2"),
        params![plan_id, version],
        plan_row,
    )
    .optional()?)
}

fn insert(tx: &Connection, row: &PlanVersionRow, seq: i64) -> StoreResult<()> {
    tx.execute(
        &format!(
            "INSERT INTO plan_versions ({PLAN_COLS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        ),
        params![
            row.plan_id,
            row.version,
            state_str(row.state),
            source_str(row.source),
            row.title,
            row.year,
            row.toml,
            row.sha256,
            serde_json::to_string(&row.body)?,
            row.format,
            row.imported_by,
            ts(row.imported_at),
            row.published_by,
            row.published_at.map(ts),
            seq
        ],
    )?;
    Ok(())
}

#[async_trait]
impl PlanStore for SqliteStore {
    async fn plan_versions(&self, plan_id: Option<&str>) -> StoreResult<Vec<PlanVersionRow>> {
        let plan_id = plan_id.map(str::to_owned);
        self.with(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {PLAN_COLS} FROM plan_versions WHERE ?1 IS NULL OR plan_id = ?1
                 ORDER BY plan_id, version"
            ))?;
            let rows = st.query_map(params![plan_id], plan_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn plan_version(
        &self,
        plan_id: &str,
        version: u32,
    ) -> StoreResult<Option<PlanVersionRow>> {
        let plan_id = plan_id.to_owned();
        self.with(move |c| get(c, &plan_id, version)).await
    }

    async fn add_plan_version(
        &self,
        stamp: &Stamp,
        row: PlanVersionRow,
        decide: Decide<Option<PlanVersionRow>, u32>,
    ) -> StoreResult<PlanVersionRow> {
        let stamp2 = stamp.clone();
        // The event names the version decided inside the transaction.
        self.write_raw(move |tx| {
            let seq = bump(tx)?;
            let latest = tx
                .query_row(
                    &format!(
                        "SELECT {PLAN_COLS} FROM plan_versions WHERE plan_id = ?1
                         ORDER BY version DESC LIMIT 1"
                    ),
                    params![row.plan_id],
                    plan_row,
                )
                .optional()?;
            let version = decide(&latest).map_err(StoreError::Refused)?;
            let row = PlanVersionRow {
                version,
                seq,
                ..row
            };
            insert(tx, &row, seq)?;
            append_audit(
                tx,
                seq,
                &stamp2,
                &crate::audit::events::plan_version("plan.import", &row),
            )?;
            Ok((row, true))
        })
        .await
    }

    async fn keep_plan_version(&self, stamp: &Stamp, row: PlanVersionRow) -> StoreResult<bool> {
        let event = crate::audit::events::plan_version("plan.keep", &row);
        self.write_if_changed(stamp, event, move |tx, seq| {
            if get(tx, &row.plan_id, row.version)?.is_some() {
                return Ok((false, false));
            }
            insert(tx, &row, seq)?;
            Ok((true, true))
        })
        .await
    }

    async fn publish_plan_version(
        &self,
        stamp: &Stamp,
        plan_id: &str,
        version: u32,
    ) -> StoreResult<Option<PlanVersionRow>> {
        let plan_id = plan_id.to_owned();
        let (by, at) = (stamp.actor.clone(), stamp.at);
        let stamp2 = stamp.clone();
        self.write_raw(move |tx| {
            let seq = bump(tx)?;
            let n = tx.execute(
                "UPDATE plan_versions SET state = 'published', published_by = ?3,
                     published_at = ?4, seq = ?5
                 WHERE plan_id = ?1 AND version = ?2 AND state = 'draft'",
                params![plan_id, version, by, ts(at), seq],
            )?;
            let row = get(tx, &plan_id, version)?;
            match (&row, n) {
                (Some(r), 1) => {
                    append_audit(
                        tx,
                        seq,
                        &stamp2,
                        &crate::audit::events::plan_version("plan.publish", r),
                    )?;
                    Ok((row, true))
                }
                // Missing, or published already: nothing changed.
                _ => Ok((row, false)),
            }
        })
        .await
    }
}
