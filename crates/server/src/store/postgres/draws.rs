//! Draws, tasks and re-assignments on PostgreSQL.

use super::*;

#[async_trait]
impl DrawStore for PgStore {
    async fn save_freeze(&self, stamp: &Stamp, f: DrawFreeze) -> StoreResult<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, stamp, &crate::audit::events::freeze(&f)).await?;
        tx.exec(
            "INSERT INTO draw_freezes (id, plan_id, plan_version, inputs, inputs_hash,
                 frozen_by, frozen_at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &f.id,
                &f.plan_id,
                &(f.plan_version as i32),
                &f.inputs,
                &f.inputs_hash,
                &f.frozen_by,
                &f.frozen_at,
                &seq,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn freezes(&self, plan_id: &str) -> StoreResult<Vec<DrawFreeze>> {
        let c = self.pool.get().await?;
        c.q(
            "SELECT id, plan_id, plan_version, inputs, inputs_hash, frozen_by, frozen_at
             FROM draw_freezes WHERE plan_id = $1 ORDER BY frozen_at, seq",
            &[&plan_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(DrawFreeze {
                id: r.try_get("id")?,
                plan_id: r.try_get("plan_id")?,
                plan_version: version(r.try_get("plan_version")?)?,
                inputs: r.try_get("inputs")?,
                inputs_hash: r.try_get("inputs_hash")?,
                frozen_by: r.try_get("frozen_by")?,
                frozen_at: r.try_get("frozen_at")?,
            })
        })
        .collect()
    }

    async fn audit_only(&self, stamp: &Stamp, event: AuditEvent) -> StoreResult<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        bump(&tx, stamp, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn assignments_in_year(&self, year: i32) -> StoreResult<Vec<(Uuid, Uuid)>> {
        let c = self.pool.get().await?;
        c.q(
            "SELECT t.institution_id, ti.user_id FROM tasks t
             JOIN draws d ON d.id = t.draw_id
             JOIN task_inspectors ti ON ti.task_id = t.id
             WHERE d.plan_year = $1",
            &[&year],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    }

    async fn save_draw(
        &self,
        stamp: &Stamp,
        record: DrawRecord,
        plan_year: i32,
        tasks: Vec<StoredTask>,
    ) -> StoreResult<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(
            &tx,
            stamp,
            &crate::audit::events::save_draw(&record, &tasks),
        )
        .await?;
        let r = tx
            .exec(
                "INSERT INTO draws (id, plan_id, plan_year, seed, algorithm, inputs_hash, tasks_hash,
                     inputs, created_by, created_at, seq, plan_version, freeze_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                &[
                    &record.id,
                    &record.plan_id,
                    &plan_year,
                    &record.seed,
                    &record.algorithm,
                    &record.inputs_hash,
                    &record.tasks_hash,
                    &record.inputs,
                    &record.created_by,
                    &record.created_at,
                    &seq,
                    &(record.plan_version as i32),
                    &record.freeze_id,
                ],
            )
            .await;
        if let Err(e) = &r
            && unique_violation(e, "plan_id")
        {
            return Err(StoreError::Duplicate {
                what: Unique::DrawOfPlan,
                value: record.plan_id.clone(),
            });
        }
        r?;
        // Tasks and their inspectors a thousand a statement (arrays unnested
        // server-side): a draw of 5,000 tasks is a dozen round trips.
        for chunk in tasks.chunks(1000) {
            let ids: Vec<Uuid> = chunk.iter().map(|t| t.id).collect();
            let plans: Vec<&str> = chunk.iter().map(|t| t.plan_id.as_str()).collect();
            let positions: Vec<i64> = chunk.iter().map(|t| t.position).collect();
            let checklists: Vec<&str> = chunk.iter().map(|t| t.checklist.as_str()).collect();
            let kinds: Vec<&str> = chunk.iter().map(|t| kind_str(t.kind)).collect();
            let followups: Vec<Option<&str>> =
                chunk.iter().map(|t| t.followup.as_deref()).collect();
            let institutions: Vec<Uuid> = chunk.iter().map(|t| t.institution_id).collect();
            let categories: Vec<&str> = chunk.iter().map(|t| t.category.as_str()).collect();
            let drawn = chunk
                .iter()
                .map(|t| serde_json::to_value(&t.drawn_inspectors))
                .collect::<Result<Vec<_>, _>>()?;
            tx.exec(
                "INSERT INTO tasks (id, draw_id, plan_id, position, checklist, kind, followup,
                     institution_id, category, drawn_inspectors, seq, plan_version)
                 SELECT u.id, $2, u.plan_id, u.position, u.checklist, u.kind, u.followup,
                     u.institution_id, u.category, u.drawn, $11::bigint, $12::integer
                 FROM UNNEST($1::uuid[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                     $7::text[], $8::uuid[], $9::text[], $10::jsonb[])
                     AS u(id, plan_id, position, checklist, kind, followup, institution_id,
                          category, drawn)",
                &[
                    &ids,
                    &record.id,
                    &plans,
                    &positions,
                    &checklists,
                    &kinds,
                    &followups,
                    &institutions,
                    &categories,
                    &drawn,
                    &seq,
                    &(record.plan_version as i32),
                ],
            )
            .await?;
            let mut a_task = Vec::new();
            let mut a_user = Vec::new();
            let mut a_pos = Vec::new();
            for t in chunk {
                for (i, u) in t.inspectors.iter().enumerate() {
                    a_task.push(t.id);
                    a_user.push(*u);
                    a_pos.push(i as i64);
                }
            }
            tx.exec(
                "INSERT INTO task_inspectors (task_id, user_id, position)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[])",
                &[&a_task, &a_user, &a_pos],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn draw(&self, id: Uuid) -> StoreResult<Option<DrawRecord>> {
        let c = self.pool.get().await?;
        c.q_opt(
            &format!("SELECT {DRAW_COLS} FROM draws WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(draw_row)
        .transpose()
    }

    async fn draws(&self) -> StoreResult<Vec<DrawRecord>> {
        let c = self.pool.get().await?;
        rows(
            c.q(
                &format!("SELECT {DRAW_COLS} FROM draws ORDER BY created_at, id"),
                &[],
            )
            .await?,
            draw_row,
        )
    }

    async fn tasks_of_draw(&self, draw_id: Uuid) -> StoreResult<Vec<StoredTask>> {
        let c = self.pool.get().await?;
        rows(
            c.q(
                &format!(
                    "SELECT {TASK_COLS} FROM tasks t WHERE t.draw_id = $1 ORDER BY t.position"
                ),
                &[&draw_id],
            )
            .await?,
            task_row,
        )
    }

    async fn task(&self, id: Uuid) -> StoreResult<Option<StoredTask>> {
        let c = self.pool.get().await?;
        get_task(&c, id).await
    }

    async fn tasks_for(
        &self,
        plan_id: Option<&str>,
        users: Option<&[Uuid]>,
    ) -> StoreResult<Vec<StoredTask>> {
        let c = self.pool.get().await?;
        let found = match users {
            // Driven by task_inspectors_user, then the tasks' primary key: a
            // device's pull reads its own few tasks, not every task. The ids are
            // gathered first (an InitPlan) because the statement is prepared once
            // and run with PostgreSQL's generic plan, which guesses `ANY($2)` at
            // dozens of rows and, for `t.id IN (SELECT …)`, scanned every task of
            // the year on every pull (1.6 ms against 0.4 ms at 5,000 tasks).
            Some(users) => {
                c.q(
                    &format!(
                        "SELECT {TASK_COLS} FROM tasks t
                         WHERE t.id = ANY(ARRAY(SELECT ti.task_id FROM task_inspectors ti
                                                WHERE ti.user_id = ANY($2)))
                           AND ($1::TEXT IS NULL OR t.plan_id = $1)
                         ORDER BY t.plan_id, t.position"
                    ),
                    &[&plan_id, &users],
                )
                .await?
            }
            None => {
                c.q(
                    &format!(
                        "SELECT {TASK_COLS} FROM tasks t
                         WHERE ($1::TEXT IS NULL OR t.plan_id = $1)
                         ORDER BY t.plan_id, t.position"
                    ),
                    &[&plan_id],
                )
                .await?
            }
        };
        rows(found, task_row)
    }

    async fn reassign(
        &self,
        stamp: &Stamp,
        r: Reassignment,
        allowance: usize,
        decide: Decide<ReassignState, usize>,
    ) -> StoreResult<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // The change-sequence row lock also serialises concurrent re-assignments,
        // so a cap the decision checks cannot be overrun by two at once.
        let seq = bump(&tx, stamp, &crate::audit::events::reassign(&r, allowance)).await?;
        let done: i64 = tx
            .q_one(
                "SELECT COUNT(*) FROM reassignments WHERE draw_id = $1",
                &[&r.draw_id],
            )
            .await?
            .try_get(0)?;
        let state = ReassignState {
            done: done as usize,
            task: get_task(&tx, r.task_id).await?,
        };
        let pos = decide(&state).map_err(StoreError::Refused)?;
        tx.exec(
            "DELETE FROM task_inspectors WHERE task_id = $1 AND user_id = $2",
            &[&r.task_id, &r.from_user],
        )
        .await?;
        tx.exec(
            "INSERT INTO task_inspectors (task_id, user_id, position) VALUES ($1, $2, $3)",
            &[&r.task_id, &r.to_user, &(pos as i64)],
        )
        .await?;
        tx.exec(
            "UPDATE tasks SET seq = $1 WHERE id = $2",
            &[&seq, &r.task_id],
        )
        .await?;
        tx.exec(
            "INSERT INTO reassignments (id, draw_id, task_id, from_user, to_user, reason, by_name, at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &r.id,
                &r.draw_id,
                &r.task_id,
                &r.from_user,
                &r.to_user,
                &r.reason,
                &r.by,
                &r.at,
                &seq,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reassignments(&self, draw_id: Uuid) -> StoreResult<Vec<Reassignment>> {
        let c = self.pool.get().await?;
        rows(
            c.q(
                "SELECT id, draw_id, task_id, from_user, to_user, reason, by_name, at
                 FROM reassignments WHERE draw_id = $1 ORDER BY seq, id",
                &[&draw_id],
            )
            .await?,
            reassignment_row,
        )
    }

    async fn reassignments_since(&self, since: i64) -> StoreResult<Vec<ReassignmentSeq>> {
        let c = self.pool.get().await?;
        c.q(
            "SELECT seq, task_id, from_user FROM reassignments WHERE seq > $1 ORDER BY seq",
            &[&since],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(ReassignmentSeq {
                seq: r.try_get(0)?,
                task_id: r.try_get(1)?,
                from_user: r.try_get(2)?,
            })
        })
        .collect()
    }
}
