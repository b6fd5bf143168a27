//! Plan versions on PostgreSQL (migration 0005).

use super::*;
use crate::model::{PlanSource, PlanState};

const PLAN_COLS: &str = "plan_id, version, state, source, title, year, toml, sha256, body, format, \
     imported_by, imported_at, published_by, published_at, seq";

fn plan_row(r: &Row) -> StoreResult<PlanVersionRow> {
    let state: String = r.try_get("state")?;
    let source: String = r.try_get("source")?;
    Ok(PlanVersionRow {
        plan_id: r.try_get("plan_id")?,
        version: version(r.try_get("version")?)?,
        state: match state.as_str() {
            "draft" => PlanState::Draft,
            "published" => PlanState::Published,
            other => return Err(StoreError::Internal(format!("plan state {other}"))),
        },
        source: match source.as_str() {
            "builtin" => PlanSource::Builtin,
            "imported" => PlanSource::Imported,
            other => return Err(StoreError::Internal(format!("plan source {other}"))),
        },
        title: r.try_get("title")?,
        year: r.try_get("year")?,
        toml: r.try_get("toml")?,
        sha256: r.try_get("sha256")?,
        body: r.try_get("body")?,
        format: version(r.try_get("format")?)?,
        imported_by: r.try_get("imported_by")?,
        imported_at: r.try_get("imported_at")?,
        published_by: r.try_get("published_by")?,
        published_at: r.try_get("published_at")?,
        seq: r.try_get("seq")?,
    })
}

fn state_str(s: PlanState) -> &'static str {
    match s {
        PlanState::Draft => "draft",
        PlanState::Published => "published",
    }
}

fn source_str(s: PlanSource) -> &'static str {
    match s {
        PlanSource::Builtin => "builtin",
        PlanSource::Imported => "imported",
    }
}

async fn get(
    c: &impl GenericClient,
    plan_id: &str,
    version: u32,
) -> StoreResult<Option<PlanVersionRow>> {
    c.q_opt(
        &format!("SELECT {PLAN_COLS} FROM plan_versions WHERE plan_id = $1 AND version = $2"),
        &[&plan_id, &(version as i32)],
    )
    .await?
    .as_ref()
    .map(plan_row)
    .transpose()
}

async fn insert(tx: &impl GenericClient, row: &PlanVersionRow, seq: i64) -> StoreResult<()> {
    tx.exec(
        &format!(
            "INSERT INTO plan_versions ({PLAN_COLS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ),
        &[
            &row.plan_id,
            &(row.version as i32),
            &state_str(row.state),
            &source_str(row.source),
            &row.title,
            &row.year,
            &row.toml,
            &row.sha256,
            &row.body,
            &(row.format as i32),
            &row.imported_by,
            &row.imported_at,
            &row.published_by,
            &row.published_at,
            &seq,
        ],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl PlanStore for PgStore {
    async fn plan_versions(&self, plan_id: Option<&str>) -> StoreResult<Vec<PlanVersionRow>> {
        let c = self.pool.get().await?;
        rows(
            c.q(
                &format!(
                    "SELECT {PLAN_COLS} FROM plan_versions
                     WHERE $1::text IS NULL OR plan_id = $1 ORDER BY plan_id, version"
                ),
                &[&plan_id],
            )
            .await?,
            plan_row,
        )
    }

    async fn plan_version(
        &self,
        plan_id: &str,
        version: u32,
    ) -> StoreResult<Option<PlanVersionRow>> {
        let c = self.pool.get().await?;
        get(&c, plan_id, version).await
    }

    async fn add_plan_version(
        &self,
        stamp: &Stamp,
        row: PlanVersionRow,
        decide: Decide<Option<PlanVersionRow>, u32>,
    ) -> StoreResult<PlanVersionRow> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // The event names the version decided here: appended after the decision,
        // still under the sequence lock.
        let seq = next_seq(&tx).await?;
        let latest = tx
            .q_opt(
                &format!(
                    "SELECT {PLAN_COLS} FROM plan_versions WHERE plan_id = $1
                     ORDER BY version DESC LIMIT 1"
                ),
                &[&row.plan_id],
            )
            .await?
            .as_ref()
            .map(plan_row)
            .transpose()?;
        let version = decide(&latest).map_err(StoreError::Refused)?;
        let row = PlanVersionRow {
            version,
            seq,
            ..row
        };
        insert(&tx, &row, seq).await?;
        append_audit(
            &tx,
            seq,
            stamp,
            &crate::audit::events::plan_version("plan.import", &row),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn keep_plan_version(&self, stamp: &Stamp, row: PlanVersionRow) -> StoreResult<bool> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(
            &tx,
            stamp,
            &crate::audit::events::plan_version("plan.keep", &row),
        )
        .await?;
        if get(&tx, &row.plan_id, row.version).await?.is_some() {
            // Kept already: dropping the transaction rolls the bump back.
            return Ok(false);
        }
        insert(&tx, &row, seq).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn publish_plan_version(
        &self,
        stamp: &Stamp,
        plan_id: &str,
        version: u32,
    ) -> StoreResult<Option<PlanVersionRow>> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = next_seq(&tx).await?;
        let n = tx
            .exec(
                "UPDATE plan_versions SET state = 'published', published_by = $3,
                     published_at = $4, seq = $5
                 WHERE plan_id = $1 AND version = $2 AND state = 'draft'",
                &[&plan_id, &(version as i32), &stamp.actor, &stamp.at, &seq],
            )
            .await?;
        let row = get(&tx, plan_id, version).await?;
        if let (Some(r), 1) = (&row, n) {
            append_audit(
                &tx,
                seq,
                stamp,
                &crate::audit::events::plan_version("plan.publish", r),
            )
            .await?;
            tx.commit().await?;
        }
        // Otherwise missing or published already: the dropped transaction rolls back.
        Ok(row)
    }
}
