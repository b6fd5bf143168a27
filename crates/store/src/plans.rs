//! Plans as data (抽查计划) on the device: the plan versions the platform sent with
//! the tasks that use them. A tablet works any task it holds with no signal, and
//! checks, prints and summarises it with the version it was drawn with. A version
//! never changes once published, so a stored row is never rewritten.

use crate::Store;
use crate::error::Result;
use crate::log::Change;
use jiandu_core::protocol::PlanChange;
use jiandu_core::templates::TemplateSet;
use rusqlite::params;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

impl Store {
    /// A counter this store bumps whenever a pull stores a plan version new to this
    /// device: the app reads its plans again when it moves.
    pub fn plans_changed(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.plans_changed)
    }

    /// Issuing authorities of the plans received (their 文号 series).
    pub fn plan_authorities(&self) -> Result<Vec<String>> {
        let mut st = self.conn.prepare_cached(
            "SELECT DISTINCT json_extract(body, '$.authority') FROM plans
             WHERE json_extract(body, '$.authority') IS NOT NULL ORDER BY 1",
        )?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Every plan version received, as sent.
    pub fn received_plans(&self) -> Result<Vec<PlanChange>> {
        let mut st = self.conn.prepare_cached(
            "SELECT plan_id, version, format, sha256, body FROM plans ORDER BY plan_id, version",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, version, format, sha256, body) = row?;
            out.push(PlanChange {
                id,
                version,
                format,
                sha256,
                plan: serde_json::from_str(&body)
                    .map_err(|e| crate::StoreError::Data(format!("计划数据已损坏：{e}")))?,
            });
        }
        Ok(out)
    }

    /// The built-in plans with every version received added: what this device
    /// checks, prints and lists tasks with. A version this build cannot read is
    /// recorded as such, so its tasks say 请更新应用 instead of mis-rendering.
    pub fn plans(&self, builtin: &TemplateSet) -> Result<TemplateSet> {
        let mut set = builtin.clone();
        for change in self.received_plans()? {
            match change.read() {
                Ok(plan) => set.add_version(change.version, plan),
                Err(why) => set.add_unreadable(&change.id, change.version, why),
            }
        }
        Ok(set)
    }
}

/// Stores a plan version from a pull page (inside the page's transaction); a
/// version already here stays as it is.
pub(crate) fn store_plan_in(c: &mut Change<'_>, plan: &PlanChange) -> Result<bool> {
    let n = c.tx.execute(
        "INSERT INTO plans (plan_id, version, format, sha256, body, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (plan_id, version) DO NOTHING",
        params![
            plan.id,
            plan.version,
            plan.format,
            plan.sha256,
            serde_json::to_string(&plan.plan)
                .map_err(|e| crate::StoreError::Data(e.to_string()))?,
            c.at(),
        ],
    )?;
    Ok(n > 0)
}
