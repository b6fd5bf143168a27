//! Draws, tasks and re-assignments on SQLite.

use super::*;

#[async_trait]
impl DrawStore for SqliteStore {
    async fn save_freeze(&self, stamp: &Stamp, f: DrawFreeze) -> StoreResult<()> {
        let event = crate::audit::events::freeze(&f);
        self.write(stamp, event, move |tx, seq| {
            tx.execute(
                "INSERT INTO draw_freezes (id, plan_id, plan_version, inputs, inputs_hash,
                     frozen_by, frozen_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    f.id.to_string(),
                    f.plan_id,
                    f.plan_version,
                    serde_json::to_string(&f.inputs)?,
                    f.inputs_hash,
                    f.frozen_by,
                    ts(f.frozen_at),
                    seq
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn freezes(&self, plan_id: &str) -> StoreResult<Vec<DrawFreeze>> {
        let plan_id = plan_id.to_owned();
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT id, plan_id, plan_version, inputs, inputs_hash, frozen_by, frozen_at
                 FROM draw_freezes WHERE plan_id = ?1 ORDER BY frozen_at, seq",
            )?;
            let rows = st.query_map(params![plan_id], |r| {
                let inputs: String = r.get("inputs")?;
                Ok(DrawFreeze {
                    id: uuid_col(r, "id")?,
                    plan_id: r.get("plan_id")?,
                    plan_version: r.get("plan_version")?,
                    inputs: serde_json::from_str(&inputs).map_err(|e| conversion(e.to_string()))?,
                    inputs_hash: r.get("inputs_hash")?,
                    frozen_by: r.get("frozen_by")?,
                    frozen_at: parse_ts(&r.get::<_, String>("frozen_at")?)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn audit_only(&self, stamp: &Stamp, event: AuditEvent) -> StoreResult<()> {
        self.write(stamp, event, |_, _| Ok(())).await
    }

    async fn assignments_in_year(&self, year: i32) -> StoreResult<Vec<(Uuid, Uuid)>> {
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT t.institution_id, ti.user_id FROM tasks t
                 JOIN draws d ON d.id = t.draw_id
                 JOIN task_inspectors ti ON ti.task_id = t.id
                 WHERE d.plan_year = ?1",
            )?;
            let rows = st.query_map(params![year], |r| {
                Ok((uuid_col(r, "institution_id")?, uuid_col(r, "user_id")?))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn save_draw(
        &self,
        stamp: &Stamp,
        record: DrawRecord,
        plan_year: i32,
        tasks: Vec<StoredTask>,
    ) -> StoreResult<()> {
        let event = crate::audit::events::save_draw(&record, &tasks);
        self.write(stamp, event, move |tx, seq| {
            let r = tx.execute(
                "INSERT INTO draws (id, plan_id, plan_year, seed, algorithm, inputs_hash, tasks_hash,
                     inputs, created_by, created_at, seq, plan_version, freeze_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    record.id.to_string(),
                    record.plan_id,
                    plan_year,
                    record.seed,
                    record.algorithm,
                    record.inputs_hash,
                    record.tasks_hash,
                    serde_json::to_string(&record.inputs)?,
                    record.created_by,
                    ts(record.created_at),
                    seq,
                    record.plan_version,
                    record.freeze_id.map(|f| f.to_string())
                ],
            );
            if let Err(e) = &r
                && is_unique_violation(e, "plan_id")
            {
                return Err(StoreError::Duplicate {
                    what: Unique::DrawOfPlan,
                    value: record.plan_id.clone(),
                });
            }
            r?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO tasks (id, draw_id, plan_id, position, checklist, kind, followup,
                     institution_id, category, drawn_inspectors, seq, plan_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            let mut assign = tx.prepare_cached(
                "INSERT INTO task_inspectors (task_id, user_id, position) VALUES (?1, ?2, ?3)",
            )?;
            for t in &tasks {
                insert.execute(params![
                    t.id.to_string(),
                    record.id.to_string(),
                    t.plan_id,
                    t.position,
                    t.checklist,
                    kind_str(t.kind),
                    t.followup,
                    t.institution_id.to_string(),
                    t.category.as_str(),
                    serde_json::to_string(&t.drawn_inspectors)?,
                    seq,
                    t.plan_version
                ])?;
                for (i, u) in t.inspectors.iter().enumerate() {
                    assign.execute(params![t.id.to_string(), u.to_string(), i as i64])?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn draw(&self, id: Uuid) -> StoreResult<Option<DrawRecord>> {
        self.with(move |c| {
            Ok(c.query_row(
                &format!("SELECT {DRAW_COLS} FROM draws WHERE id = ?1"),
                params![id.to_string()],
                draw_row,
            )
            .optional()?)
        })
        .await
    }

    async fn draws(&self) -> StoreResult<Vec<DrawRecord>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {DRAW_COLS} FROM draws ORDER BY created_at, id"
            ))?;
            let rows = st.query_map([], draw_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn tasks_of_draw(&self, draw_id: Uuid) -> StoreResult<Vec<StoredTask>> {
        self.with(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {TASK_COLS} FROM tasks t WHERE t.draw_id = ?1 ORDER BY t.position"
            ))?;
            let rows = st.query_map(params![draw_id.to_string()], task_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn task(&self, id: Uuid) -> StoreResult<Option<StoredTask>> {
        self.with(move |c| get_task(c, id)).await
    }

    async fn tasks_for(
        &self,
        plan_id: Option<&str>,
        users: Option<&[Uuid]>,
    ) -> StoreResult<Vec<StoredTask>> {
        let plan_id = plan_id.map(str::to_owned);
        let users: Option<String> = users.map(|u| {
            serde_json::to_string(&u.iter().map(|x| x.to_string()).collect::<Vec<_>>())
                .unwrap_or_default()
        });
        self.with(move |c| {
            // With users: driven by task_inspectors_user (a device's pull reads its own
            // few tasks, not every task); a separate statement, because `?2 IS NULL OR`
            // would keep SQLite from using the index.
            let sql = if users.is_some() {
                format!(
                    "SELECT {TASK_COLS} FROM tasks t
                     WHERE (?1 IS NULL OR t.plan_id = ?1)
                       AND t.id IN (SELECT ti.task_id FROM task_inspectors ti
                                    WHERE ti.user_id IN (SELECT value FROM json_each(?2)))
                     ORDER BY t.plan_id, t.position"
                )
            } else {
                format!(
                    "SELECT {TASK_COLS} FROM tasks t
                     WHERE (?1 IS NULL OR t.plan_id = ?1) AND ?2 IS NULL
                     ORDER BY t.plan_id, t.position"
                )
            };
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(params![plan_id, users], task_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn reassign(
        &self,
        stamp: &Stamp,
        r: Reassignment,
        allowance: usize,
        decide: Decide<ReassignState, usize>,
    ) -> StoreResult<()> {
        let event = crate::audit::events::reassign(&r, allowance);
        self.write(stamp, event, move |tx, seq| {
            let done: i64 = tx.query_row(
                "SELECT COUNT(*) FROM reassignments WHERE draw_id = ?1",
                params![r.draw_id.to_string()],
                |row| row.get(0),
            )?;
            let state = ReassignState {
                done: done as usize,
                task: get_task(tx, r.task_id)?,
            };
            let pos = decide(&state).map_err(StoreError::Refused)?;
            tx.execute(
                "DELETE FROM task_inspectors WHERE task_id = ?1 AND user_id = ?2",
                params![r.task_id.to_string(), r.from_user.to_string()],
            )?;
            tx.execute(
                "INSERT INTO task_inspectors (task_id, user_id, position) VALUES (?1, ?2, ?3)",
                params![r.task_id.to_string(), r.to_user.to_string(), pos as i64],
            )?;
            tx.execute(
                "UPDATE tasks SET seq = ?1 WHERE id = ?2",
                params![seq, r.task_id.to_string()],
            )?;
            tx.execute(
                "INSERT INTO reassignments (id, draw_id, task_id, from_user, to_user, reason, by_name, at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    r.id.to_string(),
                    r.draw_id.to_string(),
                    r.task_id.to_string(),
                    r.from_user.to_string(),
                    r.to_user.to_string(),
                    r.reason,
                    r.by,
                    ts(r.at),
                    seq
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn reassignments(&self, draw_id: Uuid) -> StoreResult<Vec<Reassignment>> {
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT id, draw_id, task_id, from_user, to_user, reason, by_name, at
                 FROM reassignments WHERE draw_id = ?1 ORDER BY seq, id",
            )?;
            let rows = st.query_map(params![draw_id.to_string()], reassignment_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn reassignments_since(&self, since: i64) -> StoreResult<Vec<ReassignmentSeq>> {
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT seq, task_id, from_user FROM reassignments WHERE seq > ?1 ORDER BY seq",
            )?;
            let rows = st.query_map(params![since], |r| {
                Ok(ReassignmentSeq {
                    seq: r.get(0)?,
                    task_id: uuid_col(r, "task_id")?,
                    from_user: uuid_col(r, "from_user")?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}
