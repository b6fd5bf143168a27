//! The registry of institutions, the staff directory and the follow-up list on
//! PostgreSQL.

use super::*;
use std::collections::HashMap;

#[async_trait]
impl RegistryStore for PgStore {
    async fn import_registry(
        &self,
        stamp: &Stamp,
        import: RegistryImport,
    ) -> StoreResult<ImportCounts> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, stamp, &crate::audit::events::import_registry(&import)).await?;
        let mut counts = ImportCounts::default();
        // Institutions go up a thousand a statement (arrays unnested server-side): a
        // city's registry of 50,000 is 50 round trips, not 50,000. Credit codes are
        // unique within an import (the CSV reader refuses duplicates), which ON
        // CONFLICT DO UPDATE needs within one statement.
        for chunk in import.institutions.chunks(1000) {
            let col = |f: fn(&Institution) -> &str| chunk.iter().map(f).collect::<Vec<&str>>();
            let ids: Vec<Uuid> = chunk.iter().map(|i| i.id).collect();
            let inserted = tx
                .q(
                    "INSERT INTO institutions (id, credit_code, name, licence_no, category,
                         district, address, legal_representative, phone, seq)
                     SELECT u.*, $10::bigint FROM UNNEST($1::uuid[], $2::text[], $3::text[],
                         $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS u
                     ON CONFLICT (credit_code) DO UPDATE SET name = excluded.name,
                         licence_no = excluded.licence_no, category = excluded.category,
                         district = excluded.district, address = excluded.address,
                         legal_representative = excluded.legal_representative,
                         phone = excluded.phone, seq = excluded.seq
                     RETURNING (xmax = 0) AS inserted",
                    &[
                        &ids,
                        &col(|i| &i.credit_code),
                        &col(|i| &i.name),
                        &col(|i| &i.licence_no),
                        &col(|i| i.category.as_str()),
                        &col(|i| &i.district),
                        &col(|i| &i.address),
                        &col(|i| &i.legal_representative),
                        &col(|i| &i.phone),
                        &seq,
                    ],
                )
                .await?;
            for r in inserted {
                if r.try_get::<_, bool>("inserted")? {
                    counts.institutions_added += 1;
                } else {
                    counts.institutions_updated += 1;
                }
            }
        }
        for s in &import.staff {
            let existing = tx
                .q_opt("SELECT id FROM users WHERE badge_no = $1", &[&s.badge_no])
                .await?;
            let user_id: Uuid = match existing {
                Some(r) => {
                    let id: Uuid = r.try_get(0)?;
                    tx.exec(
                        "UPDATE users SET display_name = $1, team = $2, district = $3, seq = $4
                         WHERE id = $5",
                        &[&s.name, &s.team, &s.district, &seq, &id],
                    )
                    .await?;
                    counts.staff_updated += 1;
                    id
                }
                None => {
                    let id = Uuid::now_v7();
                    let r = tx
                        .exec(
                            "INSERT INTO users (id, username, display_name, role, badge_no, team,
                                 district, password_hash, disabled, created_at, seq)
                             VALUES ($1, $2, $3, 'inspector', $4, $5, $6, NULL, FALSE, $7, $8)",
                            &[
                                &id,
                                &s.username,
                                &s.name,
                                &s.badge_no,
                                &s.team,
                                &s.district,
                                &stamp.at,
                                &seq,
                            ],
                        )
                        .await;
                    if let Err(e) = &r
                        && unique_violation(e, "username")
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
            tx.exec("DELETE FROM conflicts WHERE user_id = $1", &[&user_id])
                .await?;
            for code in &s.conflicts {
                tx.exec(
                    "INSERT INTO conflicts (user_id, credit_code, seq) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    &[&user_id, code, &seq],
                )
                .await?;
            }
        }
        for (code, services) in &import.services {
            tx.exec(
                "UPDATE institutions SET services = $2 WHERE credit_code = $1",
                &[code, &serde_json::to_string(services)?],
            )
            .await?;
        }
        for p in &import.penalised {
            tx.exec(
                "INSERT INTO penalised_units (campaign, credit_code, note, seq)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (campaign, credit_code) DO UPDATE SET note = excluded.note, seq = excluded.seq",
                &[&p.campaign, &p.credit_code, &p.note, &seq],
            )
            .await?;
            counts.penalised += 1;
        }
        tx.commit().await?;
        Ok(counts)
    }

    async fn list_institutions(&self) -> StoreResult<Vec<Institution>> {
        let c = self.pool.get().await?;
        rows(
            c.q(
                &format!("SELECT {INSTITUTION_COLS} FROM institutions ORDER BY credit_code"),
                &[],
            )
            .await?,
            institution_row,
        )
    }

    async fn institution(&self, id: Uuid) -> StoreResult<Option<Institution>> {
        let c = self.pool.get().await?;
        c.q_opt(
            &format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(institution_row)
        .transpose()
    }

    async fn institutions_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Institution>> {
        let c = self.pool.get().await?;
        rows(
            c.q(
                &format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE id = ANY($1)"),
                &[&ids],
            )
            .await?,
            institution_row,
        )
    }

    async fn staff_for_draw(&self) -> StoreResult<Vec<StaffForDraw>> {
        let c = self.pool.get().await?;
        let users = rows(
            c.q(
                &format!(
                    "SELECT {USER_COLS} FROM users
                     WHERE role = 'inspector' AND NOT disabled AND badge_no IS NOT NULL ORDER BY id"
                ),
                &[],
            )
            .await?,
            user_row,
        )?;
        let mut conflicts: HashMap<Uuid, Vec<String>> = HashMap::new();
        for r in c
            .q(
                "SELECT user_id, credit_code FROM conflicts ORDER BY user_id, credit_code",
                &[],
            )
            .await?
        {
            conflicts
                .entry(r.try_get(0)?)
                .or_default()
                .push(r.try_get(1)?);
        }
        Ok(users
            .into_iter()
            .map(|user| StaffForDraw {
                conflict_codes: conflicts.remove(&user.id).unwrap_or_default(),
                user,
            })
            .collect())
    }

    async fn penalised(&self) -> StoreResult<Vec<PenalisedEntry>> {
        let c = self.pool.get().await?;
        c.q(
            "SELECT campaign, credit_code, note FROM penalised_units ORDER BY campaign, credit_code",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(PenalisedEntry {
                campaign: r.try_get(0)?,
                credit_code: r.try_get(1)?,
                note: r.try_get(2)?,
            })
        })
        .collect()
    }

    async fn institution_counts(&self) -> StoreResult<Vec<(CategoryCode, u64)>> {
        let c = self.pool.get().await?;
        let rows = c
            .q(
                "SELECT category, COUNT(*)::BIGINT FROM institutions GROUP BY category ORDER BY category",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((CategoryCode(r.try_get(0)?), r.try_get::<_, i64>(1)? as u64)))
            .collect()
    }

    async fn institution_services(&self) -> StoreResult<HashMap<Uuid, Vec<String>>> {
        let c = self.pool.get().await?;
        let rows = c
            .q(
                "SELECT id, services FROM institutions WHERE services <> '[]'",
                &[],
            )
            .await?;
        let mut out = HashMap::new();
        for r in &rows {
            let id: Uuid = r.try_get(0)?;
            let services: String = r.try_get(1)?;
            out.insert(id, serde_json::from_str(&services)?);
        }
        Ok(out)
    }
}
