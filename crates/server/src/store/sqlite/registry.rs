//! The registry of institutions, the staff directory and the follow-up list on
//! SQLite.

use super::*;

#[async_trait]
impl RegistryStore for SqliteStore {
    async fn import_registry(
        &self,
        stamp: &Stamp,
        import: RegistryImport,
    ) -> StoreResult<ImportCounts> {
        let event = crate::audit::events::import_registry(&import);
        let now = stamp.at;
        self.write(stamp, event, move |tx, seq| {
            let mut counts = ImportCounts::default();
            {
                let mut find =
                    tx.prepare_cached("SELECT id FROM institutions WHERE credit_code = ?1")?;
                let mut insert = tx.prepare_cached(
                    "INSERT INTO institutions (id, credit_code, name, licence_no, category, district,
                         address, legal_representative, phone, seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?;
                let mut update = tx.prepare_cached(
                    "UPDATE institutions SET name = ?2, licence_no = ?3, category = ?4, district = ?5,
                         address = ?6, legal_representative = ?7, phone = ?8, seq = ?9
                     WHERE credit_code = ?1",
                )?;
                for i in &import.institutions {
                    let existing: Option<String> =
                        find.query_row(params![i.credit_code], |r| r.get(0)).optional()?;
                    if existing.is_some() {
                        update.execute(params![
                            i.credit_code,
                            i.name,
                            i.licence_no,
                            i.category.as_str(),
                            i.district,
                            i.address,
                            i.legal_representative,
                            i.phone,
                            seq
                        ])?;
                        counts.institutions_updated += 1;
                    } else {
                        insert.execute(params![
                            i.id.to_string(),
                            i.credit_code,
                            i.name,
                            i.licence_no,
                            i.category.as_str(),
                            i.district,
                            i.address,
                            i.legal_representative,
                            i.phone,
                            seq
                        ])?;
                        counts.institutions_added += 1;
                    }
                }
            }
            for s in &import.staff {
                let existing: Option<(String, String)> = tx
                    .query_row(
                        "SELECT id, role FROM users WHERE badge_no = ?1",
                        params![s.badge_no],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let user_id = match existing {
                    Some((id, _)) => {
                        tx.execute(
                            "UPDATE users SET display_name = ?1, team = ?2, district = ?3, seq = ?4
                             WHERE id = ?5",
                            params![s.name, s.team, s.district, seq, id],
                        )?;
                        counts.staff_updated += 1;
                        id
                    }
                    None => {
                        let id = Uuid::now_v7().to_string();
                        let r = tx.execute(
                            "INSERT INTO users (id, username, display_name, role, badge_no, team,
                                 district, password_hash, disabled, created_at, seq)
                             VALUES (?1, ?2, ?3, 'inspector', ?4, ?5, ?6, NULL, 0, ?7, ?8)",
                            params![
                                id,
                                s.username,
                                s.name,
                                s.badge_no,
                                s.team,
                                s.district,
                                ts(now),
                                seq
                            ],
                        );
                        if let Err(e) = &r
                            && is_unique_violation(e, "username")
                        {
                            return Err(StoreError::Duplicate {
                                what: Unique::Username,
                                value: s.username.clone(),
                            });
                        }
                        r?;
                        counts.staff_added += 1;
                        id
                    }
                };
                tx.execute(
                    "DELETE FROM conflicts WHERE user_id = ?1",
                    params![user_id],
                )?;
                for code in &s.conflicts {
                    tx.execute(
                        "INSERT OR IGNORE INTO conflicts (user_id, credit_code, seq) VALUES (?1, ?2, ?3)",
                        params![user_id, code, seq],
                    )?;
                }
            }
            {
                let mut set =
                    tx.prepare_cached("UPDATE institutions SET services = ?2 WHERE credit_code = ?1")?;
                for (code, services) in &import.services {
                    set.execute(params![code, serde_json::to_string(services)?])?;
                }
            }
            for p in &import.penalised {
                tx.execute(
                    "INSERT INTO penalised_units (campaign, credit_code, note, seq)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (campaign, credit_code) DO UPDATE SET note = excluded.note, seq = excluded.seq",
                    params![p.campaign, p.credit_code, p.note, seq],
                )?;
                counts.penalised += 1;
            }
            Ok(counts)
        })
        .await
    }

    async fn list_institutions(&self) -> StoreResult<Vec<Institution>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {INSTITUTION_COLS} FROM institutions ORDER BY credit_code"
            ))?;
            let rows = st.query_map([], institution_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn institution(&self, id: Uuid) -> StoreResult<Option<Institution>> {
        self.with(move |c| {
            Ok(c.query_row(
                &format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE id = ?1"),
                params![id.to_string()],
                institution_row,
            )
            .optional()?)
        })
        .await
    }

    async fn institutions_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Institution>> {
        let ids = ids.to_vec();
        self.with(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {INSTITUTION_COLS} FROM institutions WHERE id = ?1"
            ))?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(
                    st.query_row(params![id.to_string()], institution_row)
                        .optional()?,
                );
            }
            Ok(out)
        })
        .await
    }

    async fn staff_for_draw(&self) -> StoreResult<Vec<StaffForDraw>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {USER_COLS} FROM users
                 WHERE role = 'inspector' AND disabled = 0 AND badge_no IS NOT NULL
                 ORDER BY id"
            ))?;
            let users = st
                .query_map([], user_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut conflicts = c.prepare(
                "SELECT credit_code FROM conflicts WHERE user_id = ?1 ORDER BY credit_code",
            )?;
            let mut out = Vec::with_capacity(users.len());
            for user in users {
                let codes = conflicts
                    .query_map(params![user.id.to_string()], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?;
                out.push(StaffForDraw {
                    user,
                    conflict_codes: codes,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn penalised(&self) -> StoreResult<Vec<PenalisedEntry>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT campaign, credit_code, note FROM penalised_units ORDER BY campaign, credit_code",
            )?;
            let rows = st.query_map([], |r| {
                Ok(PenalisedEntry {
                    campaign: r.get(0)?,
                    credit_code: r.get(1)?,
                    note: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn institution_counts(&self) -> StoreResult<Vec<(CategoryCode, u64)>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT category, COUNT(*) FROM institutions GROUP BY category ORDER BY category",
            )?;
            let rows = st.query_map([], |r| {
                Ok((CategoryCode(r.get(0)?), r.get::<_, i64>(1)? as u64))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn institution_services(&self) -> StoreResult<HashMap<Uuid, Vec<String>>> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT id, services FROM institutions WHERE services <> '[]'")?;
            let rows = st.query_map([], |r| Ok((uuid_col(r, "id")?, r.get::<_, String>(1)?)))?;
            let mut out = HashMap::new();
            for row in rows {
                let (id, services) = row?;
                out.insert(id, serde_json::from_str(&services)?);
            }
            Ok(out)
        })
        .await
    }
}
