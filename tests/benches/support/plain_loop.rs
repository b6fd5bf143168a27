//! The practical limit for (d): the rows a burst of pushes left on the server
//! (inspections, push results, audit entries, one change-sequence value a push),
//! inserted again into a fresh database of the same schema by a plain loop of
//! batched transactions, with none of the server's work (HTTP, JSON, rules, a
//! re-read of the state per item). Rows a push depends on (users, devices, tasks…)
//! are copied first, untimed.

use std::collections::BTreeMap;
use std::time::Instant;

/// Pushes per transaction in the loop.
pub const BATCH: usize = 50;

/// Tables copied before the timed loop, in foreign-key order.
const SETUP: &[&str] = &[
    "users",
    "devices",
    "institutions",
    "plan_versions",
    "draws",
    "tasks",
    "task_inspectors",
];

/// Tables the pushes wrote, with their change-sequence column.
const TIMED: &[(&str, &str)] = &[
    ("inspections", "seq"),
    ("sync_results", "seq"),
    ("audit_log", "change_seq"),
];

/// What the loop did: pushes (change-sequence values), rows and seconds.
#[derive(Debug, Clone, Copy)]
pub struct LoopFigures {
    pub pushes: usize,
    pub items: usize,
    pub rows: usize,
    pub secs: f64,
}

/// SQLite: copies from `source` (a server database file) into a fresh file in `dir`.
pub fn sqlite(source: &str, dir: &std::path::Path, after_seq: i64) -> LoopFigures {
    use rusqlite::types::Value;
    let target = dir.join("plain-loop.sqlite");
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(jiandu_server::store::sqlite::SqliteStore::open(&target))
            .unwrap();
    }
    let src = rusqlite::Connection::open(source).unwrap();
    let mut dst = jiandu_server::store::sqlite::open_connection(&target).unwrap();
    let read = |table: &str, filter: &str| -> Vec<(i64, Vec<Value>)> {
        let mut st = src
            .prepare(&format!("SELECT {filter}, * FROM {table}"))
            .unwrap();
        let n = st.column_count();
        st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                (1..n)
                    .map(|i| r.get::<_, Value>(i))
                    .collect::<Result<_, _>>()?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    };
    let insert_sql = |table: &str, n: usize| {
        let marks: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
        format!("INSERT INTO {table} VALUES ({})", marks.join(", "))
    };
    // Untimed: what the pushes depend on, and the audit entries before them.
    {
        let tx = dst.transaction().unwrap();
        for table in SETUP {
            for (_, row) in read(table, "0") {
                tx.execute(
                    &insert_sql(table, row.len()),
                    rusqlite::params_from_iter(row),
                )
                .unwrap();
            }
        }
        for (seq, row) in read("audit_log", "change_seq") {
            if seq <= after_seq {
                tx.execute(
                    &insert_sql("audit_log", row.len()),
                    rusqlite::params_from_iter(row),
                )
                .unwrap();
            }
        }
        tx.execute(
            "UPDATE server_state SET change_seq = ?1 WHERE id = 1",
            [after_seq],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let mut by_seq: BTreeMap<i64, Vec<(usize, Vec<Value>)>> = BTreeMap::new();
    for (k, (table, col)) in TIMED.iter().enumerate() {
        for (seq, row) in read(table, col) {
            if seq > after_seq {
                by_seq.entry(seq).or_default().push((k, row));
            }
        }
    }
    let (pushes, rows, items) = counts(&by_seq);
    let seqs: Vec<_> = by_seq.into_values().collect();
    let start = Instant::now();
    for batch in seqs.chunks(BATCH) {
        let tx = dst
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        for push in batch {
            tx.execute(
                "UPDATE server_state SET change_seq = change_seq + 1 WHERE id = 1",
                [],
            )
            .unwrap();
            for (k, row) in push {
                let mut st = tx
                    .prepare_cached(&insert_sql(TIMED[*k].0, row.len()))
                    .unwrap();
                st.execute(rusqlite::params_from_iter(row.iter())).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    LoopFigures {
        pushes,
        items,
        rows,
        secs: start.elapsed().as_secs_f64(),
    }
}

fn counts<R>(by_seq: &BTreeMap<i64, Vec<(usize, R)>>) -> (usize, usize, usize) {
    let rows = by_seq.values().map(Vec::len).sum();
    let items = by_seq
        .values()
        .flatten()
        .filter(|(k, _)| TIMED[*k].0 == "sync_results")
        .count();
    (by_seq.len(), rows, items)
}

/// PostgreSQL: copies from the database `source` into a fresh scratch database on
/// the server `admin` points at, each row as JSON (`row_to_json` /
/// `json_populate_record`), one statement a row, as a plain loop would.
pub async fn postgres(source: &str, admin: &str, after_seq: i64) -> LoopFigures {
    use tokio_postgres::NoTls;
    let target = jiandu_server::store::postgres::PgStore::scratch_database(admin)
        .await
        .unwrap();
    drop(jiandu_server::store::open(&target).await.unwrap());
    let (src, c1) = tokio_postgres::connect(source, NoTls).await.unwrap();
    tokio::spawn(c1);
    let (mut dst, c2) = tokio_postgres::connect(&target, NoTls).await.unwrap();
    tokio::spawn(c2);
    let read = async |table: &str, filter: &str| -> Vec<(i64, String)> {
        src.query(
            &format!("SELECT ({filter})::BIGINT, row_to_json(t)::TEXT FROM {table} t"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    };
    let insert_sql = |table: &str| {
        format!(
            "INSERT INTO {table} SELECT * FROM json_populate_record(NULL::{table}, $1::TEXT::JSON)"
        )
    };
    {
        let tx = dst.transaction().await.unwrap();
        for table in SETUP {
            for (_, row) in read(table, "0").await {
                tx.execute(&insert_sql(table), &[&row]).await.unwrap();
            }
        }
        for (seq, row) in read("audit_log", "change_seq").await {
            if seq <= after_seq {
                tx.execute(&insert_sql("audit_log"), &[&row]).await.unwrap();
            }
        }
        tx.execute(
            "UPDATE server_state SET change_seq = $1 WHERE id = 1",
            &[&after_seq],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let mut by_seq: BTreeMap<i64, Vec<(usize, String)>> = BTreeMap::new();
    for (k, (table, col)) in TIMED.iter().enumerate() {
        for (seq, row) in read(table, col).await {
            if seq > after_seq {
                by_seq.entry(seq).or_default().push((k, row));
            }
        }
    }
    let (pushes, rows, items) = counts(&by_seq);
    let seqs: Vec<_> = by_seq.into_values().collect();
    let mut statements = Vec::new();
    for (table, _) in TIMED {
        statements.push(dst.prepare(&insert_sql(table)).await.unwrap());
    }
    let bump = dst
        .prepare("UPDATE server_state SET change_seq = change_seq + 1 WHERE id = 1")
        .await
        .unwrap();
    let start = Instant::now();
    for batch in seqs.chunks(BATCH) {
        let tx = dst.transaction().await.unwrap();
        for push in batch {
            tx.execute(&bump, &[]).await.unwrap();
            for (k, row) in push {
                tx.execute(&statements[*k], &[row]).await.unwrap();
            }
        }
        tx.commit().await.unwrap();
    }
    LoopFigures {
        pushes,
        items,
        rows,
        secs: start.elapsed().as_secs_f64(),
    }
}
